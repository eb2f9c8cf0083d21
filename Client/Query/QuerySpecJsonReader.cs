using System.Globalization;
using System.Text.Json;

namespace Proxima.Client.Internal;

/// <summary>Reads QuerySpec v1 JSON (DESIGN.md §4) into a <see cref="ProximaQuery"/>; the router validates the values.</summary>
internal static class QuerySpecJsonReader
{
    public static ProximaQuery Read(string json, ProximaQuery query)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("A QuerySpec is a JSON object.");
        }

        foreach (var p in root.EnumerateObject())
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "datasets":
                    foreach (var d in Array(v, "datasets"))
                    {
                        query.Dataset(Text(d, "datasets[]"));
                    }

                    break;
                case "variable": query.Variable(Text(v, "variable")); break;
                case "select":
                    Object(v, "select");
                    foreach (var s in v.EnumerateObject())
                    {
                        ReadSelection(query, s.Name, s.Value);
                    }

                    break;
                case "points":
                    foreach (var pt in Array(v, "points"))
                    {
                        Object(pt, "points[]");
                        var name = pt.TryGetProperty("name", out var n) ? Text(n, "points[].name") : string.Empty;
                        query.Points(new GeoPoint(name, Number(pt, "lat", "points[]"), Number(pt, "lon", "points[]")));
                    }

                    break;
                case "transform":
                    Object(v, "transform");
                    query.Transform(v.TryGetProperty("scale", out var sc) ? sc.GetDouble() : 1.0, v.TryGetProperty("offset", out var of) ? of.GetDouble() : 0.0,
                        v.TryGetProperty("units", out var u) ? Text(u, "transform.units") : null);
                    break;
                case "reduce":
                    Object(v, "reduce");
                    var dims = new List<string>();
                    if (v.TryGetProperty("dims", out var ds))
                    {
                        foreach (var d in Array(ds, "reduce.dims"))
                        {
                            dims.Add(Text(d, "reduce.dims[]"));
                        }
                    }

                    if (v.TryGetProperty("ops", out var ops))
                    {
                        foreach (var o in Array(ops, "reduce.ops"))
                        {
                            query.Reduce(Text(o, "reduce.ops[]"), [.. dims]);
                        }
                    }

                    if (v.TryGetProperty("groupby", out var g) && g.ValueKind != JsonValueKind.Null)
                    {
                        query.GroupBy(Text(g, "reduce.groupby"));
                    }

                    if (v.TryGetProperty("resample", out var r) && r.ValueKind != JsonValueKind.Null)
                    {
                        query.Resample(Text(r, "reduce.resample"));
                    }

                    break;
                case "output":
                    Object(v, "output");
                    if (v.TryGetProperty("format", out var f))
                    {
                        query.Format(Text(f, "output.format"));
                    }

                    break;
                case "allow_partial": query.AllowPartial(v.ValueKind == JsonValueKind.True); break;
                case "deadline_ms": query.Deadline(TimeSpan.FromMilliseconds(v.GetInt64())); break;
                default: throw new FormatException($"Unknown QuerySpec field '{p.Name}' (expected datasets, variable, select, points, transform, reduce, output, allow_partial, deadline_ms).");
            }
        }

        return query;
    }

    private static void ReadSelection(ProximaQuery query, string dim, JsonElement v)
    {
        var field = "select." + dim;
        switch (v.ValueKind)
        {
            case JsonValueKind.Array when v.GetArrayLength() == 2:
                query.SelectRange(dim, Scalar(v[0], field), Scalar(v[1], field));
                break;
            case JsonValueKind.Array:
                query.SelectValues(dim, [.. v.EnumerateArray().Select(e => Scalar(e, field))]);
                break;
            case JsonValueKind.Object when v.TryGetProperty("values", out var values):
                query.SelectValues(dim, [.. Array(values, field + ".values").Select(e => Scalar(e, field))]);
                break;
            case JsonValueKind.Object:
                query.SelectRange(dim, Scalar(v.GetProperty("start"), field), Scalar(v.GetProperty("stop"), field));
                break;
            default:
                query.SelectValues(dim, [Scalar(v, field)]);
                break;
        }
    }

    private static string Scalar(JsonElement e, string field) => e.ValueKind switch
    {
        JsonValueKind.Number => e.GetDouble().ToString("R", CultureInfo.InvariantCulture),
        JsonValueKind.String => e.GetString()!,
        _ => throw new FormatException($"'{field}': expected a number or an ISO-8601 string, got {e.ValueKind}."),
    };

    private static string Text(JsonElement e, string field) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new FormatException($"'{field}': expected a string, got {e.ValueKind}.");

    private static double Number(JsonElement e, string name, string field) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw new FormatException($"'{field}.{name}': expected a number.");

    private static JsonElement.ArrayEnumerator Array(JsonElement e, string field) =>
        e.ValueKind == JsonValueKind.Array ? e.EnumerateArray() : throw new FormatException($"'{field}': expected an array, got {e.ValueKind}.");

    private static void Object(JsonElement e, string field)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"'{field}': expected an object, got {e.ValueKind}.");
        }
    }
}
