using System.Globalization;
using System.Text;
using System.Text.Json;
using Proxima.Compute.Execution;

namespace Proxima.Compute.Output;

/// <summary>Per-region figures for the <c>stats</c> object (filled by the router).</summary>
public sealed record RegionStats
{
    public long Chunks { get; init; }

    public long BytesRead { get; init; }

    public double Ms { get; init; }
}

/// <summary>The top-level <c>stats</c> object of DESIGN.md §4.</summary>
public sealed record QueryStats
{
    public long BytesCrossRegion { get; init; }

    public IReadOnlyDictionary<string, RegionStats> Regions { get; init; } = new Dictionary<string, RegionStats>();
}

/// <summary>Writes results as DESIGN.md §4 JSON or as a tidy CSV table.</summary>
public static class ResultWriters
{
    /// <summary>
    /// Writes <c>{"results": [...], "stats": {...}}</c>: per result dataset, variable, dims, coords (numbers, or ISO
    /// strings for time in the dataset's calendar), shape, data {op: row-major, NaN as null}, attrs, partial, missing.
    /// </summary>
    public static void WriteJson(Utf8JsonWriter w, IReadOnlyList<QueryResult> results, QueryStats? stats = null)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(results);
        w.WriteStartObject();
        w.WriteStartArray("results");
        foreach (var r in results)
        {
            WriteResult(w, r);
        }

        w.WriteEndArray();
        stats ??= new QueryStats();
        w.WriteStartObject("stats");
        w.WriteNumber("bytes_cross_region", stats.BytesCrossRegion);
        w.WriteStartObject("regions");
        foreach (var kv in stats.Regions)
        {
            w.WriteStartObject(kv.Key);
            w.WriteNumber("chunks", kv.Value.Chunks);
            w.WriteNumber("bytes_read", kv.Value.BytesRead);
            w.WriteNumber("ms", kv.Value.Ms);
            w.WriteEndObject();
        }

        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>Writes the JSON document to a stream (UTF-8).</summary>
    public static void WriteJson(Stream stream, IReadOnlyList<QueryResult> results, QueryStats? stats = null)
    {
        using var w = new Utf8JsonWriter(stream);
        WriteJson(w, results, stats);
    }

    /// <summary>The JSON document as a string.</summary>
    public static string ToJson(IReadOnlyList<QueryResult> results, QueryStats? stats = null)
    {
        using var ms = new MemoryStream();
        WriteJson(ms, results, stats);
        return Encoding.UTF8.GetString(ms.ToArray());
    }

