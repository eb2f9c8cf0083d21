using System.Buffers;
using System.Runtime.InteropServices;
using Proxima.Arrays.Grid;

namespace Proxima.Arrays.NetCdf;

/// <summary>
/// One NetCDF variable as chunks (the file's own chunking when it has one). With a chunk index a chunk is
/// read by <see cref="NcDirectReader"/> without libnetcdf; otherwise it is one nc_get_vara box.
/// </summary>
internal sealed class NetCdfArray : ChunkSource
{
    private const long TargetChunkBytes = 8L * 1024 * 1024;
    private readonly NetCdfFileSlot _file;
    private readonly NcVariableInfo _info;
    private readonly NcDirectReader? _direct;

    public NetCdfArray(NetCdfFileSlot file, NcVariableInfo info, int[] chunks, GridDatasetOptions options)
        : base(info.Shape, chunks, info.Type, file.Location + ":" + info.Name)
    {
        _file = file;
        _info = info;
        if (options.NetCdfDirectReads && info.Index is NcChunkIndex index)
        {
            _direct = new NcDirectReader(file.Storage, file.Key, Location, index, info.Shape, chunks);
        }
    }

    /// <summary>True when chunks are read through the chunk index, never through libnetcdf.</summary>
    public bool ReadsDirect => _direct is not null;

    /// <summary>True when every chunk of <paramref name="source"/> (a file's variable or a collection's) is read through a chunk index.</summary>
    public static bool IsDirect(ChunkSource source) => source switch
    {
        NetCdfArray a => a.ReadsDirect,
        ConcatArray c => c.AllParts(IsDirect),
        _ => false,
    };

    /// <summary>The file's chunk shape, or for contiguous variables one that keeps trailing dims whole within ~8 MiB.</summary>
    public static int[] DefaultChunks(NcVariableInfo info)
    {
        int rank = info.Shape.Length;
        var chunks = new int[rank];
        if (info.Chunks is not null)
        {
            for (int d = 0; d < rank; d++)
            {
                chunks[d] = (int)Math.Max(1, Math.Min(info.Chunks[d], Math.Max(1, info.Shape[d])));
            }

            return chunks;
        }

        long bytes = Math.Max(1, info.Type.Size());
        for (int d = rank - 1; d >= 0; d--)
        {
            long len = Math.Max(1, info.Shape[d]);
            long fit = Math.Max(1, TargetChunkBytes / bytes);
            chunks[d] = (int)Math.Min(Math.Min(len, fit), int.MaxValue);
            bytes *= chunks[d];
        }

        return chunks;
    }

    public override ValueTask<bool> ReadChunkAsync(long[] chunkIndex, Memory<byte> destination, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_direct is not null)
        {
            return ReadDirectAsync(chunkIndex, destination, cancellationToken);
        }

        if (_file.TryGet(out NetCdfFile? file))
        {
            ReadChunk(file, chunkIndex, destination.Span);
            return ValueTask.FromResult(true);
        }

        return ReadAfterOpenAsync(chunkIndex, destination, cancellationToken);
    }

    private async ValueTask<bool> ReadDirectAsync(long[] chunkIndex, Memory<byte> destination, CancellationToken cancellationToken)
    {
        await _file.CheckUnchangedAsync(cancellationToken).ConfigureAwait(false);
        await _direct!.ReadChunkAsync(chunkIndex, destination, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>First read of a file opened lazily (a collection opened from its metadata cache).</summary>
    private async ValueTask<bool> ReadAfterOpenAsync(long[] chunkIndex, Memory<byte> destination, CancellationToken cancellationToken)
    {
        NetCdfFile file = await _file.GetAsync(cancellationToken).ConfigureAwait(false);
        ReadChunk(file, chunkIndex, destination.Span);
        return true;
    }

    private void ReadChunk(NetCdfFile file, long[] chunkIndex, Span<byte> dst)
    {
        int rank = Shape.Length;
        int itemSize = StoredType.Size();
        Span<long> start = stackalloc long[rank];
        Span<long> count = stackalloc long[rank];
        bool full = true;
        long n = 1;
        for (int d = 0; d < rank; d++)
        {
            start[d] = chunkIndex[d] * ChunkShape[d];
            count[d] = Math.Min(ChunkShape[d], Shape[d] - start[d]);
            full &= count[d] == ChunkShape[d];
            n *= count[d];
        }

        if (full)
        {
            file.ReadRaw(_info.GroupPath, _info.VarId, start, count, dst[..(int)(n * itemSize)]);
            return;
        }

        byte[] temp = ArrayPool<byte>.Shared.Rent((int)Math.Max(1, n * itemSize));
        try
        {
            file.ReadRaw(_info.GroupPath, _info.VarId, start, count, temp.AsSpan(0, (int)(n * itemSize)));
            Span<long> zero = stackalloc long[rank];
            zero.Clear();
            Span<long> chunkShape = stackalloc long[rank];
            for (int d = 0; d < rank; d++)
            {
                chunkShape[d] = ChunkShape[d];
            }

            NcDirectReader.CopyBox(itemSize, temp.AsSpan(0, (int)(n * itemSize)), count, zero, dst, chunkShape, zero, count);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(temp);
        }
    }
}

/// <summary>An in-memory float64 array (aggregated, re-based time coordinates of a collection).</summary>
internal sealed class MemoryArray : ChunkSource
{
    private readonly double[] _values;

    public MemoryArray(double[] values, string location)
        : base([values.Length], [Math.Max(1, values.Length)], DataType.Float64, location)
    {
        _values = values;
    }

    public override ValueTask<bool> ReadChunkAsync(long[] chunkIndex, Memory<byte> destination, CancellationToken cancellationToken)
    {
        MemoryMarshal.AsBytes(_values.AsSpan()).CopyTo(destination.Span);
        return ValueTask.FromResult(true);
    }
}

/// <summary>Per-file arrays concatenated along one axis; every chunk lies inside one file.</summary>
internal sealed class ConcatArray : ChunkSource
{
    private readonly ChunkSource[] _parts;
    private readonly long[] _offsets;
    private readonly int _axis;

    public ConcatArray(ChunkSource[] parts, long[] offsets, int axis, long[] shape, int[] chunks, DataType type, string location)
        : base(shape, chunks, type, location)
    {
        _parts = parts;
        _offsets = offsets;
        _axis = axis;
    }

    public bool AllParts(Func<ChunkSource, bool> predicate) => Array.TrueForAll(_parts, p => predicate(p));

    public override ValueTask<bool> ReadChunkAsync(long[] chunkIndex, Memory<byte> destination, CancellationToken cancellationToken)
    {
        long start = chunkIndex[_axis] * ChunkShape[_axis];
        int file = Array.BinarySearch(_offsets, start);
        if (file < 0)
        {
            file = ~file - 1;
        }

        long[] local = (long[])chunkIndex.Clone();
        local[_axis] = (start - _offsets[file]) / ChunkShape[_axis];
        return _parts[file].ReadChunkAsync(local, destination, cancellationToken);
    }
}
