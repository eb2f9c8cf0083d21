using Proxima.Arrays;
using Proxima.Arrays.Cf;

namespace Proxima.Compute.Execution;

/// <summary>
/// <see cref="IGridSource"/> over an Arrays <see cref="GridVariable"/>: coordinates and times are read once at
/// planning; chunk reads go to <see cref="GridVariable.ReadChunkAsync{T}"/> (decoded, NaN for fill), reads of a few
/// elements of a chunk to <see cref="GridVariable.ReadChunkElementsAsync{T}"/> (byte ranges, blosc blocks) or, packed
/// into the caller's box, to <see cref="GridVariable.ReadChunkElementsPackedAsync{T}"/>.
/// </summary>
internal sealed class GridSourceAdapter : IGridSource
{
    private readonly GridVariable _variable;
    private readonly double[]?[] _coords;
    private readonly CalendarDate[]?[] _times;
    private readonly CalendarKind[] _calendars;
    private readonly IReadOnlyDictionary<string, string>[] _coordAttrs;
    private readonly long _storedChunkBytes;

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<GridVariable, GridSourceAdapter> Cache = new();

    private GridSourceAdapter(GridVariable variable, double[]?[] coords, CalendarDate[]?[] times, CalendarKind[] calendars, IReadOnlyDictionary<string, string>[] coordAttrs)
    {
        _variable = variable;
        _coords = coords;
        _times = times;
        _calendars = calendars;
        _coordAttrs = coordAttrs;
        var shape = new int[variable.Shape.Length];
        for (var d = 0; d < shape.Length; d++)
        {
            shape[d] = checked((int)variable.Shape[d]);
        }

        Shape = shape;
        ChunkShape = [.. variable.ChunkShape];
        Dims = [.. variable.Dims];
        IsDouble = variable.DecodedType == DataType.Float64;
        _storedChunkBytes = (long)variable.ChunkElementCount * variable.StoredType.Size();
        var attrs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in (string[])["units", "long_name", "standard_name"])
        {
            if (variable.GetStringAttribute(key) is { } v)
            {
                attrs[key] = v;
            }
        }

