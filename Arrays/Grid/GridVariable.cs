using System.Buffers;
using System.Collections.Immutable;
using System.Numerics;
using Proxima.Arrays.Cf;
using Proxima.Arrays.Grid;

namespace Proxima.Arrays;

/// <summary>
/// One variable of a <see cref="GridDataset"/>: metadata plus decoded reads (CF masking and
/// scale/offset applied, missing values as NaN). Thread-safe; reads may run concurrently.
/// </summary>
public sealed class GridVariable
{
    private readonly ChunkSource _source;
    private readonly GridDatasetOptions _options;
    private readonly int _chunkElements;
    private CfTimeUnits? _timeUnits;
    private bool _timeUnitsParsed;

    internal GridVariable(string name, ImmutableArray<string> dims, ChunkSource source, IReadOnlyDictionary<string, AttributeValue> attributes, GridDatasetOptions options)
    {
        Name = name;
        Dims = dims;
        _source = source;
        _options = options;
        Attributes = attributes;
        Shape = [.. source.Shape];
        ChunkShape = [.. source.ChunkShape];
        StoredType = source.StoredType;
        Location = source.Location;
        if (dims.Length != Shape.Length)
        {
            throw new ArrayFormatException(Location, $"variable '{name}' has {dims.Length} dimension names for {Shape.Length} dimensions");
        }

        long elements = 1;
        foreach (long s in Shape)
        {
            if (s < 0)
            {
                throw new ArrayFormatException(Location, "negative dimension length");
            }

            elements = s == 0 ? 0 : elements > options.MaxElements / s ? long.MaxValue : elements * s;
        }

        if (elements > options.MaxElements)
        {
            throw new ArrayFormatException(Location, $"shape [{string.Join(", ", Shape)}] exceeds the limit of {options.MaxElements} elements");
        }

        ElementCount = elements;
        long chunkElements = 1;
        var grid = new long[Shape.Length];
        for (int d = 0; d < Shape.Length; d++)
        {
            if (ChunkShape[d] <= 0)
            {
                throw new ArrayFormatException(Location, $"chunk shape [{string.Join(", ", ChunkShape)}] has a non-positive length");
            }

            chunkElements *= ChunkShape[d];
            if (chunkElements * Math.Max(1, StoredType.Size()) > options.MaxChunkBytes)
            {
                throw new ArrayFormatException(Location, $"chunk shape [{string.Join(", ", ChunkShape)}] exceeds the limit of {options.MaxChunkBytes} bytes per chunk");
            }

            grid[d] = (Shape[d] + ChunkShape[d] - 1) / ChunkShape[d];
        }

        _chunkElements = (int)chunkElements;
        ChunkGrid = [.. grid];
        Decoding = StoredType == DataType.Unsupported
            ? CfDecoding.Create(DataType.Unsupported, attributes, null, maskAndScale: false)
            : CfDecoding.Create(StoredType, attributes, source.FillValueIsMask ? source.FillValue : null, options.MaskAndScale);
        Role = CoordinateDetection.Detect(name, attributes, Shape.Length);
    }

    public string Name { get; }

    /// <summary>The format backend (raw chunks), for conversion.</summary>
    internal ChunkSource Source => _source;

    /// <summary>Dimension names (Zarr <c>_ARRAY_DIMENSIONS</c>/<c>dimension_names</c>, NetCDF dims; "dim_N" when absent).</summary>
    public ImmutableArray<string> Dims { get; }

    public ImmutableArray<long> Shape { get; }

    /// <summary>Chunk lengths per dimension (edge chunks are logically this size too).</summary>
    public ImmutableArray<int> ChunkShape { get; }

    /// <summary>Number of chunks along each dimension.</summary>
    public ImmutableArray<long> ChunkGrid { get; }

    /// <summary>Elements in one chunk (the destination length for <see cref="ReadChunkAsync{T}"/>).</summary>
    public int ChunkElementCount => _chunkElements;

