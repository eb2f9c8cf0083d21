using System.Text;
using System.Text.Json;

namespace Proxima.Catalog.Search;

/// <summary>
/// Writes catalog documents as STAC 1.0 Items / ItemCollections with the datacube extension
/// (<c>cube:dimensions</c>, <c>cube:variables</c>) and <c>proxima:*</c> properties (DESIGN.md §3).
/// <c>start_datetime</c>/<c>end_datetime</c> are RFC 3339 (Gregorian; non-standard calendar days beyond a
/// month's Gregorian length are clamped); the exact calendar strings are in <c>cube:dimensions.time.extent</c>
/// and <c>proxima:calendar</c>. Geometry crossing the antimeridian is a MultiPolygon split at ±180 (RFC 7946 §3.1.9).
/// </summary>
public static class StacWriter
{
    private const string StacVersion = "1.0.0";
    private const string DatacubeExtension = "https://stac-extensions.github.io/datacube/v2.2.0/schema.json";

    /// <summary>
    /// Writes a FeatureCollection for a search page. <paramref name="requestUri"/> is the request URL (self link);
    /// the next link is the same URL with <c>token</c> replaced. Item links point at <c>{origin}/v1/datasets/{id}</c>.
    /// </summary>
    public static void WriteItemCollection(Utf8JsonWriter writer, SearchPage page, Uri requestUri)
    {
        writer.WriteStartObject();
        writer.WriteString("type", "FeatureCollection");
        writer.WriteNumber("numberMatched", page.NumberMatched);
        writer.WriteNumber("numberReturned", page.Items.Count);
        writer.WriteStartArray("features");
        foreach (var d in page.Items)
        {
            WriteItem(writer, [d], requestUri);
        }

        writer.WriteEndArray();
        writer.WriteStartArray("links");
        WriteLink(writer, "self", requestUri.ToString());
        if (page.NextToken is not null)
        {
            WriteLink(writer, "next", WithToken(requestUri, page.NextToken).ToString());
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>Serializes <see cref="WriteItemCollection"/> to UTF-8 bytes.</summary>
    public static byte[] ItemCollectionToUtf8(SearchPage page, Uri requestUri)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            WriteItemCollection(w, page, requestUri);
        }

        return ms.ToArray();
    }

