using System.Text.Json;

namespace Proxima.Client;

/// <summary>One dataset of the catalog (a STAC item of <c>GET /v1/datasets</c>). A dataset split across
/// regions appears once per part.</summary>
public sealed class CatalogItem
{
    internal CatalogItem(string id, string? title, string? region, string? format, IReadOnlyList<double>? bbox,
        string? start, string? end, string? calendar, long? bytes, IReadOnlyList<CatalogVariable> variables,
        IReadOnlyList<CatalogDimension> dimensions, JsonElement raw)
    {
        Id = id;
        Title = title;
        Region = region;
        Format = format;
        BBox = bbox;
        Start = start;
        End = end;
        Calendar = calendar;
        Bytes = bytes;
        Variables = variables;
        Dimensions = dimensions;
        Raw = raw;
    }

    /// <summary>The dataset id, as queries name it.</summary>
    public string Id { get; }

    /// <summary>The dataset's title attribute, if any.</summary>
    public string? Title { get; }

    /// <summary>The region holding (this part of) the dataset (<c>proxima:region</c>).</summary>
    public string? Region { get; }

    /// <summary>Storage format (<c>zarr-v2</c>, <c>zarr-v3</c>, <c>netcdf</c>, <c>kerchunk</c>).</summary>
    public string? Format { get; }

    /// <summary>Bounding box [west, south, east, north] in degrees.</summary>
    public IReadOnlyList<double>? BBox { get; }

    /// <summary>First time label (ISO-8601 in <see cref="Calendar"/>), if the dataset has time.</summary>
    public string? Start { get; }

    /// <summary>Last time label (ISO-8601 in <see cref="Calendar"/>), if the dataset has time.</summary>
    public string? End { get; }

    /// <summary>The CF calendar of the time axis.</summary>
    public string? Calendar { get; }

    /// <summary>Stored bytes.</summary>
    public long? Bytes { get; }

    /// <summary>Data variables (<c>cube:variables</c>).</summary>
    public IReadOnlyList<CatalogVariable> Variables { get; }

    /// <summary>Dimensions (<c>cube:dimensions</c>).</summary>
    public IReadOnlyList<CatalogDimension> Dimensions { get; }

    /// <summary>The STAC feature as the router sent it.</summary>
    public JsonElement Raw { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Id} [{Region}] {Start}..{End}";
}

/// <summary>A data variable of a catalog item.</summary>
/// <param name="Name">Name in the store.</param>
/// <param name="Dims">Dimension names.</param>
/// <param name="Shape">Dimension lengths.</param>
/// <param name="Units">Units attribute.</param>
/// <param name="StandardName">CF standard_name.</param>
/// <param name="LongName">long_name / description.</param>
/// <param name="DType">Stored dtype.</param>
public sealed record CatalogVariable(string Name, IReadOnlyList<string> Dims, IReadOnlyList<long> Shape, string? Units, string? StandardName, string? LongName, string? DType);

/// <summary>A dimension of a catalog item.</summary>
/// <param name="Name">Dimension name.</param>
/// <param name="Type"><c>spatial</c>, <c>temporal</c> or another STAC datacube type.</param>
/// <param name="Axis">x, y, z for spatial dimensions.</param>
/// <param name="Size">Length.</param>
/// <param name="Extent">Extent as text ([min, max]).</param>
/// <param name="Unit">Units.</param>
public sealed record CatalogDimension(string Name, string? Type, string? Axis, long? Size, IReadOnlyList<string> Extent, string? Unit);