    /// <summary>Elements in the whole variable.</summary>
    public long ElementCount { get; }

    /// <summary>Element type on disk.</summary>
    public DataType StoredType { get; }

    /// <summary>Element type after CF decoding, by xarray's rules (float32 stays float32; packed int16 with a float scale becomes float32 or float64).</summary>
    public DataType DecodedType => Decoding.DecodedType;

    /// <summary>The CF decoding applied by reads.</summary>
    public CfDecoding Decoding { get; }

    /// <summary>All attributes as stored (including scale_factor, _FillValue...).</summary>
    public IReadOnlyDictionary<string, AttributeValue> Attributes { get; }

    /// <summary>Store and array path, for messages.</summary>
    public string Location { get; }

    /// <summary>Detected coordinate role (None for data variables).</summary>
    public CoordinateRole Role { get; internal set; }

    public string? Units => GetStringAttribute("units");

    public string? StandardName => GetStringAttribute("standard_name");

    public string? LongName => GetStringAttribute("long_name");

    /// <summary>The "calendar" attribute (null when absent, meaning standard).</summary>
    public string? Calendar => GetStringAttribute("calendar");

    /// <summary>True when the variable's dtype is numeric and can be read.</summary>
    public bool IsNumeric => StoredType != DataType.Unsupported;

    /// <summary>Parsed CF time units and calendar when <see cref="Units"/> is "X since Y"; otherwise null.</summary>
    public CfTimeUnits? TimeUnits
    {
        get
        {
            if (!_timeUnitsParsed)
            {
                string? units = Units;
                if (CfTimeUnits.IsTimeUnits(units))
                {
                    try
                    {
                        _timeUnits = CfTimeUnits.Parse(units!, Calendar);
                    }
                    catch (FormatException)
                    {
                        _timeUnits = null;
                    }
                }

                _timeUnitsParsed = true;
            }

            return _timeUnits;
        }
    }

    /// <summary>A string attribute, or null.</summary>
    public string? GetStringAttribute(string name) =>
        Attributes.TryGetValue(name, out AttributeValue v) ? v.AsString() : null;

    /// <summary>Start and length (clipped to the array) of the chunk at <paramref name="chunkIndex"/>.</summary>
    public void GetChunkBox(ReadOnlySpan<long> chunkIndex, Span<long> start, Span<long> count)
    {
        for (int d = 0; d < Shape.Length; d++)
        {
            start[d] = chunkIndex[d] * ChunkShape[d];
            count[d] = Math.Min(ChunkShape[d], Shape[d] - start[d]);
        }
    }

    /// <summary>
    /// Reads one whole chunk, decoded, into <paramref name="destination"/> (at least
    /// <see cref="ChunkElementCount"/> elements, C order, full chunk shape). Fill/missing values and
    /// elements past the array's edge are NaN; scale/offset applied. <typeparamref name="T"/> is float or double.
    /// A chunk absent from the store reads as the fill value.
    /// </summary>
    /// <returns>True when the chunk exists in the store; false when it was absent and filled (a caller may skip it).</returns>
    public async ValueTask<bool> ReadChunkAsync<T>(ReadOnlyMemory<long> chunkIndex, Memory<T> destination, CancellationToken cancellationToken)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        EnsureReadable<T>();
        if (destination.Length < _chunkElements)
        {
            throw new ArgumentException($"destination holds {destination.Length} elements, a chunk of '{Name}' has {_chunkElements}", nameof(destination));
        }

        long[] idx = CheckedChunkIndex(chunkIndex);
        int bytes = _chunkElements * StoredType.Size();