    /// <summary>
    /// Writes one Item for a dataset given all its parts (from <see cref="ICatalog.GetDatasetAsync"/>): the bbox is the
    /// union, the time the full span, <c>proxima:region</c> the first part's region and <c>proxima:parts</c> lists every
    /// part (region, time range, uri) when there is more than one.
    /// </summary>
    public static void WriteItem(Utf8JsonWriter writer, IReadOnlyList<DatasetDocument> parts, Uri requestUri)
    {
        if (parts.Count == 0)
        {
            throw new ArgumentException("a dataset needs at least one part", nameof(parts));
        }

        var d = parts[0];
        writer.WriteStartObject();
        writer.WriteString("type", "Feature");
        writer.WriteString("stac_version", StacVersion);
        writer.WriteStartArray("stac_extensions");
        writer.WriteStringValue(DatacubeExtension);
        writer.WriteEndArray();
        writer.WriteString("id", d.Id);

        BoundingBox? bbox = d.Bbox;
        for (int i = 1; i < parts.Count; i++)
        {
            if (parts[i].Bbox is { } b && bbox is not null && !b.Equals(bbox))
            {
                bbox = Union(bbox, b);
            }
        }

        if (bbox is not null)
        {
            writer.WritePropertyName("bbox");
            writer.WriteStartArray();
            // STAC wants -180..180; a dataset that goes all the way round (0..360 grids) is -180..180,
            // not the degenerate [0, s, 0, n] that wrapping both ends would give.
            var global = bbox.Width >= 360;
            writer.WriteNumberValue(global ? -180 : bbox.West > 180 ? bbox.West - 360 : bbox.West);
            writer.WriteNumberValue(bbox.South);
            writer.WriteNumberValue(global ? 180 : bbox.East > 180 ? bbox.East - 360 : bbox.East);
            writer.WriteNumberValue(bbox.North);
            writer.WriteEndArray();
            WriteGeometry(writer, bbox);
        }
        else
        {
            writer.WriteNull("geometry");
        }

        writer.WriteStartObject("properties");
        long? tStart = null, tEnd = null;
        string? first = null, last = null;
        foreach (var p in parts)
        {
            if (p.Time is { } t)
            {
                if (tStart is null || t.StartKey < tStart)
                {
                    tStart = t.StartKey;
                    first = t.Start;
                }

                long end = TimeKey.Parse(t.End, TimeKey.Bound.Start); // the last timestamp itself, not its inclusive-end key
                if (tEnd is null || end > tEnd)
                {
                    tEnd = end;
                    last = t.End;
                }
            }
        }

        writer.WriteNull("datetime");
        if (tStart is not null)
        {
            writer.WriteString("start_datetime", TimeKey.Format(tStart.Value));
            writer.WriteString("end_datetime", TimeKey.Format(tEnd!.Value));
        }

        writer.WriteString("proxima:region", d.Region);
        writer.WriteString("proxima:pool", d.Pool ?? d.Region);
        writer.WriteString("proxima:format", FormatName(d.Format));
        writer.WriteString("proxima:uri", d.Uri);
        if (d.Time is not null)
        {
            writer.WriteString("proxima:calendar", d.Time.Calendar);
        }

        writer.WriteNumber("proxima:bytes", Sum(parts, static p => p.Bytes));
        writer.WriteNumber("proxima:chunks", Sum(parts, static p => p.Chunks));
        writer.WriteString("updated", d.Modified.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
        if (d.SyncRun is not null)
        {
            writer.WriteString("proxima:sync_run", d.SyncRun);
        }

        if (d.Part is not null)
        {
            writer.WriteString("proxima:part", d.Part);
        }

        if (parts.Count > 1)
        {
            writer.WriteStartArray("proxima:parts");
            foreach (var p in parts)
            {
                writer.WriteStartObject();
                writer.WriteString("region", p.Region);
                writer.WriteString("uri", p.Uri);
                if (p.Part is not null)
                {
                    writer.WriteString("part", p.Part);
                }

                if (p.Time is { } t)
                {
                    writer.WriteString("start", t.Start);
                    writer.WriteString("end", t.End);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
        }

        foreach (var kv in d.Attrs)
        {
            if (kv.Key is "title" or "description")
            {
                writer.WriteString(kv.Key, kv.Value);
            }
        }

        WriteCube(writer, d, first, last);
        writer.WriteEndObject(); // properties

        writer.WriteStartArray("links");
        WriteLink(writer, "self", ItemHref(requestUri, d.Id));
        writer.WriteEndArray();
        writer.WriteStartObject("assets");
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static long Sum(IReadOnlyList<DatasetDocument> parts, Func<DatasetDocument, long> f)
    {
        long s = 0;
        foreach (var p in parts)
        {
            s += f(p);
        }

        return s;
    }

    private static void WriteCube(Utf8JsonWriter writer, DatasetDocument d, string? timeFirst, string? timeLast)
    {
        writer.WriteStartObject("cube:dimensions");
        foreach (var dim in d.Dimensions)
        {
            writer.WriteStartObject(dim.Name);
            if (dim.Axis == "t")
            {
                writer.WriteString("type", "temporal");
                writer.WriteStartArray("extent");
                writer.WriteStringValue(timeFirst ?? d.Time?.Start);
                writer.WriteStringValue(timeLast ?? d.Time?.End);
                writer.WriteEndArray();
                if (d.Time?.Step is { } step)
                {
                    writer.WriteString("step", step);
                }
            }
            else
            {
                writer.WriteString("type", dim.Axis is null ? "other" : "spatial");
                if (dim.Axis is not null)
                {
                    writer.WriteString("axis", dim.Axis);
                }

                if (dim.First is { } a && dim.Last is { } b)
                {
                    writer.WriteStartArray("extent");
                    writer.WriteNumberValue(Math.Min(a, b));
                    writer.WriteNumberValue(Math.Max(a, b));
                    writer.WriteEndArray();
                }

                if (dim.Step is { } s)
                {
                    writer.WriteNumber("step", s);
                }

                if (dim.Axis is "x" or "y")
                {
                    writer.WriteNumber("reference_system", 4326);
                }
            }

            writer.WriteNumber("proxima:size", dim.Size);
            if (dim.Units is not null)
            {
                writer.WriteString("unit", dim.Units);
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();

        writer.WriteStartObject("cube:variables");
        foreach (var v in d.Variables)
        {
            writer.WriteStartObject(v.Name);
            writer.WriteString("type", "data");
            writer.WriteStartArray("dimensions");
            foreach (string dim in v.Dims)
            {
                writer.WriteStringValue(dim);
            }

            writer.WriteEndArray();
            if (v.Units is not null)
            {
                writer.WriteString("unit", v.Units);
            }

            if (v.LongName is not null)
            {
                writer.WriteString("description", v.LongName);
            }

            if (v.StandardName is not null)
            {
                writer.WriteString("proxima:standard_name", v.StandardName);
            }

            writer.WriteString("proxima:dtype", v.Dtype);
            WriteLongs(writer, "proxima:shape", v.Shape);
            WriteLongs(writer, "proxima:chunks", v.Chunks);
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    private static void WriteLongs(Utf8JsonWriter writer, string name, IReadOnlyList<long> values)
    {
        writer.WriteStartArray(name);
        foreach (long x in values)
        {
            writer.WriteNumberValue(x);
        }

        writer.WriteEndArray();
    }

    private static void WriteGeometry(Utf8JsonWriter writer, BoundingBox b)
    {
        var segs = b.LongitudeSegments();
        writer.WriteStartObject("geometry");
        writer.WriteString("type", segs.Count == 1 ? "Polygon" : "MultiPolygon");
        writer.WriteStartArray("coordinates");
        foreach (var (min, max) in segs)
        {
            if (segs.Count > 1)
            {
                writer.WriteStartArray();
            }

            writer.WriteStartArray();
            Point(writer, min, b.South);
            Point(writer, max, b.South);
            Point(writer, max, b.North);
            Point(writer, min, b.North);
            Point(writer, min, b.South);
            writer.WriteEndArray();
            if (segs.Count > 1)
            {
                writer.WriteEndArray();
            }
        }

        writer.WriteEndArray();
        writer.WriteEndObject();

        static void Point(Utf8JsonWriter w, double x, double y)
        {
            w.WriteStartArray();
            w.WriteNumberValue(x);
            w.WriteNumberValue(y);
            w.WriteEndArray();
        }
    }

    private static BoundingBox Union(BoundingBox a, BoundingBox b)
    {
        // Union in a's convention: widest of the two longitudinal spans (parts of one dataset share a grid in practice).
        return a.Width >= b.Width
            ? new BoundingBox(a.West, Math.Min(a.South, b.South), a.East, Math.Max(a.North, b.North))
            : new BoundingBox(b.West, Math.Min(a.South, b.South), b.East, Math.Max(a.North, b.North));
    }

    private static void WriteLink(Utf8JsonWriter writer, string rel, string href)
    {
        writer.WriteStartObject();
        writer.WriteString("rel", rel);
        writer.WriteString("href", href);
        writer.WriteString("type", "application/geo+json");
        writer.WriteEndObject();
    }

    /// <summary><c>{scheme}://{authority}/v1/datasets/{id}</c> with each id segment escaped.</summary>
    public static string ItemHref(Uri requestUri, string id)
    {
        var sb = new StringBuilder(requestUri.GetLeftPart(UriPartial.Authority)).Append("/v1/datasets");
        foreach (string seg in id.Split('/'))
        {
            sb.Append('/').Append(Uri.EscapeDataString(seg));
        }

        return sb.ToString();
    }

    /// <summary>The request URL with its <c>token</c> parameter set to <paramref name="token"/>.</summary>
    public static Uri WithToken(Uri requestUri, string token)
    {
        var sb = new StringBuilder();
        foreach (string part in requestUri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part.StartsWith("token=", StringComparison.Ordinal) || part == "token")
            {
                continue;
            }

            sb.Append(sb.Length == 0 ? '?' : '&').Append(part);
        }

        sb.Append(sb.Length == 0 ? '?' : '&').Append("token=").Append(Uri.EscapeDataString(token));
        return new Uri(requestUri.GetLeftPart(UriPartial.Path) + sb);
    }

    public static string FormatName(DatasetFormat format) => format switch
    {
        DatasetFormat.ZarrV2 => "zarr-v2",
        DatasetFormat.ZarrV3 => "zarr-v3",
        DatasetFormat.NetCdfCollection => "netcdf-collection",
        _ => "kerchunk",
    };
}
