using System.Globalization;
using System.Text.Json;
using Proxima.Protocol.V1;

namespace Proxima.Client.Internal;

/// <summary>Builds typed results from the router's JSON answer and from the gRPC message; both give the same objects.</summary>
internal static class ResultReaders
{
    public static QueryResults FromProto(QueryResponse response)
    {
        var results = new List<DatasetResult>(response.Results.Count);
        foreach (var r in response.Results)
        {
            var attrs = new Dictionary<string, string>(r.Attrs, StringComparer.Ordinal);
            attrs.TryGetValue("calendar", out var calendar);
            var dims = r.Dims.ToArray();
            var shape = ToShape(r.Shape, r.Dataset);
            var coords = new List<ResultCoordinate>();
            foreach (var c in r.Coords)
            {
                var values = c.Values.Count > 0 ? c.Values.ToArray() : null;
                var labels = c.Labels.Count > 0 ? c.Labels.ToArray() : null;
                coords.Add(new ResultCoordinate(c.Name, DimOf(c.Name, c.Values.Count + c.Labels.Count, dims, shape),
                    labels is null ? values ?? [] : null, labels, string.IsNullOrEmpty(c.Calendar) ? calendar : c.Calendar));
            }

            var data = new Dictionary<string, LabeledArray>(StringComparer.Ordinal);
            foreach (var (op, array) in r.Data)
            {
                data[op] = new LabeledArray(op, dims, shape, array.Values.ToArray());
            }

            results.Add(new DatasetResult(r.Dataset, r.Variable, dims, shape, coords, Ordered(data), attrs, r.Partial, r.Missing.ToArray()));
        }

        return new QueryResults(results, Stats(response.Stats));
    }

    public static QueryResults FromJson(ReadOnlySpan<byte> utf8)
    {
        using var doc = JsonDocument.Parse(utf8.ToArray());
        var root = doc.RootElement;
        var results = new List<DatasetResult>();
        foreach (var r in root.GetProperty("results").EnumerateArray())
        {
            var dataset = r.GetProperty("dataset").GetString()!;
            var attrs = new Dictionary<string, string>(StringComparer.Ordinal);
            if (r.TryGetProperty("attrs", out var a) && a.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in a.EnumerateObject())
                {
                    attrs[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
                }
            }

            attrs.TryGetValue("calendar", out var calendar);
            var dimList = new List<string>();
            foreach (var d in r.GetProperty("dims").EnumerateArray())
            {
                dimList.Add(d.GetString()!);
            }

            var dims = dimList.ToArray();
            var shapeList = new List<long>();
            foreach (var s in r.GetProperty("shape").EnumerateArray())
            {
                shapeList.Add(s.GetInt64());
            }

            var shape = ToShape(shapeList, dataset);
            var coords = new List<ResultCoordinate>();
            foreach (var c in r.GetProperty("coords").EnumerateObject())
            {
                var n = c.Value.GetArrayLength();
                string[]? labels = null;
                double[]? values = null;
                var i = 0;
                foreach (var v in c.Value.EnumerateArray())
                {
                    if (v.ValueKind == JsonValueKind.String)
                    {
                        labels ??= new string[n];
                        labels[i] = v.GetString()!;
                    }
                    else
                    {
                        values ??= new double[n];
                        values[i] = v.ValueKind == JsonValueKind.Null ? double.NaN : v.GetDouble();
                    }

                    i++;
                }

                coords.Add(new ResultCoordinate(c.Name, DimOf(c.Name, n, dims, shape), labels is null ? values ?? [] : null, labels, calendar));
            }

            var data = new Dictionary<string, LabeledArray>(StringComparer.Ordinal);
            foreach (var p in r.GetProperty("data").EnumerateObject())
            {
                var values = new double[p.Value.GetArrayLength()];
                var i = 0;
                foreach (var v in p.Value.EnumerateArray())
                {
                    values[i++] = v.ValueKind == JsonValueKind.Null ? double.NaN : v.GetDouble();
                }

                data[p.Name] = new LabeledArray(p.Name, dims, shape, values);
            }

            var missing = new List<string>();
            if (r.TryGetProperty("missing", out var m) && m.ValueKind == JsonValueKind.Array)
            {
                foreach (var x in m.EnumerateArray())
                {
                    missing.Add(x.GetString()!);
                }
            }

            var partial = r.TryGetProperty("partial", out var pa) && pa.ValueKind == JsonValueKind.True;
            results.Add(new DatasetResult(dataset, r.GetProperty("variable").GetString()!, dims, shape, coords, Ordered(data), attrs, partial, missing));
        }

        var regions = new Dictionary<string, RegionStatistics>(StringComparer.Ordinal);
        long cross = 0;
        double ms = 0;
        if (root.TryGetProperty("stats", out var stats))
        {
            cross = stats.TryGetProperty("bytes_cross_region", out var b) ? b.GetInt64() : 0;
            ms = stats.TryGetProperty("ms", out var t) ? t.GetDouble() : 0;
            if (stats.TryGetProperty("regions", out var rs))
            {
                foreach (var p in rs.EnumerateObject())
                {
                    regions[p.Name] = new RegionStatistics(
                        p.Value.TryGetProperty("chunks", out var c) ? c.GetInt64() : 0,
                        p.Value.TryGetProperty("bytes_read", out var br) ? br.GetInt64() : 0,
                        p.Value.TryGetProperty("ms", out var rm) ? rm.GetDouble() : 0);
                }
            }
        }

        return new QueryResults(results, new QueryStatistics(cross, regions, ms));
    }