    private static void WriteResult(Utf8JsonWriter w, QueryResult r)
    {
        w.WriteStartObject();
        w.WriteString("dataset", r.Dataset);
        w.WriteString("variable", r.Variable);
        w.WriteStartArray("dims");
        foreach (var d in r.Dims)
        {
            w.WriteStringValue(d);
        }

        w.WriteEndArray();
        w.WriteStartObject("coords");
        foreach (var c in r.Coords)
        {
            WriteCoord(w, c);
        }

        foreach (var c in r.PointCoords)
        {
            WriteCoord(w, c);
        }

        w.WriteEndObject();
        w.WriteStartArray("shape");
        foreach (var s in r.Shape)
        {
            w.WriteNumberValue(s);
        }

        w.WriteEndArray();
        w.WriteStartObject("data");
        foreach (var kv in r.Data)
        {
            w.WriteStartArray(kv.Key);
            foreach (var v in kv.Value)
            {
                WriteNumber(w, v);
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
        w.WriteStartObject("attrs");
        foreach (var kv in r.Attrs)
        {
            w.WriteString(kv.Key, kv.Value);
        }

        w.WriteEndObject();
        w.WriteBoolean("partial", r.Partial);
        w.WriteStartArray("missing");
        foreach (var m in r.Missing)
        {
            w.WriteStringValue(m);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteCoord(Utf8JsonWriter w, ResultCoordinate c)
    {
        w.WriteStartArray(c.Name);
        if (c.Labels is { } labels)
        {
            foreach (var l in labels)
            {
                w.WriteStringValue(l);
            }
        }
        else if (c.Values is { } values)
        {
            foreach (var v in values)
            {
                WriteNumber(w, v);
            }
        }

        w.WriteEndArray();
    }

    private static void WriteNumber(Utf8JsonWriter w, double v)
    {
        if (double.IsFinite(v))
        {
            w.WriteNumberValue(v);
        }
        else
        {
            w.WriteNullValue();
        }
    }

    /// <summary>
    /// Writes a tidy CSV: one row per cell (per point×time, per grid cell, per group), columns
    /// <c>dataset,variable,&lt;dims...&gt;,&lt;point lat/lon&gt;,&lt;ops or values&gt;</c>; the header is the union of
    /// all results' columns, empty where a result lacks one. NaN is an empty field; numbers use "R" invariant format.
    /// </summary>
    public static void WriteCsv(TextWriter writer, IReadOnlyList<QueryResult> results)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(results);
        var columns = new List<string> { "dataset", "variable" };
        foreach (var r in results)
        {
            foreach (var d in r.Dims)
            {
                AddUnique(columns, d);
            }

            foreach (var c in r.PointCoords)
            {
                AddUnique(columns, c.Name);
            }
        }

        var firstData = columns.Count;
        foreach (var r in results)
        {
            foreach (var kv in r.Data)
            {
                AddUnique(columns, kv.Key);
            }
        }

        writer.Write(string.Join(",", columns.ConvertAll(Quote)));
        writer.Write('\n');
        var row = new string[columns.Count];
        foreach (var r in results)
        {
            var nd = r.Dims.Length;
            var colOfDim = new int[nd];
            for (var j = 0; j < nd; j++)
            {
                colOfDim[j] = columns.IndexOf(r.Dims[j]);
            }

            var pointDim = Array.IndexOf(r.Dims, "point");
            var cells = 1;
            foreach (var s in r.Shape)
            {
                cells *= s;
            }

            var idx = new int[nd];
            for (var cell = 0; cell < cells; cell++)
            {
                Array.Fill(row, "");
                row[0] = Quote(r.Dataset);
                row[1] = Quote(r.Variable);
                for (var j = 0; j < nd; j++)
                {
                    row[colOfDim[j]] = CoordText(r.Coords[j], idx[j]);
                }

                if (pointDim >= 0)
                {
                    foreach (var c in r.PointCoords)
                    {
                        row[columns.IndexOf(c.Name)] = CoordText(c, idx[pointDim]);
                    }
                }

                foreach (var kv in r.Data)
                {
                    row[columns.IndexOf(kv.Key, firstData)] = Num(kv.Value[cell]);
                }

                writer.Write(string.Join(",", row));
                writer.Write('\n');
                for (var j = nd - 1; j >= 0; j--)
                {
                    if (++idx[j] < r.Shape[j])
                    {
                        break;
                    }

                    idx[j] = 0;
                }
            }
        }
    }

    /// <summary>The CSV as a string.</summary>
    public static string ToCsv(IReadOnlyList<QueryResult> results)
    {
        using var sw = new StringWriter(CultureInfo.InvariantCulture);
        WriteCsv(sw, results);
        return sw.ToString();
    }

    private static void AddUnique(List<string> list, string s)
    {
        if (!list.Contains(s))
        {
            list.Add(s);
        }
    }

    private static string CoordText(ResultCoordinate c, int i) =>
        c.Labels is { } l ? Quote(l[i]) : c.Values is { } v ? Num(v[i]) : "";

    private static string Num(double v) => double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "";

    private static string Quote(string s) =>
        s.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;
}

/// <summary>The error body of DESIGN.md §4: <c>{"error": {"code", "message", "field"}}</c>.</summary>
public static class ErrorWriter
{
    /// <summary>Writes the error object for a validation failure (HTTP 400).</summary>
    public static void Write(Utf8JsonWriter w, Query.QueryValidationException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        Write(w, error.Code, error.Message, error.Field);
    }

    /// <summary>Writes an error object with any code (e.g. <c>region_unavailable</c>, <c>deadline_exceeded</c>).</summary>
    public static void Write(Utf8JsonWriter w, string code, string message, string? field)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.WriteStartObject();
        w.WriteStartObject("error");
        w.WriteString("code", code);
        w.WriteString("message", message);
        if (field is null)
        {
            w.WriteNull("field");
        }
        else
        {
            w.WriteString("field", field);
        }

        w.WriteEndObject();
        w.WriteEndObject();
    }
}
