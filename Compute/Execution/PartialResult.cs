namespace Proxima.Compute.Execution;

/// <summary>
/// One coordinate of a partial or final result. <see cref="Keys"/> order the labels for merging (ascending in
/// output order: selection position for space, calendar order for time and groups); exactly one of
/// <see cref="Values"/> (numbers) and <see cref="Labels"/> (ISO times in the dataset's calendar, season names,
/// point names) is set.
/// </summary>
public sealed record ResultCoordinate
{
    public required string Name { get; init; }

    public required double[] Keys { get; init; }

    public double[]? Values { get; init; }

    public string[]? Labels { get; init; }

    public int Length => Keys.Length;
}

/// <summary>What a partial carries: mergeable moments (a reduce) or raw values (a subset or point series).</summary>
public enum PartialKind
{
    Moments,
    Values,
}

/// <summary>
/// A mergeable piece of one dataset's answer: the cells touched by a range of chunks. All arrays are row-major over
/// <see cref="Dims"/>/<see cref="Shape"/>. For <see cref="PartialKind.Moments"/>: per cell <see cref="Count"/> of
/// non-NaN values, <see cref="Sum"/>, <see cref="M2"/> (sum of squared deviations from the cell mean),
/// <see cref="Min"/> and <see cref="Max"/> (±inf when the count is 0), all of decoded values before
/// <c>transform</c>. For <see cref="PartialKind.Values"/>: <see cref="Values"/> (NaN = missing or not covered).
/// Combine partials of the same query with <see cref="PartialMerge.Merge(PartialResult, PartialResult)"/>.
/// </summary>
public sealed record PartialResult
{
    public required string Dataset { get; init; }

    public required string Variable { get; init; }

    public required PartialKind Kind { get; init; }

    public required string[] Dims { get; init; }

    public required int[] Shape { get; init; }

    /// <summary>One coordinate per dim, same order as <see cref="Dims"/>.</summary>
    public required ResultCoordinate[] Coords { get; init; }

    /// <summary>Non-dimension coordinates along <c>point</c> (the grid cell's lat/lon chosen for each point).</summary>
    public ResultCoordinate[] PointCoords { get; init; } = [];

    /// <summary>Variable attributes (units, long_name, standard_name) and <c>calendar</c> for time results.</summary>
    public Dictionary<string, string> Attrs { get; init; } = [];

    /// <summary>Group kind of the grouped dim (<c>time.month</c>, <c>1MS</c>, ...) or null.</summary>
    public string? Grouping { get; init; }

    public long[]? Count { get; init; }

    public double[]? Sum { get; init; }

    public double[]? M2 { get; init; }

    public double[]? Min { get; init; }

    public double[]? Max { get; init; }

    public double[]? Values { get; init; }

    /// <summary>Chunks this partial covers and the total of the plan it came from.</summary>
    public int ChunksDone { get; init; }

    public int ChunksTotal { get; init; }

    /// <summary>Bytes read from storage (compressed) for this partial.</summary>
    public long BytesRead { get; init; }

    public long CellCount
    {
        get
        {
            long n = 1;
            foreach (var s in Shape)
            {
                n *= s;
            }

            return n;
        }
    }
}

/// <summary>Progress of an execution: chunks finished out of the chunks in the work range.</summary>
public readonly record struct QueryProgress(int ChunksDone, int ChunksTotal, long BytesRead);

/// <summary>A contiguous range of a plan's chunk list (ordinal start, count), the unit a router spreads over workers.</summary>
public readonly record struct ChunkRange(int Start, int Count)
{
    public int End => Start + Count;
}