        // float32 into float (float64 into double): decompress straight into the caller's buffer, decode in place.
        bool inPlace = StoredAs<T>();
        byte[]? raw = inPlace ? null : ArrayPool<byte>.Shared.Rent(Math.Max(1, bytes));
        try
        {
            bool present;
            if (raw is null)
            {
                using MemoryHandle pin = destination.Pin();
                using var view = new PinnedBytes(pin, bytes);
                present = await _source.ReadChunkAsync(idx, view.Memory, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                present = await _source.ReadChunkAsync(idx, raw.AsMemory(0, bytes), cancellationToken).ConfigureAwait(false);
            }

            Span<T> dst = destination.Span[.._chunkElements];
            if (present)
            {
                Decoding.Decode(raw is null ? System.Runtime.InteropServices.MemoryMarshal.AsBytes(dst) : raw.AsSpan(0, bytes), dst);
            }
            else
            {
                dst.Fill(DecodedFill<T>());
            }

            if (Shape.Length > 0)
            {
                Span<long> valid = stackalloc long[Shape.Length];
                for (int d = 0; d < Shape.Length; d++)
                {
                    valid[d] = Math.Min(ChunkShape[d], Shape[d] - (idx[d] * ChunkShape[d]));
                }

                NdIndex.FillOutside(dst, ChunkShape.AsSpan(), valid, T.NaN);
            }

            return present;
        }
        finally
        {
            if (raw is not null)
            {
                ArrayPool<byte>.Shared.Return(raw);
            }
        }
    }

    /// <summary>
    /// Opens one chunk for decoding a range of elements at a time (<see cref="ChunkRanges{T}"/>), or null when that is
    /// not possible — the format cannot (only Blosc Zarr v2 chunks in C order and native byte order can), the stored
    /// type is not <typeparamref name="T"/>, the chunk crosses the array's edge, or it is absent — and the caller
    /// should use <see cref="ReadChunkAsync{T}"/>.
    /// </summary>
    /// <exception cref="ChunkDecodeException">The chunk's encoded bytes are cut short or claim more than the chunk holds.</exception>
    public async ValueTask<ChunkRanges<T>?> OpenChunkRangesAsync<T>(ReadOnlyMemory<long> chunkIndex, CancellationToken cancellationToken)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        EnsureReadable<T>();
        long[] idx = CheckedChunkIndex(chunkIndex);
        bool inPlace = StoredAs<T>();
        for (int d = 0; d < idx.Length && inPlace; d++)
        {
            inPlace = (idx[d] + 1) * ChunkShape[d] <= Shape[d];
        }

        if (!inPlace)
        {
            return null;
        }