    public static List<CatalogItem> CatalogItems(ReadOnlySpan<byte> utf8)
    {
        using var doc = JsonDocument.Parse(utf8.ToArray());
        var items = new List<CatalogItem>();
        foreach (var f in doc.RootElement.GetProperty("features").EnumerateArray())
        {
            var props = f.GetProperty("properties");
            List<double>? bbox = null;
            if (f.TryGetProperty("bbox", out var b) && b.ValueKind == JsonValueKind.Array)
            {
                bbox = [];
                foreach (var v in b.EnumerateArray())
                {
                    bbox.Add(v.GetDouble());
                }
            }

            var variables = new List<CatalogVariable>();
            if (props.TryGetProperty("cube:variables", out var vs) && vs.ValueKind == JsonValueKind.Object)
            {
                foreach (var v in vs.EnumerateObject())
                {
                    variables.Add(new CatalogVariable(v.Name, Strings(v.Value, "dimensions"), Longs(v.Value, "proxima:shape"),
                        Text(v.Value, "unit"), Text(v.Value, "proxima:standard_name"), Text(v.Value, "description"), Text(v.Value, "proxima:dtype")));
                }
            }

            var dimensions = new List<CatalogDimension>();
            if (props.TryGetProperty("cube:dimensions", out var ds) && ds.ValueKind == JsonValueKind.Object)
            {
                foreach (var d in ds.EnumerateObject())
                {
                    var extent = new List<string>();
                    if (d.Value.TryGetProperty("extent", out var e) && e.ValueKind == JsonValueKind.Array)
                    {
                        foreach (var x in e.EnumerateArray())
                        {
                            extent.Add(x.ValueKind == JsonValueKind.String ? x.GetString()! : x.GetRawText());
                        }
                    }

                    dimensions.Add(new CatalogDimension(d.Name, Text(d.Value, "type"), Text(d.Value, "axis"),
                        d.Value.TryGetProperty("proxima:size", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt64() : null,
                        extent, Text(d.Value, "unit")));
                }
            }

            items.Add(new CatalogItem(f.GetProperty("id").GetString()!, Text(props, "title"), Text(props, "proxima:region"),
                Text(props, "proxima:format"), bbox, Text(props, "start_datetime") ?? Text(props, "datetime"), Text(props, "end_datetime"),
                Text(props, "proxima:calendar"),
                props.TryGetProperty("proxima:bytes", out var by) && by.ValueKind == JsonValueKind.Number ? by.GetInt64() : null,
                variables, dimensions, f.Clone()));
        }

        return items;
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static List<string> Strings(JsonElement e, string name)
    {
        var list = new List<string>();
        if (e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array)
        {
            foreach (var x in v.EnumerateArray())
            {
                list.Add(x.GetString() ?? string.Empty);
            }
        }

        return list;
    }

    private static List<long> Longs(JsonElement e, string name)
    {
        var list = new List<long>();
        if (e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array)
        {
            foreach (var x in v.EnumerateArray())
            {
                list.Add(x.GetInt64());
            }
        }

        return list;
    }

    private static QueryStatistics Stats(QueryStats? stats)
    {
        var regions = new Dictionary<string, RegionStatistics>(StringComparer.Ordinal);
        if (stats is null)
        {
            return new QueryStatistics(0, regions, 0);
        }

        foreach (var (name, r) in stats.Regions)
        {
            regions[name] = new RegionStatistics(r.Chunks, r.BytesRead, r.Ms);
        }

        return new QueryStatistics(stats.BytesCrossRegion, regions, stats.Ms);
    }

    private static int[] ToShape(IEnumerable<long> shape, string dataset)
    {
        var list = new List<int>();
        foreach (var s in shape)
        {
            list.Add(s is >= 0 and <= int.MaxValue ? (int)s : throw new ProximaException($"Result for '{dataset}' has an invalid dimension length {s.ToString(CultureInfo.InvariantCulture)}."));
        }

        return [.. list];
    }

    /// <summary>A coordinate named like a dim runs along it; others (the cells chosen for points) run along <c>point</c>.</summary>
    private static string DimOf(string name, int length, string[] dims, int[] shape)
    {
        var i = Array.IndexOf(dims, name);
        if (i >= 0)
        {
            return name;
        }

        var point = Array.IndexOf(dims, "point");
        if (point >= 0 && shape[point] == length)
        {
            return "point";
        }

        for (var d = 0; d < dims.Length; d++)
        {
            if (shape[d] == length)
            {
                return dims[d];
            }
        }

        return name;
    }

    /// <summary>Ops in a stable order (the order of DESIGN.md §4), so JSON and gRPC results list them alike.</summary>
    private static Dictionary<string, LabeledArray> Ordered(Dictionary<string, LabeledArray> data)
    {
        string[] order = ["values", "mean", "std", "min", "max", "sum", "count"];
        var result = new Dictionary<string, LabeledArray>(StringComparer.Ordinal);
        foreach (var op in order)
        {
            if (data.TryGetValue(op, out var a))
            {
                result[op] = a;
            }
        }

        foreach (var (op, a) in data)
        {
            result.TryAdd(op, a);
        }

        return result;
    }
}
