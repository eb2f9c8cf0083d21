using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Proxima.Arrays.Codecs;
using Proxima.Arrays.Grid;
using Proxima.Arrays.Storage;

namespace Proxima.Arrays.Zarr;

/// <summary>A Zarr v2 array (.zarray): chunk keys, codec pipeline, byte order and memory order.</summary>
internal sealed class ZarrV2Array : ChunkSource
{
    private readonly IStorage _storage;
    private readonly string _path;
    private readonly char _separator;
    private readonly bool _bigEndian;
    private readonly bool _fortranOrder;
    private readonly IReadOnlyList<IBytesCodec> _codecs;
    private readonly int _chunkBytes;

    private ZarrV2Array(IStorage storage, string path, long[] shape, int[] chunks, DataType type, bool bigEndian, bool fortran, char separator, IReadOnlyList<IBytesCodec> codecs, string location)
        : base(shape, chunks, type, location)
    {
        _storage = storage;
        _path = path;
        _separator = separator;
        _bigEndian = bigEndian;
        _fortranOrder = fortran;
        _codecs = codecs;
        _chunkBytes = (int)Math.Min(int.MaxValue, NdIndex.Product(chunks) * Math.Max(1, type.Size()));
    }

    /// <summary>The dtype string as stored ("&lt;f4").</summary>
    public string Dtype { get; private init; } = "";

    /// <summary>Parses .zarray JSON. <paramref name="path"/> is the array's key prefix in <paramref name="storage"/>.</summary>
    public static ZarrV2Array Parse(IStorage storage, string path, JsonElement meta, GridDatasetOptions options)
    {
        string key = StorageExtensions.Join(path, ".zarray");
        string location = storage.Describe(key);
        ZarrJson.RequireObject(meta, location, ".zarray");
        if (!meta.TryGetProperty("zarr_format", out JsonElement fmt) || fmt.ValueKind != JsonValueKind.Number || fmt.GetInt32() != 2)
        {
            throw new ArrayFormatException(location, "zarr_format must be 2");
        }

        long[] shape = ZarrJson.LongArray(meta, "shape", location);
        int[] chunks = ZarrJson.ChunkArray(meta, "chunks", location, shape.Length);
        long elements = 1;
        foreach (long s in shape)
        {
            elements = s == 0 ? 0 : elements > options.MaxElements / s ? long.MaxValue : elements * s;
        }

        if (elements > options.MaxElements)
        {
            throw new ArrayFormatException(location, $"shape [{string.Join(", ", shape)}] exceeds the limit of {options.MaxElements} elements");
        }

        if (!meta.TryGetProperty("dtype", out JsonElement dtypeEl))
        {
            throw new ArrayFormatException(location, "missing 'dtype'");
        }

        string dtype = dtypeEl.ValueKind == JsonValueKind.String ? dtypeEl.GetString()! : dtypeEl.GetRawText();
        DataTypes.TryParseTypestr(dtype, out DataType type, out bool bigEndian);

        string order = meta.TryGetProperty("order", out JsonElement o) && o.ValueKind == JsonValueKind.String ? o.GetString()! : "C";
        if (order is not ("C" or "F"))
        {
            throw new ArrayFormatException(location, $"order must be \"C\" or \"F\", got \"{order}\"");
        }

        char separator = '.';
        if (meta.TryGetProperty("dimension_separator", out JsonElement sep) && sep.ValueKind == JsonValueKind.String)
        {
            string s = sep.GetString()!;
            if (s is not ("." or "/"))
            {
                throw new ArrayFormatException(location, $"dimension_separator must be \".\" or \"/\", got \"{s}\"");
            }

            separator = s[0];
        }

        int itemSize = Math.Max(1, type.Size());
        var codecs = new List<IBytesCodec>();
        if (meta.TryGetProperty("filters", out JsonElement filters) && filters.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement f in filters.EnumerateArray())
            {
                codecs.Add(NumcodecsFactory.Create(f, itemSize, location));
            }
        }

        if (meta.TryGetProperty("compressor", out JsonElement comp) && comp.ValueKind != JsonValueKind.Null)
        {
            codecs.Add(NumcodecsFactory.Create(comp, itemSize, location));
        }

