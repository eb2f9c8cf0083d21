namespace Proxima.Compute.Execution;

/// <summary>
/// The final answer for one dataset (one entry of DESIGN.md §4's <c>results[]</c>): row-major arrays per op
/// (or <c>values</c>), NaN where xarray has NaN (written as null in JSON).
/// </summary>
public sealed record QueryResult
{
    public required string Dataset { get; init; }

    public required string Variable { get; init; }

    public required string[] Dims { get; init; }

    public required int[] Shape { get; init; }

    /// <summary>One coordinate per dim (same order), then the point lat/lon coordinates when there are points.</summary>
    public required ResultCoordinate[] Coords { get; init; }

    /// <summary>Coordinates along <c>point</c> that are not dims (the chosen cells' lat and lon).</summary>
    public ResultCoordinate[] PointCoords { get; init; } = [];

    /// <summary>Data per op name in request order (<c>mean</c>, <c>std</c>, ...) or a single <c>values</c>.</summary>
    public required IReadOnlyList<KeyValuePair<string, double[]>> Data { get; init; }

    public Dictionary<string, string> Attrs { get; init; } = [];

    public bool Partial { get; init; }

    /// <summary>What is missing when <see cref="Partial"/> (e.g. region names).</summary>
    public string[] Missing { get; init; } = [];
}