        ChunkByteRanges? bytes = await _source.OpenChunkRangesAsync(idx, cancellationToken).ConfigureAwait(false);
        return bytes is null ? null : new ChunkRanges<T>(bytes, Decoding, _chunkElements);
    }

    /// <summary>Reads a box (start and count per dimension), decoded, in C order.</summary>
    public async ValueTask<T[]> ReadRegionAsync<T>(long[] start, long[] count, CancellationToken cancellationToken)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        long total = ValidateBox(start, count);
        if (total > Array.MaxLength)
        {
            throw new ArgumentException($"region of {total} elements is too large for one array; read it in parts", nameof(count));
        }

        // Every element is written by some chunk (or its fill), so the array need not be zeroed first.
        T[] result = GC.AllocateUninitializedArray<T>((int)total);
        await ReadRegionAsync<T>(start, count, result.AsMemory(), cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>Reads a box into <paramref name="destination"/> (C order, length = product of <paramref name="count"/>).</summary>
    public async ValueTask ReadRegionAsync<T>(long[] start, long[] count, Memory<T> destination, CancellationToken cancellationToken)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        EnsureReadable<T>();
        long total = ValidateBox(start, count);
        if (destination.Length < total)
        {
            throw new ArgumentException($"destination holds {destination.Length} elements, region has {total}", nameof(destination));
        }

        if (total == 0)
        {
            return;
        }

        int rank = Shape.Length;
        if (rank == 0)
        {
            T[] one = ArrayPool<T>.Shared.Rent(1);
            try
            {
                await ReadChunkAsync<T>(Array.Empty<long>(), one, cancellationToken).ConfigureAwait(false);
                destination.Span[0] = one[0];
            }
            finally
            {
                ArrayPool<T>.Shared.Return(one);
            }

            return;
        }

        var first = new long[rank];
        var last = new long[rank];
        for (int d = 0; d < rank; d++)
        {
            first[d] = start[d] / ChunkShape[d];
            last[d] = (start[d] + count[d] - 1) / ChunkShape[d];
        }

        var chunkShapeLong = new long[rank];
        for (int d = 0; d < rank; d++)
        {
            chunkShapeLong[d] = ChunkShape[d];
        }

        // float32 into float (float64 into double) with an output addressable as bytes: a chunk may be decoded block
        // by block straight to its rows' places (ReadChunkRunsAsync), CF-decoding each piece while it is in cache,
        // rather than through a temporary chunk (or, when contiguous, decoded whole and then masked in a second pass).
        bool direct = StoredAs<T>()
            && total * StoredType.Size() <= int.MaxValue;

        async ValueTask ReadOneAsync(long[] chunk, CancellationToken ct)
        {
            if (direct && await ReadChunkRunsAsync<T>(chunk, start, count, destination[..(int)total], ct).ConfigureAwait(false))
            {
                return;
            }

            // A whole, unpadded chunk that is one contiguous run of the destination decodes in place.
            long offset = ContiguousOffset(chunk, start, count);
            if (offset >= 0)
            {
                await ReadChunkAsync<T>(chunk, destination.Slice((int)offset, _chunkElements), ct).ConfigureAwait(false);
                return;
            }

            T[] buffer = ArrayPool<T>.Shared.Rent(_chunkElements);
            try
            {
                await ReadChunkAsync<T>(chunk, buffer, ct).ConfigureAwait(false);
                CopyIntersection(buffer, chunk, chunkShapeLong, start, count, destination.Span);
            }
            finally
            {
                ArrayPool<T>.Shared.Return(buffer);
            }
        }

        // Up to MaxConcurrency chunks at once, the calling thread decoding its share (ChunkLoop).
        await ChunkLoop.RunAsync(first, last, Math.Max(1, _options.MaxConcurrency), ReadOneAsync, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The intersection of a chunk with the box, decoded by the source straight into <paramref name="destination"/>
    /// (the box's output, <typeparamref name="T"/> the stored type), each piece CF-decoded in place as it is written;
    /// false when the source
    /// declines (nothing written).
    /// </summary>
    private async ValueTask<bool> ReadChunkRunsAsync<T>(long[] chunk, long[] start, long[] count, Memory<T> destination, CancellationToken cancellationToken)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rank = Shape.Length;
        var srcStart = new long[rank];
        var dstStart = new long[rank];
        var n = new long[rank];
        for (int d = 0; d < rank; d++)
        {
            long c0 = chunk[d] * ChunkShape[d];
            long lo = Math.Max(c0, start[d]);
            srcStart[d] = lo - c0;
            dstStart[d] = lo - start[d];
            n[d] = Math.Min(c0 + ChunkShape[d], start[d] + count[d]) - lo;
        }

        ChunkRun[] runs = ChunkRun.Build(ChunkShape.AsSpan(), srcStart, count, dstStart, n);
        CfDecoding decoding = Decoding;
        RunFinisher? finish = decoding.IsIdentity ? null : written => decoding.Decode(written, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(written));
        int status;
        using (MemoryHandle pin = destination.Pin())
        {
            using var view = new PinnedBytes(pin, destination.Length * StoredType.Size());
            status = await _source.ReadChunkRunsAsync(chunk, runs, view.Memory, finish, cancellationToken).ConfigureAwait(false);
        }

        if (status == 0)
        {
            Span<T> dst = destination.Span;
            T fill = DecodedFill<T>();
            foreach (ChunkRun run in runs)
            {
                dst.Slice(run.DestinationElement, run.Length).Fill(fill);
            }
        }

        return status >= 0;
    }

    /// <summary>Reads the whole variable (for coordinates and small arrays).</summary>
    public ValueTask<T[]> ReadAllAsync<T>(CancellationToken cancellationToken)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var start = new long[Shape.Length];
        long[] count = [.. Shape];
        return ReadRegionAsync<T>(start, count, cancellationToken);
    }

    /// <summary>Reads a 1-D time variable and decodes it with its units and calendar (cftime/xarray semantics).</summary>
    public async ValueTask<CfDateTime[]> ReadTimesAsync(CancellationToken cancellationToken)
    {
        CfTimeUnits units = TimeUnits ?? throw new ArrayFormatException(Location, $"variable '{Name}' has no CF time units (units = '{Units}', calendar = '{Calendar}')");
        try
        {
            // Integer counts without packing decode exactly (nanoseconds since 1970 overflow double's 53 bits).
            if (Shape.Length == 1 && Decoding.RawType.IsInteger() && Decoding.ScaleFactor is null && Decoding.AddOffset is null)
            {
                long[]? raw = await ReadIntegersAsync(cancellationToken).ConfigureAwait(false);
                if (raw is not null)
                {
                    var result = new CfDateTime[raw.Length];
                    for (int i = 0; i < raw.Length; i++)
                    {
                        bool masked = false;
                        foreach (double f in Decoding.FillValues)
                        {
                            masked |= f == raw[i];
                        }

                        result[i] = masked ? CfDateTime.NaT : units.Decode(raw[i]);
                    }

                    return result;
                }
            }

            double[] values = await ReadAllAsync<double>(cancellationToken).ConfigureAwait(false);
            return units.Decode(values);
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentOutOfRangeException)
        {
            throw new ArrayFormatException(Location, $"cannot decode times of '{Name}': {e.Message}", e);
        }
    }

    /// <summary>
    /// Offset in the region's C-order output where <paramref name="chunk"/> lands as one contiguous
    /// run, or -1 when it is clipped, padded or strided there.
    /// </summary>
    private long ContiguousOffset(long[] chunk, long[] start, long[] count)
    {
        int rank = Shape.Length;
        bool seenExtent = false;
        long offset = 0;
        for (int d = 0; d < rank; d++)
        {
            long c0 = chunk[d] * ChunkShape[d];
            if (c0 < start[d] || c0 + ChunkShape[d] > start[d] + count[d])
            {
                return -1;
            }

            // After the first dimension longer than 1, every later one must span the region whole.
            if (seenExtent && ChunkShape[d] != count[d])
            {
                return -1;
            }

            if (ChunkShape[d] > 1)
            {
                seenExtent = true;
            }

            offset = (offset * count[d]) + (c0 - start[d]);
        }

        return offset;
    }

    /// <summary>A 1-D integer variable's raw values as long (null for uint64 values above long.MaxValue).</summary>
    private async ValueTask<long[]?> ReadIntegersAsync(CancellationToken cancellationToken)
    {
        long n = Shape[0];
        var result = new long[n];
        int bytes = _chunkElements * StoredType.Size();
        byte[] raw = ArrayPool<byte>.Shared.Rent(Math.Max(1, bytes));
        try
        {
            for (long c = 0; c < ChunkGrid[0]; c++)
            {
                long start = c * ChunkShape[0];
                int count = (int)Math.Min(ChunkShape[0], n - start);
                if (!await _source.ReadChunkAsync([c], raw.AsMemory(0, bytes), cancellationToken).ConfigureAwait(false))
                {
                    long fill = (long)(_source.FillValue ?? 0);
                    result.AsSpan((int)start, count).Fill(fill);
                    continue;
                }

                for (int i = 0; i < count; i++)
                {
                    ReadOnlySpan<byte> e = raw.AsSpan(i * StoredType.Size());
                    long value = Decoding.RawType switch
                    {
                        DataType.Bool or DataType.UInt8 => e[0],
                        DataType.Int8 => (sbyte)e[0],
                        DataType.Int16 => BitConverter.ToInt16(e),
                        DataType.UInt16 => BitConverter.ToUInt16(e),
                        DataType.Int32 => BitConverter.ToInt32(e),
                        DataType.UInt32 => BitConverter.ToUInt32(e),
                        DataType.Int64 => BitConverter.ToInt64(e),
                        _ => BitConverter.ToUInt64(e) > long.MaxValue ? long.MinValue : (long)BitConverter.ToUInt64(e),
                    };
                    if (value == long.MinValue && Decoding.RawType == DataType.UInt64)
                    {
                        return null;
                    }

                    result[start + i] = value;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(raw);
        }

        return result;
    }

    private void CopyIntersection<T>(T[] chunkData, long[] chunk, long[] chunkShape, long[] start, long[] count, Span<T> destination)
    {
        int rank = Shape.Length;
        Span<long> srcStart = stackalloc long[rank];
        Span<long> dstStart = stackalloc long[rank];
        Span<long> n = stackalloc long[rank];
        for (int d = 0; d < rank; d++)
        {
            long c0 = chunk[d] * ChunkShape[d];
            long lo = Math.Max(c0, start[d]);
            long hi = Math.Min(c0 + ChunkShape[d], start[d] + count[d]);
            srcStart[d] = lo - c0;
            dstStart[d] = lo - start[d];
            n[d] = hi - lo;
        }

        NdIndex.CopyBox<T>(chunkData.AsSpan(0, _chunkElements), chunkShape, srcStart, destination, count, dstStart, n);
    }

    private long ValidateBox(long[] start, long[] count)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(count);
        if (start.Length != Shape.Length || count.Length != Shape.Length)
        {
            throw new ArgumentException($"variable '{Name}' has {Shape.Length} dimensions; got start of {start.Length} and count of {count.Length}");
        }

        long total = 1;
        for (int d = 0; d < Shape.Length; d++)
        {
            if (start[d] < 0 || count[d] < 0 || start[d] + count[d] > Shape[d])
            {
                throw new ArgumentOutOfRangeException(nameof(count), $"region [{start[d]}, {start[d] + count[d]}) is outside dimension '{Dims[d]}' of length {Shape[d]}");
            }

            total = checked(total * count[d]);
        }

        return total;
    }

    /// <summary>Whether chunks decode straight into a <typeparamref name="T"/> destination: the stored raw type is
    /// <typeparamref name="T"/> itself (float32 into float, float64 into double), so no byte buffer is needed.</summary>
    private bool StoredAs<T>() =>
        (Decoding.RawType == DataType.Float32 && typeof(T) == typeof(float)) || (Decoding.RawType == DataType.Float64 && typeof(T) == typeof(double));

    private void EnsureReadable<T>()
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            throw new NotSupportedException($"reads produce float or double, not {typeof(T).Name}");
        }

        if (!IsNumeric)
        {
            throw new ArrayFormatException(Location, $"variable '{Name}' does not hold plain numbers");
        }
    }

    private T DecodedFill<T>()
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double? fill = _source.FillValue;
        if (fill is null)
        {
            fill = 0;
        }

        Span<byte> raw = stackalloc byte[8];
        WriteRaw(raw, Decoding.RawType == Decoding.StoredType ? StoredType : Decoding.RawType, fill.Value);
        Span<T> one = stackalloc T[1];
        Decoding.Decode(raw[..StoredType.Size()], one);
        return one[0];
    }

    private static void WriteRaw(Span<byte> raw, DataType type, double value)
    {
        switch (type)
        {
            case DataType.Bool:
            case DataType.UInt8:
                raw[0] = (byte)value;
                break;
            case DataType.Int8:
                raw[0] = (byte)(sbyte)value;
                break;
            case DataType.Int16:
                BitConverter.TryWriteBytes(raw, (short)value);
                break;
            case DataType.UInt16:
                BitConverter.TryWriteBytes(raw, (ushort)value);
                break;
            case DataType.Int32:
                BitConverter.TryWriteBytes(raw, (int)value);
                break;
            case DataType.UInt32:
                BitConverter.TryWriteBytes(raw, (uint)value);
                break;
            case DataType.Int64:
                BitConverter.TryWriteBytes(raw, (long)value);
                break;
            case DataType.UInt64:
                BitConverter.TryWriteBytes(raw, (ulong)value);
                break;
            case DataType.Float16:
                BitConverter.TryWriteBytes(raw, (Half)value);
                break;
            case DataType.Float32:
                BitConverter.TryWriteBytes(raw, (float)value);
                break;
            case DataType.Float64:
                BitConverter.TryWriteBytes(raw, value);
                break;
        }
    }

    /// <summary>
    /// Reads at least the listed elements of one chunk, decoded, into <paramref name="destination"/> (full chunk
    /// shape, C order): the element at chunk offset e lands in destination[e]; the other elements are unspecified.
    /// Reads less than the whole chunk where the format allows: byte ranges of an uncompressed Zarr chunk, only the
    /// blosc blocks holding the elements (a sharded Zarr v3 chunk is already one inner chunk); otherwise the chunk.
    /// <typeparamref name="T"/> is float or double.
    /// </summary>
    /// <param name="elements">Ascending element offsets inside the chunk.</param>
    /// <returns>Bytes read from storage (0 when the chunk is absent: the elements read as the fill value).</returns>
    public async ValueTask<long> ReadChunkElementsAsync<T>(ReadOnlyMemory<long> chunkIndex, ReadOnlyMemory<int> elements, Memory<T> destination, CancellationToken cancellationToken)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        EnsureReadable<T>();
        long[] idx = CheckedChunkIndex(chunkIndex);
        if (destination.Length < _chunkElements)
        {
            throw new ArgumentException($"destination holds {destination.Length} elements, a chunk of '{Name}' has {_chunkElements}", nameof(destination));
        }

        ReadOnlySpan<int> el = elements.Span;
        CheckAscending(el);

        int size = StoredType.Size();
        int bytes = _chunkElements * size;
        bool inPlace = StoredAs<T>();
        byte[]? raw = inPlace ? null : ArrayPool<byte>.Shared.Rent(Math.Max(1, bytes));
        try
        {
            long read;
            if (raw is null)
            {
                using MemoryHandle pin = destination.Pin();
                using var view = new PinnedBytes(pin, bytes);
                read = await _source.ReadChunkElementsAsync(idx, elements, view.Memory, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                read = await _source.ReadChunkElementsAsync(idx, elements, raw.AsMemory(0, bytes), cancellationToken).ConfigureAwait(false);
            }

            Span<T> dst = destination.Span[.._chunkElements];
            el = elements.Span;
            if (read < 0)
            {
                T fill = DecodedFill<T>();
                foreach (int e in el)
                {
                    dst[e] = fill;
                }

                return 0;
            }

            if (raw is null && Decoding.IsIdentity)
            {
                return read;
            }

            // Decode each run of consecutive elements.
            for (int i = 0; i < el.Length;)
            {
                int a = el[i];
                int j = i + 1;
                while (j < el.Length && el[j] == el[j - 1] + 1)
                {
                    j++;
                }

                int b = el[j - 1] + 1;
                Span<T> run = dst[a..b];
                Decoding.Decode(raw is null ? System.Runtime.InteropServices.MemoryMarshal.AsBytes(run) : raw.AsSpan(a * size, (b - a) * size), run);
                i = j;
            }

            return read;
        }
        finally
        {
            if (raw is not null)
            {
                ArrayPool<byte>.Shared.Return(raw);
            }
        }
    }

    /// <summary>
    /// Reads the listed elements of one chunk, decoded, packed into <paramref name="destination"/>: element i of the
    /// list lands in destination[i] (<paramref name="destination"/> holds at least <c>elements.Length</c>). Where the
    /// format allows (Blosc-lz4 Zarr v2) only the blocks holding them are decompressed and no chunk-sized buffer is
    /// used; otherwise as <see cref="ReadChunkElementsAsync{T}"/> into a pooled chunk. <typeparamref name="T"/> is
    /// float or double.
    /// </summary>
    /// <param name="elements">Ascending element offsets inside the chunk.</param>
    /// <returns>Bytes read from storage (0 when the chunk is absent: the elements read as the fill value).</returns>
    public async ValueTask<long> ReadChunkElementsPackedAsync<T>(ReadOnlyMemory<long> chunkIndex, ReadOnlyMemory<int> elements, Memory<T> destination, CancellationToken cancellationToken)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        EnsureReadable<T>();
        long[] idx = CheckedChunkIndex(chunkIndex);
        int count = elements.Length;
        if (destination.Length < count)
        {
            throw new ArgumentException($"destination holds {destination.Length} elements, {count} were asked of '{Name}'", nameof(destination));
        }

        CheckAscending(elements.Span);
        int size = StoredType.Size();
        int bytes = count * size;
        bool inPlace = StoredAs<T>();
        byte[]? raw = inPlace ? null : ArrayPool<byte>.Shared.Rent(Math.Max(1, bytes));
        try
        {
            long read;
            if (raw is null)
            {
                using MemoryHandle pin = destination.Pin();
                using var view = new PinnedBytes(pin, bytes);
                read = await _source.ReadChunkElementsPackedAsync(idx, elements, view.Memory, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                read = await _source.ReadChunkElementsPackedAsync(idx, elements, raw.AsMemory(0, bytes), cancellationToken).ConfigureAwait(false);
            }

            Span<T> dst = destination.Span[..count];
            if (read < 0)
            {
                dst.Fill(DecodedFill<T>());
                return 0;
            }

            if (raw is not null || !Decoding.IsIdentity)
            {
                Decoding.Decode(raw is null ? System.Runtime.InteropServices.MemoryMarshal.AsBytes(dst) : raw.AsSpan(0, bytes), dst);
            }

            return read;
        }
        finally
        {
            if (raw is not null)
            {
                ArrayPool<byte>.Shared.Return(raw);
            }
        }
    }

    private void CheckAscending(ReadOnlySpan<int> el)
    {
        for (int i = 0; i < el.Length; i++)
        {
            if ((uint)el[i] >= (uint)_chunkElements || (i > 0 && el[i] <= el[i - 1]))
            {
                throw new ArgumentException($"element offsets must ascend inside the chunk's {_chunkElements} elements; entry {i} is {el[i]}", "elements");
            }
        }
    }

    private long[] CheckedChunkIndex(ReadOnlyMemory<long> chunkIndex)
    {
        if (chunkIndex.Length != Shape.Length)
        {
            throw new ArgumentException($"chunk index has {chunkIndex.Length} dimensions, variable '{Name}' has {Shape.Length}", nameof(chunkIndex));
        }

        long[] idx = chunkIndex.ToArray();
        for (int d = 0; d < idx.Length; d++)
        {
            if ((ulong)idx[d] >= (ulong)ChunkGrid[d])
            {
                throw new ArgumentOutOfRangeException(nameof(chunkIndex), $"chunk index {idx[d]} out of range 0..{ChunkGrid[d] - 1} on dimension '{Dims[d]}'");
            }
        }

        return idx;
    }

    public override string ToString() => $"{Name}({string.Join(", ", Dims)}) [{string.Join(", ", Shape)}] {StoredType.NumpyName()}";
}
