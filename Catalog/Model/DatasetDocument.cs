using System.Text.Json.Serialization;

namespace Proxima.Catalog;

/// <summary>How a dataset is stored on its region's file system.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<DatasetFormat>))]
public enum DatasetFormat
{
    [JsonStringEnumMemberName("zarr-v2")] ZarrV2,
    [JsonStringEnumMemberName("zarr-v3")] ZarrV3,
    [JsonStringEnumMemberName("netcdf-collection")] NetCdfCollection,
    [JsonStringEnumMemberName("kerchunk")] Kerchunk,
}

/// <summary>
/// One catalog document: one dataset (a Zarr store, a kerchunk reference set or a NetCDF collection)
/// in one region (DESIGN.md §3). A dataset split across regions has one document per region, same
/// <see cref="Id"/>, disjoint <see cref="Time"/> ranges.
/// </summary>
public sealed record DatasetDocument
{
    /// <summary>Store path relative to the region root without extension, or the store's <c>proxima_id</c> attribute.</summary>
    public required string Id { get; init; }

    public required string Region { get; init; }

    /// <summary>Worker pool that serves this dataset in its region (default: the region name).</summary>
    public string? Pool { get; init; }

    /// <summary>Location of the store, relative to the region root, <c>/</c>-separated (e.g. <c>reanalysis/era5/t2m.zarr</c>).</summary>
    public required string Uri { get; init; }

    public required DatasetFormat Format { get; init; }

    public IReadOnlyList<VariableInfo> Variables { get; init; } = [];

    /// <summary>Dimensions (coordinate extents) as read from the coordinate arrays.</summary>
    public IReadOnlyList<DimensionInfo> Dimensions { get; init; } = [];

    /// <summary>[west, south, east, north] in the dataset's own longitude convention; null when the dataset has no lat/lon.</summary>
    public BoundingBox? Bbox { get; init; }

    public TimeExtent? Time { get; init; }

    /// <summary>Total stored bytes of the dataset (chunks + metadata) as seen by the scanner.</summary>
    public long Bytes { get; init; }

    /// <summary>Number of chunks over all data variables (from shapes and chunk shapes).</summary>
    public long Chunks { get; init; }

    /// <summary>Hash of the metadata files' names, sizes and mtimes; equal fingerprint = unchanged dataset.</summary>
    public required string Fingerprint { get; init; }

    /// <summary>Newest mtime among the metadata files.</summary>
    public DateTimeOffset Modified { get; init; }

    /// <summary>The sync run that wrote this document.</summary>
    public string? SyncRun { get; init; }

    /// <summary>For a dataset split across regions: a label for the slice this region holds (attr <c>proxima_part</c>), else null.</summary>
    public string? Part { get; init; }

    /// <summary>Groups allowed to see the dataset; empty = public.</summary>
    public IReadOnlyList<string> Acl { get; init; } = [];

    /// <summary>Selected global attributes (title, institution, source, summary, ...).</summary>
    public IReadOnlyDictionary<string, string> Attrs { get; init; } = new Dictionary<string, string>();
}

/// <summary>One data variable of a dataset.</summary>
public sealed record VariableInfo
{
    public required string Name { get; init; }
    public IReadOnlyList<string> Dims { get; init; } = [];
    public IReadOnlyList<long> Shape { get; init; } = [];
    public IReadOnlyList<long> Chunks { get; init; } = [];
    /// <summary>numpy-style dtype string, e.g. <c>&lt;f4</c>.</summary>
    public string Dtype { get; init; } = "";
    public string? Units { get; init; }
    [JsonPropertyName("standard_name")] public string? StandardName { get; init; }
    [JsonPropertyName("long_name")] public string? LongName { get; init; }
}

/// <summary>A dimension with its coordinate extent, as needed for STAC <c>cube:dimensions</c> and for planning.</summary>
public sealed record DimensionInfo
{
    public required string Name { get; init; }
    public long Size { get; init; }
    /// <summary><c>x</c>, <c>y</c>, <c>z</c>, <c>t</c> or null for other dimensions.</summary>
    public string? Axis { get; init; }
    /// <summary>Numeric extent [first, last] as stored (descending latitude keeps first &gt; last); null for time.</summary>
    public double? First { get; init; }
    public double? Last { get; init; }
    /// <summary>Regular step (signed) when the coordinate is evenly spaced.</summary>
    public double? Step { get; init; }
    public string? Units { get; init; }
}

/// <summary>Time coverage in the dataset's calendar, ISO-8601 strings (<c>2000-02-30T00:00:00</c> is valid in <c>360_day</c>).</summary>
public sealed record TimeExtent
{
    public required string Start { get; init; }
    public required string End { get; init; }
    public string Calendar { get; init; } = "standard";
    /// <summary>ISO-8601 duration of a regular step (e.g. <c>PT1H</c>, <c>P1D</c>, <c>P1M</c>), null if irregular.</summary>
    public string? Step { get; init; }

    /// <summary>Sortable key of <see cref="Start"/> (see <see cref="TimeKey"/>).</summary>
    [JsonIgnore] public long StartKey => TimeKey.Parse(Start, TimeKey.Bound.Start);

    /// <summary>Sortable key of <see cref="End"/> (see <see cref="TimeKey"/>).</summary>
    [JsonIgnore] public long EndKey => TimeKey.Parse(End, TimeKey.Bound.End);
}

/// <summary>What the scanner remembers per live dataset to decide "unchanged" with a stat.</summary>
public sealed record DatasetFingerprint(string Id, string Uri, string Fingerprint);

/// <summary>Checks a document before it is written, with messages that name the dataset and the field.</summary>
public static class DatasetValidation
{
    /// <exception cref="ArgumentException">The document is not storable.</exception>
    public static void Validate(DatasetDocument d)
    {
        ArgumentNullException.ThrowIfNull(d);
        if (string.IsNullOrWhiteSpace(d.Id) || d.Id.Length > 512)
        {
            throw new ArgumentException($"dataset '{d.Id}' (uri '{d.Uri}'): id must be 1..512 characters");
        }

        if (string.IsNullOrWhiteSpace(d.Uri))
        {
            throw new ArgumentException($"dataset '{d.Id}': uri is empty");
        }

        if (string.IsNullOrWhiteSpace(d.Fingerprint))
        {
            throw new ArgumentException($"dataset '{d.Id}': fingerprint is empty");
        }

        if (d.Time is { } t)
        {
            if (!TimeKey.TryParse(t.Start, TimeKey.Bound.Start, out long s) || !TimeKey.TryParse(t.End, TimeKey.Bound.End, out long e))
            {
                throw new ArgumentException($"dataset '{d.Id}': time.start '{t.Start}' / time.end '{t.End}' must be ISO-8601 date-times");
            }

            if (s > e)
            {
                throw new ArgumentException($"dataset '{d.Id}': time.start '{t.Start}' is after time.end '{t.End}'");
            }
        }
    }
}
