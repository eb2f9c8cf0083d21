using System.Buffers;
using System.Runtime.InteropServices;
using Proxima.Arrays.Codecs;
using Proxima.Arrays.Grid;
using Proxima.Arrays.Hdf5;
using Proxima.Arrays.Storage;

namespace Proxima.Arrays.NetCdf;

/// <summary>
/// Reads one chunk of a NetCDF variable from its <see cref="NcChunkIndex"/>: positional reads through
/// <see cref="IStorage"/> (pread locally, ranged GETs on S3) and decoding (zlib, shuffle, Fletcher-32,
/// byte order) on the caller's thread. No libnetcdf or HDF5 call, no lock.
/// </summary>
internal sealed class NcDirectReader
{
    private static readonly DeflateFamilyCodec Zlib = new(gzip: false);
    private readonly IStorage _storage;
    private readonly string _key;
    private readonly string _location;
    private readonly NcChunkIndex _index;
    private readonly long[] _shape;
    private readonly int[] _chunkShape;
    private readonly ShuffleCodec _shuffle;
    private readonly int _storedChunkBytes;
    private readonly bool _aligned;

    public NcDirectReader(IStorage storage, string key, string location, NcChunkIndex index, long[] shape, int[] chunkShape)
    {
        _storage = storage;
        _key = key;
        _location = location;
        _index = index;
        _shape = shape;
        _chunkShape = chunkShape;
        _shuffle = new ShuffleCodec(index.ElementSize);
        Validate();
        if (index.StoredChunk is long[] stored)
        {
            long bytes = index.ElementSize;
            bool aligned = true;
            for (int d = 0; d < stored.Length; d++)
            {
                bytes *= stored[d];
                aligned &= stored[d] == chunkShape[d];
            }

            _storedChunkBytes = (int)bytes;
            _aligned = aligned;
        }
    }

    /// <summary>An index from a cache file is checked against the variable before it is trusted.</summary>
    private void Validate()
    {
        NcChunkIndex x = _index;
        bool ok = x.ElementSize is 1 or 2 or 4 or 8 && x.FileSize >= 0 && (x.Fill is null || x.Fill.Length == x.ElementSize);
        if (x.StoredChunk is long[] stored)
        {
            long count = 1, bytes = x.ElementSize;
            ok &= stored.Length == _shape.Length && x.Filters is not null && x.Offsets is not null && x.Sizes is not null;
            for (int d = 0; ok && d < stored.Length; d++)
            {
                ok &= stored[d] > 0;
                if (ok)
                {
                    count *= (_shape[d] + stored[d] - 1) / stored[d];
                    bytes *= stored[d];
                    ok &= count <= Hdf5ChunkIndexer.MaxChunks && bytes <= int.MaxValue;
                }
            }

            ok &= ok && x.Offsets!.Length == count && x.Sizes!.Length == count && (x.Masks is null || x.Masks.Length == count);
        }

        if (!ok)
        {
            throw new ArrayFormatException(_location, "NetCDF chunk index does not fit the variable's shape");
        }
    }

    public async ValueTask ReadChunkAsync(long[] chunkIndex, Memory<byte> destination, CancellationToken cancellationToken)
    {
        int rank = _shape.Length;
        int size = _index.ElementSize;
        var start = new long[rank];
        var count = new long[rank];
        bool full = true;
        long n = 1;
        for (int d = 0; d < rank; d++)
        {
            start[d] = chunkIndex[d] * _chunkShape[d];
            count[d] = Math.Min(_chunkShape[d], _shape[d] - start[d]);
            full &= count[d] == _chunkShape[d];
            n *= count[d];
        }

        if (_index.IsChunked)
        {
            await ReadChunkedAsync(start, count, destination, cancellationToken).ConfigureAwait(false);
            return;
        }

        int bytes = (int)(n * size);
        if (full)
        {
            await ReadContiguousAsync(start, count, destination[..bytes], cancellationToken).ConfigureAwait(false);
            return;
        }

        byte[] temp = ArrayPool<byte>.Shared.Rent(Math.Max(1, bytes));
        try
        {
            await ReadContiguousAsync(start, count, temp.AsMemory(0, bytes), cancellationToken).ConfigureAwait(false);
            long[] zero = new long[rank];
            CopyBox(size, temp.AsSpan(0, bytes), count, zero, destination.Span, Widen(_chunkShape), zero, count);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(temp);
        }
    }