        double? fill = meta.TryGetProperty("fill_value", out JsonElement fv) ? ZarrJson.FillValue(fv, type, bigEndian, location) : null;
        return new ZarrV2Array(storage, path, shape, chunks, type, bigEndian, order == "F", separator, codecs, storage.Describe(path))
        {
            FillValue = fill,
            Dtype = dtype,
        };
    }

    public string ChunkKey(ReadOnlySpan<long> chunkIndex)
    {
        if (chunkIndex.Length == 0)
        {
            return StorageExtensions.Join(_path, "0");
        }

        var sb = new StringBuilder(_path.Length + (chunkIndex.Length * 4));
        if (_path.Length > 0)
        {
            sb.Append(_path).Append('/');
        }

        for (int d = 0; d < chunkIndex.Length; d++)
        {
            if (d > 0)
            {
                sb.Append(_separator);
            }

            sb.Append(chunkIndex[d]);
        }

        return sb.ToString();
    }

    public override async ValueTask<bool> ReadChunkAsync(long[] chunkIndex, Memory<byte> destination, CancellationToken cancellationToken)
    {
        string key = ChunkKey(chunkIndex);

        // An encoded chunk larger than twice its decoded size (plus codec headers) is not something any codec produces.
        long maxEncoded = ((long)_chunkBytes * 2) + 65536;
        using IMemoryOwner<byte>? encoded = await _storage.ReadAsync(key, 0, null, maxEncoded, cancellationToken).ConfigureAwait(false);
        if (encoded is null)
        {
            return false;
        }

        try
        {
            DecodeChunk(encoded.Memory.Span, destination.Span[.._chunkBytes]);
        }
        catch (CodecException e)
        {
            throw new ChunkDecodeException(_storage.Describe(key), e.Kind, e.Message, e);
        }

        return true;
    }

    /// <summary>
    /// Uncompressed chunks: only the byte ranges of the elements (runs less than 4 KiB apart read as one range).
    /// Blosc chunks: the whole encoded chunk, then only the blosc blocks holding the elements. Otherwise the chunk.
    /// </summary>
    public override async ValueTask<long> ReadChunkElementsAsync(long[] chunkIndex, ReadOnlyMemory<int> elements, Memory<byte> destination, CancellationToken cancellationToken)
    {
        int itemSize = StoredType.Size();
        if (_fortranOrder || elements.IsEmpty || itemSize < 1)
        {
            return await base.ReadChunkElementsAsync(chunkIndex, elements, destination, cancellationToken).ConfigureAwait(false);
        }

        string key = ChunkKey(chunkIndex);
        if (_codecs.Count == 0)
        {
            long read = 0;
            foreach ((int start, int end) in ByteRanges(elements.Span, itemSize, 4096))
            {
                using IMemoryOwner<byte>? part = await _storage.ReadAsync(key, start, end - start, end - start, cancellationToken).ConfigureAwait(false);
                if (part is null)
                {
                    return -1;
                }

                if (part.Memory.Length < end - start)
                {
                    throw new ChunkDecodeException(_storage.Describe(key), ChunkErrorKind.Truncated, $"uncompressed chunk is shorter than its {_chunkBytes} bytes (bytes {start}..{end} asked)");
                }

                Span<byte> dst = destination.Span[start..end];
                part.Memory.Span[..(end - start)].CopyTo(dst);
                if (_bigEndian)
                {
                    SwapInPlace(dst, itemSize);
                }

                read += end - start;
            }

            return read;
        }

        if (_codecs.Count != 1 || _codecs[0] is not BloscCodec blosc)
        {
            return await base.ReadChunkElementsAsync(chunkIndex, elements, destination, cancellationToken).ConfigureAwait(false);
        }

        long maxEncoded = ((long)_chunkBytes * 2) + 65536;
        using IMemoryOwner<byte>? encoded = await _storage.ReadAsync(key, 0, null, maxEncoded, cancellationToken).ConfigureAwait(false);
        if (encoded is null)
        {
            return -1;
        }

        try
        {
            Span<byte> dst = destination.Span[.._chunkBytes];
            blosc.DecodeElements(encoded.Memory.Span, elements.Span, itemSize, dst);
            if (_bigEndian)
            {
                SwapInPlace(dst, itemSize);
            }
        }
        catch (CodecException e)
        {
            throw new ChunkDecodeException(_storage.Describe(key), e.Kind, e.Message, e);
        }

        return encoded.Memory.Length;
    }

    /// <summary>
    /// Blosc-lz4 chunks in C order: the encoded chunk, then only the listed elements put together from the byte planes
    /// of the blocks holding them, packed (<see cref="BloscCodec.TryDecodeElementsPacked"/>), no chunk-sized buffer.
    /// Other chunks go through <see cref="ReadChunkElementsAsync"/> and a pooled chunk.
    /// </summary>
    public override async ValueTask<long> ReadChunkElementsPackedAsync(long[] chunkIndex, ReadOnlyMemory<int> elements, Memory<byte> destination, CancellationToken cancellationToken)
    {
        int itemSize = StoredType.Size();
        if (_fortranOrder || elements.IsEmpty || itemSize < 1 || _codecs.Count != 1 || _codecs[0] is not BloscCodec)
        {
            return await base.ReadChunkElementsPackedAsync(chunkIndex, elements, destination, cancellationToken).ConfigureAwait(false);
        }

        string key = ChunkKey(chunkIndex);
        long maxEncoded = ((long)_chunkBytes * 2) + 65536;
        using IMemoryOwner<byte>? encoded = await _storage.ReadAsync(key, 0, null, maxEncoded, cancellationToken).ConfigureAwait(false);
        if (encoded is null)
        {
            return -1;
        }

        Span<byte> dst = destination.Span[..(elements.Length * itemSize)];
        bool decoded;
        try
        {
            decoded = BloscCodec.TryDecodeElementsPacked(encoded.Memory.Span, elements.Span, itemSize, _chunkBytes, dst);
        }
        catch (CodecException e)
        {
            throw new ChunkDecodeException(_storage.Describe(key), e.Kind, e.Message, e);
        }

        if (!decoded)
        {
            // Not a buffer decoded block by block here: the whole chunk, from the bytes already read.
            byte[] chunk = ArrayPool<byte>.Shared.Rent(_chunkBytes);
            try
            {
                try
                {
                    DecodeChunk(encoded.Memory.Span, chunk.AsSpan(0, _chunkBytes));
                }
                catch (CodecException e)
                {
                    throw new ChunkDecodeException(_storage.Describe(key), e.Kind, e.Message, e);
                }

                CopyElements(chunk.AsSpan(0, _chunkBytes), elements.Span, itemSize, dst);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }

            return encoded.Memory.Length;
        }

        if (_bigEndian)
        {
            SwapInPlace(dst, itemSize);
        }

        return encoded.Memory.Length;
    }

    /// <summary>
    /// Blosc chunks in C order and native byte order: LZ4 buffers are decoded block by block straight into the runs'
    /// places (<see cref="BloscCodec.DecodeRuns"/>); any other blosc buffer is decoded whole into a pooled chunk and
    /// copied. Other codec pipelines decline.
    /// </summary>
    public override async ValueTask<int> ReadChunkRunsAsync(long[] chunkIndex, ChunkRun[] runs, Memory<byte> destination, RunFinisher? finish, CancellationToken cancellationToken)
    {
        int itemSize = StoredType.Size();
        if (_fortranOrder || _bigEndian || itemSize < 1 || _codecs.Count != 1 || _codecs[0] is not BloscCodec blosc)
        {
            return -1;
        }

        string key = ChunkKey(chunkIndex);
        long maxEncoded = ((long)_chunkBytes * 2) + 65536;
        using IMemoryOwner<byte>? encoded = await _storage.ReadAsync(key, 0, null, maxEncoded, cancellationToken).ConfigureAwait(false);
        if (encoded is null)
        {
            return 0;
        }

        try
        {
            if (!blosc.DecodeRuns(encoded.Memory.Span, runs, itemSize, _chunkBytes, destination.Span, finish))
            {
                byte[] temp = ArrayPool<byte>.Shared.Rent(_chunkBytes);
                try
                {
                    DecodeChunk(encoded.Memory.Span, temp.AsSpan(0, _chunkBytes));
                    Span<byte> dst = destination.Span;
                    foreach (ChunkRun run in runs)
                    {
                        Span<byte> piece = dst.Slice(run.DestinationElement * itemSize, run.Length * itemSize);
                        temp.AsSpan(run.ChunkElement * itemSize, run.Length * itemSize).CopyTo(piece);
                        finish?.Invoke(piece);
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(temp);
                }
            }
        }
        catch (CodecException e)
        {
            throw new ChunkDecodeException(_storage.Describe(key), e.Kind, e.Message, e);
        }

        return 1;
    }

    public override async ValueTask<ChunkByteRanges?> OpenChunkRangesAsync(long[] chunkIndex, CancellationToken cancellationToken)
    {
        if (_fortranOrder || _bigEndian || _codecs.Count != 1 || _codecs[0] is not BloscCodec)
        {
            return null;
        }

        string key = ChunkKey(chunkIndex);
        long maxEncoded = ((long)_chunkBytes * 2) + 65536;
        IMemoryOwner<byte>? encoded = await _storage.ReadAsync(key, 0, null, maxEncoded, cancellationToken).ConfigureAwait(false);
        if (encoded is null)
        {
            return null;
        }

        bool ranges;
        int blockBytes;
        int typesize;
        try
        {
            ranges = BloscCodec.TryGetBlocks(encoded.Memory.Span, _chunkBytes, out blockBytes, out typesize);
        }
        catch (CodecException e)
        {
            encoded.Dispose();
            throw new ChunkDecodeException(_storage.Describe(key), e.Kind, e.Message, e);
        }

        if (!ranges)
        {
            encoded.Dispose();
            return null;
        }

        return new BloscRanges(encoded, blockBytes, typesize, _storage.Describe(key));
    }

    /// <summary>
    /// A Blosc chunk decoded a block range at a time on the caller's thread (<see cref="BloscCodec.DecodeItems"/>:
    /// Blosc-lz4 blocks by our own block decoder straight into the range, other codecs by <c>blosc_getitem</c>).
    /// </summary>
    private sealed class BloscRanges(IMemoryOwner<byte> encoded, int blockBytes, int typesize, string location) : ChunkByteRanges
    {
        public override int BlockBytes => blockBytes;

        public override void Read(int start, Span<byte> destination)
        {
            try
            {
                BloscCodec.DecodeItems(encoded.Memory.Span, start / typesize, typesize, destination);
            }
            catch (CodecException e)
            {
                throw new ChunkDecodeException(location, e.Kind, e.Message, e);
            }
        }

        public override void Dispose() => encoded.Dispose();
    }

    /// <summary>Byte ranges [start, end) covering ascending element offsets, merging ranges closer than <paramref name="gap"/>.</summary>
    internal static List<(int Start, int End)> ByteRanges(ReadOnlySpan<int> elements, int itemSize, int gap)
    {
        var ranges = new List<(int Start, int End)>();
        int s = -1;
        int e = -1;
        foreach (int x in elements)
        {
            int b = x * itemSize;
            if (s >= 0 && b <= e + gap)
            {
                e = Math.Max(e, b + itemSize);
                continue;
            }

            if (s >= 0)
            {
                ranges.Add((s, e));
            }

            s = b;
            e = b + itemSize;
        }

        if (s >= 0)
        {
            ranges.Add((s, e));
        }

        return ranges;
    }

    internal void DecodeChunk(ReadOnlySpan<byte> encoded, Span<byte> destination)
    {
        int itemSize = StoredType.Size();
        if (!_fortranOrder)
        {
            CodecPipeline.Decode(_codecs, encoded, destination);
            if (_bigEndian)
            {
                SwapInPlace(destination, itemSize);
            }

            return;
        }

        byte[] temp = ArrayPool<byte>.Shared.Rent(destination.Length);
        try
        {
            Span<byte> t = temp.AsSpan(0, destination.Length);
            CodecPipeline.Decode(_codecs, encoded, t);
            if (_bigEndian)
            {
                SwapInPlace(t, itemSize);
            }

            // F order = C order of the reversed shape; transpose it back.
            int rank = ChunkShape.Length;
            Span<int> reversed = stackalloc int[rank];
            Span<int> perm = stackalloc int[rank];
            for (int d = 0; d < rank; d++)
            {
                reversed[d] = ChunkShape[rank - 1 - d];
                perm[d] = rank - 1 - d;
            }

            NdIndex.Transpose(t, destination, reversed, perm, itemSize);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(temp);
        }
    }

    internal static void SwapInPlace(Span<byte> data, int itemSize)
    {
        switch (itemSize)
        {
            case 2:
                Span<ushort> s2 = MemoryMarshal.Cast<byte, ushort>(data);
                BinaryPrimitives.ReverseEndianness(s2, s2);
                break;
            case 4:
                Span<uint> s4 = MemoryMarshal.Cast<byte, uint>(data);
                BinaryPrimitives.ReverseEndianness(s4, s4);
                break;
            case 8:
                Span<ulong> s8 = MemoryMarshal.Cast<byte, ulong>(data);
                BinaryPrimitives.ReverseEndianness(s8, s8);
                break;
        }
    }
}
