using Proxima.Compute.Execution;

namespace Proxima.Compute.Tests;

/// <summary>An in-memory float32/float64 grid for executor and merge tests (C order, any chunking).</summary>
internal sealed class InMemoryGridSource : IGridSource
{
    private readonly double[] _data;
    private readonly double[]?[] _coords;
    private readonly CalendarDate[]?[] _times;
    private readonly CalendarKind _calendar;

    public InMemoryGridSource(string[] dims, int[] shape, int[] chunks, double[] data, bool isDouble, double[]?[] coords, CalendarDate[]?[]? times = null, CalendarKind calendar = CalendarKind.Standard)
    {
        Dims = dims;
        Shape = shape;
        ChunkShape = chunks;
        _data = data;
        IsDouble = isDouble;
        _coords = coords;
        _times = times ?? new CalendarDate[]?[dims.Length];
        _calendar = calendar;
    }

    public string Variable => "v";

    public IReadOnlyList<string> Dims { get; }

    public IReadOnlyList<int> Shape { get; }

    public IReadOnlyList<int> ChunkShape { get; }

    public bool IsDouble { get; }

    public IReadOnlyDictionary<string, string> Attributes { get; } = new Dictionary<string, string> { ["units"] = "K" };

    public double[]? GetCoordinate(int dim) => _coords[dim];

    public CalendarDate[]? GetTimes(int dim, out CalendarKind calendar)
    {
        calendar = _calendar;
        return _times[dim];
    }

    public IReadOnlyDictionary<string, string> GetCoordinateAttributes(int dim) => new Dictionary<string, string>();

    public ValueTask<long> ReadChunkAsync(int[] chunkIndex, Memory<float> destination, CancellationToken cancellationToken)
    {
        var span = destination.Span;
        var i = 0;
        foreach (var v in ChunkValues(chunkIndex))
        {
            span[i++] = (float)v;
        }

        return ValueTask.FromResult((long)i * 4);
    }

    public ValueTask<long> ReadChunkAsync(int[] chunkIndex, Memory<double> destination, CancellationToken cancellationToken)
    {
        var span = destination.Span;
        var i = 0;
        foreach (var v in ChunkValues(chunkIndex))
        {
            span[i++] = v;
        }

        return ValueTask.FromResult((long)i * 8);
    }

    /// <summary>When above 0, float32 chunks open for range reads (<see cref="IGridSource.OpenChunkRangesAsync"/>) with blocks of this many elements.</summary>
    public int RangeBlockElements { get; init; }

    /// <summary>Range reads opened so far (tests check the executor took the piecewise path).</summary>
    public int RangesOpened => _rangesOpened;

    private int _rangesOpened;

    public ValueTask<IChunkRanges?> OpenChunkRangesAsync(int[] chunkIndex, CancellationToken cancellationToken)
    {
        if (RangeBlockElements <= 0 || IsDouble)
        {
            return ValueTask.FromResult<IChunkRanges?>(null);
        }

        Interlocked.Increment(ref _rangesOpened);
        var values = new List<float>();
        foreach (var v in ChunkValues(chunkIndex))
        {
            values.Add((float)v);
        }

        return ValueTask.FromResult<IChunkRanges?>(new Ranges([.. values], RangeBlockElements));
    }

    /// <summary>A chunk's values; a read must start and end on block boundaries (or the chunk's end), as the executor promises.</summary>
    private sealed class Ranges(float[] values, int block) : IChunkRanges
    {
        public int BlockElements => block;

        public long BytesRead => values.Length * 4L;

        public void Read(int start, Span<float> destination)
        {
            Assert.True(start % block == 0, $"range read at {start}, not on a block of {block}");
            Assert.True((start + destination.Length) % block == 0 || start + destination.Length == values.Length, $"range read ends at {start + destination.Length}");
            values.AsSpan(start, destination.Length).CopyTo(destination);
        }

        public void Dispose()
        {
        }
    }

    private IEnumerable<double> ChunkValues(int[] chunkIndex)
    {
        var nd = Shape.Count;
        var local = new int[nd];
        var total = 1;
        foreach (var c in ChunkShape)
        {
            total *= c;
        }

        for (var k = 0; k < total; k++)
        {
            long flat = 0;
            var inside = true;
            for (var d = 0; d < nd; d++)
            {
                var g = (chunkIndex[d] * ChunkShape[d]) + local[d];
                inside &= g < Shape[d];
                flat = (flat * Shape[d]) + Math.Min(g, Shape[d] - 1);
            }

            yield return inside ? _data[flat] : double.NaN;
            for (var d = nd - 1; d >= 0; d--)
            {
                if (++local[d] < ChunkShape[d])
                {
                    break;
                }

                local[d] = 0;
            }
        }
    }
}