    /// <summary>The box as a C-order block: runs of consecutive bytes in the file, adjacent runs read as one range.</summary>
    private async ValueTask ReadContiguousAsync(long[] start, long[] count, Memory<byte> target, CancellationToken cancellationToken)
    {
        int rank = _shape.Length;
        int size = _index.ElementSize;
        if (_index.Begin < 0)
        {
            FillWith(target.Span);
            return;
        }

        if (target.Length == 0)
        {
            return;
        }

        long stride = _index.RecordStride;
        int low = stride > 0 ? 1 : 0;
        int k = rank - 1;
        while (k > low && count[k] == _shape[k])
        {
            k--;
        }

        // Dims after k are whole; dims before `outer` are iterated run by run.
        int outer = k >= low ? k : k + 1;
        long inner = 1;
        for (int d = k + 1; d < rank; d++)
        {
            inner *= _shape[d];
        }

        long runBytes = (k >= low ? count[k] * inner : inner) * size;
        var idx = new long[rank];
        Array.Copy(start, idx, rank);
        long pendingOffset = -1, pendingLength = 0;
        int written = 0;
        while (written + pendingLength < target.Length)
        {
            long offset = ElementOffset(idx);
            if (pendingOffset >= 0 && pendingOffset + pendingLength == offset)
            {
                pendingLength += runBytes;
            }
            else
            {
                if (pendingOffset >= 0)
                {
                    await ReadRangeAsync(pendingOffset, target.Slice(written, (int)pendingLength), cancellationToken).ConfigureAwait(false);
                    written += (int)pendingLength;
                }

                pendingOffset = offset;
                pendingLength = runBytes;
            }

            for (int d = outer - 1; d >= 0; d--)
            {
                if (++idx[d] < start[d] + count[d])
                {
                    break;
                }

                idx[d] = start[d];
            }
        }

        await ReadRangeAsync(pendingOffset, target.Slice(written, (int)pendingLength), cancellationToken).ConfigureAwait(false);
        SwapToNative(target.Span);
    }

    private long ElementOffset(long[] idx)
    {
        int rank = idx.Length;
        long stride = _index.RecordStride;
        int low = stride > 0 ? 1 : 0;
        long linear = 0;
        for (int d = low; d < rank; d++)
        {
            linear = (linear * _shape[d]) + idx[d];
        }

        return _index.Begin + (low == 1 ? idx[0] * stride : 0) + (linear * _index.ElementSize);
    }

    private async ValueTask ReadRangeAsync(long offset, Memory<byte> target, CancellationToken cancellationToken)
    {
        using IMemoryOwner<byte> owner = await ReadExactAsync(offset, target.Length, cancellationToken).ConfigureAwait(false);
        owner.Memory.Span[..target.Length].CopyTo(target.Span);
    }

    private async ValueTask<IMemoryOwner<byte>> ReadExactAsync(long offset, long length, CancellationToken cancellationToken)
    {
        IMemoryOwner<byte>? owner = await _storage.ReadAsync(_key, offset, length, length, cancellationToken).ConfigureAwait(false)
            ?? throw new ArrayFormatException(_location, "file no longer exists");
        if (owner.Memory.Length != length)
        {
            int got = owner.Memory.Length;
            owner.Dispose();
            throw new ChunkDecodeException(_location, ChunkErrorKind.Truncated, $"bytes {offset}..{offset + length} lie past the end of the file (read {got} of {length} bytes); the file is truncated or changed since its chunk index was built");
        }

        return owner;
    }

