using System.Globalization;
using System.Text.Json;
using Proxima.Protocol.V1;

namespace Proxima.QueryRouter.Grpc;

/// <summary>
/// Writes a protobuf QuerySpec as the JSON QuerySpec of DESIGN.md §4, so gRPC and HTTP queries go
/// through one parser and one set of validation rules.
/// </summary>
internal static class QuerySpecJson
{
    public static byte[] ToUtf8(QuerySpec spec)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("datasets");
            foreach (var d in spec.Datasets)
            {
                w.WriteStringValue(d);
            }

            w.WriteEndArray();
            w.WriteString("variable", spec.Variable);
            if (spec.Select.Count > 0)
            {
                w.WriteStartObject("select");
                foreach (var (dim, selection) in spec.Select)
                {
                    if (selection.KindCase == Selection.KindOneofCase.Values)
                    {
                        // Exact values as {"values": [...]}: a bare two-element array would read as a range.
                        w.WriteStartObject(dim);
                        w.WriteStartArray("values");
                        foreach (var v in selection.Values.Values)
                        {
                            WriteValue(w, v);
                        }

                        w.WriteEndArray();
                        w.WriteEndObject();
                        continue;
                    }

                    w.WriteStartArray(dim);
                    if (selection.KindCase == Selection.KindOneofCase.Range)
                    {
                        WriteValue(w, selection.Range.Start);
                        WriteValue(w, selection.Range.End);
                    }

                    w.WriteEndArray();
                }

                w.WriteEndObject();
            }

            if (spec.Points.Count > 0)
            {
                w.WriteStartArray("points");
                foreach (var p in spec.Points)
                {
                    w.WriteStartObject();
                    if (p.Name.Length > 0)
                    {
                        w.WriteString("name", p.Name);
                    }

                    w.WriteNumber("lat", p.Lat);
                    w.WriteNumber("lon", p.Lon);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            if (spec.Transform is { Present: true } t)
            {
                w.WriteStartObject("transform");
                w.WriteNumber("scale", t.Scale);
                w.WriteNumber("offset", t.Offset);
                if (t.Units.Length > 0)
                {
                    w.WriteString("units", t.Units);
                }

                w.WriteEndObject();
            }

            if (spec.Reduce is { } r)
            {
                w.WriteStartObject("reduce");
                w.WriteStartArray("dims");
                foreach (var d in r.Dims)
                {
                    w.WriteStringValue(d);
                }

                w.WriteEndArray();
                w.WriteStartArray("ops");
                foreach (var o in r.Ops)
                {
                    w.WriteStringValue(o);
                }

                w.WriteEndArray();
                if (r.Groupby.Length > 0)
                {
                    w.WriteString("groupby", r.Groupby);
                }

                if (r.Resample.Length > 0)
                {
                    w.WriteString("resample", r.Resample);
                }

                w.WriteEndObject();
            }

            if (spec.Output is { Format.Length: > 0 } o2)
            {
                w.WriteStartObject("output");
                w.WriteString("format", o2.Format);
                w.WriteEndObject();
            }

            if (spec.AllowPartial)
            {
                w.WriteBoolean("allow_partial", true);
            }

            if (spec.DeadlineMs > 0)
            {
                w.WriteNumber("deadline_ms", spec.DeadlineMs);
            }

            w.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Selection values travel as text; numbers go back to JSON numbers, times stay strings.</summary>
    private static void WriteValue(Utf8JsonWriter w, string value)
    {
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number))
        {
            w.WriteNumberValue(number);
        }
        else
        {
            w.WriteStringValue(value);
        }
    }
}
