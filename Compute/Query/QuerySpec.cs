namespace Proxima.Compute.Query;

/// <summary>
/// A parsed QuerySpec v1 (DESIGN.md §4). Build one with <see cref="QuerySpecParser.Parse(ReadOnlySpan{byte})"/>;
/// write it back with <see cref="QuerySpecWriter"/>. Semantics are xarray's.
/// </summary>
public sealed record QuerySpec
{
    /// <summary>Dataset ids, one result per dataset.</summary>
    public required IReadOnlyList<string> Datasets { get; init; }

    /// <summary>The variable to read in every dataset.</summary>
    public required string Variable { get; init; }

    /// <summary>Per-dimension selections in request order (keys of the JSON <c>select</c> object).</summary>
    public IReadOnlyList<DimensionSelection> Select { get; init; } = [];

    /// <summary>Nearest-grid-cell points (lat/lon); the result gets a leading <c>point</c> dim.</summary>
    public IReadOnlyList<PointSpec> Points { get; init; } = [];

    /// <summary><c>x*scale+offset</c> applied after CF decoding, or null.</summary>
    public TransformSpec? Transform { get; init; }

    /// <summary>Reduction, or null for a subset.</summary>
    public ReduceSpec? Reduce { get; init; }

    public OutputSpec Output { get; init; } = new();

    public bool AllowPartial { get; init; }

    /// <summary>Deadline in milliseconds, or null for the server default.</summary>
    public int? DeadlineMs { get; init; }
}

/// <summary>A coordinate value in a selection: a number, or an ISO-8601 text for time.</summary>
public readonly record struct CoordValue(double Number, string? Text)
{
    public bool IsText => Text is not null;

    public static CoordValue Of(double number) => new(number, null);

    public static CoordValue Of(string text) => new(double.NaN, text);

    public override string ToString() => Text ?? Number.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// Selection on one dimension: an inclusive range (<see cref="Start"/>..<see cref="Stop"/>, either end may be open)
/// when <see cref="Values"/> is null, else exact values.
/// </summary>
public sealed record DimensionSelection
{
    public required string Dim { get; init; }

    public CoordValue? Start { get; init; }

    public CoordValue? Stop { get; init; }

    public IReadOnlyList<CoordValue>? Values { get; init; }

    public bool IsRange => Values is null;
}

public sealed record PointSpec
{
    public string? Name { get; init; }

    public required double Lat { get; init; }

    public required double Lon { get; init; }
}

public sealed record TransformSpec
{
    public double Scale { get; init; } = 1.0;

    public double Offset { get; init; }

    public string? Units { get; init; }
}

public enum ReduceOp
{
    Mean,
    Std,
    Var,
    Min,
    Max,
    Sum,
    Count,
}

public enum TimeGrouping
{
    None,
    Month,
    Season,
    Year,
    DayOfYear,
    Hour,
}

public enum ResampleFrequency
{
    None,

    /// <summary><c>1D</c>: calendar days.</summary>
    Day,

    /// <summary><c>1MS</c>: months, labelled by their first day.</summary>
    MonthStart,

    /// <summary><c>1YS</c>: years, labelled by their first day.</summary>
    YearStart,
}

public sealed record ReduceSpec
{
    /// <summary>Dimensions reduced away (dataset names or the aliases lat/lon/level).</summary>
    public required IReadOnlyList<string> Dims { get; init; }

    public required IReadOnlyList<ReduceOp> Ops { get; init; }

    public TimeGrouping GroupBy { get; init; }

    public ResampleFrequency Resample { get; init; }
}

public enum OutputFormat
{
    Json,
    Csv,
    NetCdf,
}

public sealed record OutputSpec
{
    public OutputFormat Format { get; init; } = OutputFormat.Json;
}