        Attributes = attrs;
    }

    public string Variable => _variable.Name;

    public IReadOnlyList<string> Dims { get; }

    public IReadOnlyList<int> Shape { get; }

    public IReadOnlyList<int> ChunkShape { get; }

    public bool IsDouble { get; }

    public IReadOnlyDictionary<string, string> Attributes { get; }

    /// <summary>
    /// The adapter of a variable, made once per opened variable (its coordinates and decoded times are immutable), so
    /// repeated queries on an open dataset skip re-reading and re-decoding them (10 years hourly: ~88k times).
    /// </summary>
    public static async Task<GridSourceAdapter> GetAsync(GridDataset dataset, GridVariable variable, CancellationToken cancellationToken)
    {
        if (Cache.TryGetValue(variable, out var cached))
        {
            return cached;
        }

        var created = await CreateAsync(dataset, variable, cancellationToken).ConfigureAwait(false);
        return Cache.GetValue(variable, _ => created);
    }

    public static async Task<GridSourceAdapter> CreateAsync(GridDataset dataset, GridVariable variable, CancellationToken cancellationToken)
    {
        var nd = variable.Dims.Length;
        var coords = new double[]?[nd];
        var times = new CalendarDate[]?[nd];
        var calendars = new CalendarKind[nd];
        var attrs = new IReadOnlyDictionary<string, string>[nd];
        for (var d = 0; d < nd; d++)
        {
            attrs[d] = new Dictionary<string, string>();
            if (!dataset.TryGetVariable(variable.Dims[d], out var c) || c.Dims.Length != 1 || !c.IsNumeric)
            {
                continue;
            }

            var a = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var key in (string[])["units", "standard_name", "axis", "calendar"])
            {
                if (c.GetStringAttribute(key) is { } v)
                {
                    a[key] = v;
                }
            }

            attrs[d] = a;
            if (c.TimeUnits is not null)
            {
                var decoded = await c.ReadTimesAsync(cancellationToken).ConfigureAwait(false);
                var t = new CalendarDate[decoded.Length];
                for (var i = 0; i < t.Length; i++)
                {
                    var x = decoded[i];
                    t[i] = new CalendarDate(x.Year, x.Month, x.Day, x.Hour, x.Minute, x.Second, x.Microsecond);
                }

                times[d] = t;
                calendars[d] = Map(c.TimeUnits.Calendar);
            }
            else
            {
                coords[d] = await c.ReadAllAsync<double>(cancellationToken).ConfigureAwait(false);
            }
        }

        return new GridSourceAdapter(variable, coords, times, calendars, attrs);
    }

    public double[]? GetCoordinate(int dim) => _coords[dim];

    public CalendarDate[]? GetTimes(int dim, out CalendarKind calendar)
    {
        calendar = _calendars[dim];
        return _times[dim];
    }

    public IReadOnlyDictionary<string, string> GetCoordinateAttributes(int dim) => _coordAttrs[dim];

    public async ValueTask<long> ReadChunkAsync(int[] chunkIndex, Memory<float> destination, CancellationToken cancellationToken)
    {
        await _variable.ReadChunkAsync<float>(ToLong(chunkIndex), destination, cancellationToken).ConfigureAwait(false);
        return _storedChunkBytes;
    }

    public async ValueTask<long> ReadChunkAsync(int[] chunkIndex, Memory<double> destination, CancellationToken cancellationToken)
    {
        await _variable.ReadChunkAsync<double>(ToLong(chunkIndex), destination, cancellationToken).ConfigureAwait(false);
        return _storedChunkBytes;
    }

    public ValueTask<long> ReadChunkElementsAsync(int[] chunkIndex, int[] elements, Memory<float> destination, CancellationToken cancellationToken) =>
        _variable.ReadChunkElementsAsync<float>(ToLong(chunkIndex), elements, destination, cancellationToken);

    public ValueTask<long> ReadChunkElementsAsync(int[] chunkIndex, int[] elements, Memory<double> destination, CancellationToken cancellationToken) =>
        _variable.ReadChunkElementsAsync<double>(ToLong(chunkIndex), elements, destination, cancellationToken);

    public ValueTask<long> ReadChunkElementsPackedAsync(int[] chunkIndex, int[] elements, Memory<float> destination, CancellationToken cancellationToken) =>
        _variable.ReadChunkElementsPackedAsync<float>(ToLong(chunkIndex), elements, destination, cancellationToken);

    public ValueTask<long> ReadChunkElementsPackedAsync(int[] chunkIndex, int[] elements, Memory<double> destination, CancellationToken cancellationToken) =>
        _variable.ReadChunkElementsPackedAsync<double>(ToLong(chunkIndex), elements, destination, cancellationToken);

    public async ValueTask<IChunkRanges?> OpenChunkRangesAsync(int[] chunkIndex, CancellationToken cancellationToken) =>
        IsDouble || await _variable.OpenChunkRangesAsync<float>(ToLong(chunkIndex), cancellationToken).ConfigureAwait(false) is not { } ranges
            ? null
            : new Ranges(ranges, _storedChunkBytes);

    private sealed class Ranges(ChunkRanges<float> ranges, long bytesRead) : IChunkRanges
    {
        public int BlockElements => ranges.BlockElements;

        public long BytesRead => bytesRead;

        public void Read(int start, Span<float> destination) => ranges.Read(start, destination);

        public void Dispose() => ranges.Dispose();
    }

    private static long[] ToLong(int[] idx)
    {
        var r = new long[idx.Length];
        for (var i = 0; i < idx.Length; i++)
        {
            r[i] = idx[i];
        }

        return r;
    }

    private static CalendarKind Map(CfCalendar c) => c switch
    {
        CfCalendar.ProlepticGregorian => CalendarKind.ProlepticGregorian,
        CfCalendar.Julian => CalendarKind.Julian,
        CfCalendar.NoLeap => CalendarKind.NoLeap,
        CfCalendar.AllLeap => CalendarKind.AllLeap,
        CfCalendar.Day360 => CalendarKind.Day360,
        _ => CalendarKind.Standard,
    };
}