    private async ValueTask ReadChunkedAsync(long[] start, long[] count, Memory<byte> destination, CancellationToken cancellationToken)
    {
        long[] stored = _index.StoredChunk!;
        int rank = stored.Length;
        if (_aligned)
        {
            // The common case: our chunk is the file's chunk, decoded straight into the destination.
            await DecodeStoredAsync(GridIndex(start), destination[.._storedChunkBytes], cancellationToken).ConfigureAwait(false);
            return;
        }

        var first = new long[rank];
        var last = new long[rank];
        for (int d = 0; d < rank; d++)
        {
            first[d] = start[d] / stored[d];
            last[d] = (start[d] + count[d] - 1) / stored[d];
        }

        byte[] temp = ArrayPool<byte>.Shared.Rent(Math.Max(1, _storedChunkBytes));
        try
        {
            long[] dstShape = Widen(_chunkShape);
            var g = (long[])first.Clone();
            var chunkStart = new long[rank];
            var srcStart = new long[rank];
            var dstStart = new long[rank];
            var overlap = new long[rank];
            while (true)
            {
                for (int d = 0; d < rank; d++)
                {
                    chunkStart[d] = g[d] * stored[d];
                    long lo = Math.Max(start[d], chunkStart[d]);
                    long hi = Math.Min(start[d] + count[d], chunkStart[d] + stored[d]);
                    srcStart[d] = lo - chunkStart[d];
                    dstStart[d] = lo - start[d];
                    overlap[d] = hi - lo;
                }

                await DecodeStoredAsync(GridIndex(chunkStart), temp.AsMemory(0, _storedChunkBytes), cancellationToken).ConfigureAwait(false);
                CopyBox(_index.ElementSize, temp.AsSpan(0, _storedChunkBytes), stored, srcStart, destination.Span, dstShape, dstStart, overlap);
                int dim = rank - 1;
                while (dim >= 0 && ++g[dim] > last[dim])
                {
                    g[dim] = first[dim];
                    dim--;
                }

                if (dim < 0)
                {
                    break;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(temp);
        }
    }

    /// <summary>C-order position in the chunk grid of the stored chunk starting at <paramref name="chunkStart"/>.</summary>
    private long GridIndex(long[] chunkStart)
    {
        long[] stored = _index.StoredChunk!;
        long linear = 0;
        for (int d = 0; d < stored.Length; d++)
        {
            long grid = (_shape[d] + stored[d] - 1) / stored[d];
            linear = (linear * grid) + (chunkStart[d] / stored[d]);
        }

        return linear;
    }

    /// <summary>One stored chunk, all filters undone in reverse pipeline order, into <paramref name="output"/> (its full size).</summary>
    private async ValueTask DecodeStoredAsync(long chunk, Memory<byte> output, CancellationToken cancellationToken)
    {
        long offset = _index.Offsets![chunk];
        if (offset < 0)
        {
            FillWith(output.Span);
            return;
        }

        long length = _index.Sizes![chunk];
        if (offset > _index.FileSize || length <= 0 || length > _index.FileSize - offset || length > (2L * output.Length) + 65536 + 64)
        {
            throw new ChunkDecodeException(_location, ChunkErrorKind.Corrupt, $"chunk {chunk} at byte {offset} ({length} bytes) lies outside the {_index.FileSize}-byte file or exceeds its {output.Length}-byte chunk");
        }

        using IMemoryOwner<byte> raw = await ReadExactAsync(offset, length, cancellationToken).ConfigureAwait(false);
        try
        {
            Decode(raw.Memory.Span[..(int)length], _index.Masks?[chunk] ?? 0, output.Span);
        }
        catch (CodecException e)
        {
            throw new ChunkDecodeException(_location, e.Kind, $"chunk {chunk} at byte {offset}: {e.Message}", e);
        }

        SwapToNative(output.Span);
    }

    private void Decode(ReadOnlySpan<byte> encoded, int mask, Span<byte> output)
    {
        int[] filters = _index.Filters!;
        int lastStep = -1;
        for (int i = 0; i < filters.Length; i++)
        {
            if ((mask & (1 << i)) == 0)
            {
                lastStep = i;
                break;
            }
        }

        if (lastStep < 0)
        {
            CodecPipeline.Decode([], encoded, output);
            return;
        }

        byte[]? a = null, b = null;
        try
        {
            ReadOnlySpan<byte> current = encoded;
            for (int i = filters.Length - 1; i >= 0; i--)
            {
                if ((mask & (1 << i)) != 0)
                {
                    continue;
                }

                int outLength = output.Length + (4 * FletchersBefore(filters, mask, i));
                Span<byte> target;
                if (i == lastStep)
                {
                    target = output;
                }
                else
                {
                    byte[] buffer = current.Overlaps(a) ? (b ??= ArrayPool<byte>.Shared.Rent(output.Length + 64)) : (a ??= ArrayPool<byte>.Shared.Rent(output.Length + 64));
                    target = buffer.AsSpan(0, outLength);
                }

                switch (filters[i])
                {
                    case Hdf5Native.FilterDeflate:
                        if (Zlib.Decode(current, target) != target.Length)
                        {
                            throw new CodecException(ChunkErrorKind.Truncated, $"zlib: stream ends before the chunk's {target.Length} bytes");
                        }

                        break;
                    case Hdf5Native.FilterShuffle:
                        _shuffle.Decode(current, target);
                        break;
                    default:
                        if (current.Length < 4 || current.Length - 4 != target.Length)
                        {
                            throw new CodecException(ChunkErrorKind.SizeMismatch, $"fletcher32: {current.Length} bytes, expected {target.Length} + 4");
                        }

                        if (!Hdf5ChunkIndexer.Fletcher32Matches(current[..^4], current[^4..]))
                        {
                            throw new CodecException(ChunkErrorKind.ChecksumMismatch, "fletcher32 checksum does not match the chunk's data");
                        }

                        current[..^4].CopyTo(target);
                        break;
                }

                current = target;
            }
        }
        finally
        {
            if (a is not null)
            {
                ArrayPool<byte>.Shared.Return(a);
            }

            if (b is not null)
            {
                ArrayPool<byte>.Shared.Return(b);
            }
        }
    }

    /// <summary>Active Fletcher-32 filters applied before filter <paramref name="i"/> when encoding (each added 4 bytes).</summary>
    private static int FletchersBefore(int[] filters, int mask, int i)
    {
        int n = 0;
        for (int j = 0; j < i; j++)
        {
            if (filters[j] == Hdf5Native.FilterFletcher32 && (mask & (1 << j)) == 0)
            {
                n++;
            }
        }

        return n;
    }

    private void FillWith(Span<byte> target)
    {
        byte[]? fill = _index.Fill;
        if (fill is null || !fill.AsSpan().ContainsAnyExcept((byte)0))
        {
            target.Clear();
            return;
        }

        for (int i = 0; i + fill.Length <= target.Length; i += fill.Length)
        {
            fill.CopyTo(target[i..]);
        }
    }

    private void SwapToNative(Span<byte> data)
    {
        if (_index.BigEndian && _index.ElementSize > 1)
        {
            Zarr.ZarrV2Array.SwapInPlace(data, _index.ElementSize);
        }
    }

    private static long[] Widen(int[] shape)
    {
        var wide = new long[shape.Length];
        for (int d = 0; d < shape.Length; d++)
        {
            wide[d] = shape[d];
        }

        return wide;
    }

    /// <summary><see cref="NdIndex.CopyBox"/> on elements of <paramref name="itemSize"/> bytes.</summary>
    public static void CopyBox(int itemSize, ReadOnlySpan<byte> src, ReadOnlySpan<long> srcShape, ReadOnlySpan<long> srcStart, Span<byte> dst, ReadOnlySpan<long> dstShape, ReadOnlySpan<long> dstStart, ReadOnlySpan<long> count)
    {
        switch (itemSize)
        {
            case 1:
                NdIndex.CopyBox(src, srcShape, srcStart, dst, dstShape, dstStart, count);
                break;
            case 2:
                NdIndex.CopyBox(MemoryMarshal.Cast<byte, ushort>(src), srcShape, srcStart, MemoryMarshal.Cast<byte, ushort>(dst), dstShape, dstStart, count);
                break;
            case 4:
                NdIndex.CopyBox(MemoryMarshal.Cast<byte, uint>(src), srcShape, srcStart, MemoryMarshal.Cast<byte, uint>(dst), dstShape, dstStart, count);
                break;
            default:
                NdIndex.CopyBox(MemoryMarshal.Cast<byte, ulong>(src), srcShape, srcStart, MemoryMarshal.Cast<byte, ulong>(dst), dstShape, dstStart, count);
                break;
        }
    }
}
