using System.Buffers;
using System.Text.Json;

namespace Proxima.Compute.Query;

/// <summary>Writes a <see cref="QuerySpec"/> back to the JSON of DESIGN.md §4 (parses back to an equal spec).</summary>
public static class QuerySpecWriter
{
    /// <summary>The spec as UTF-8 JSON bytes.</summary>
    public static byte[] ToUtf8(QuerySpec spec)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer))
        {
            Write(w, spec);
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The spec as a JSON string.</summary>
    public static string ToJson(QuerySpec spec) => System.Text.Encoding.UTF8.GetString(ToUtf8(spec));

    /// <summary>Writes the spec as one JSON object.</summary>
    public static void Write(Utf8JsonWriter w, QuerySpec spec)
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
            foreach (var s in spec.Select)
            {
                w.WritePropertyName(s.Dim);
                if (s.Values is { } values)
                {
                    // Two exact values would read back as a range: use the object form.
                    var objectForm = values.Count == 2;
                    if (objectForm)
                    {
                        w.WriteStartObject();
                        w.WritePropertyName("values");
                    }

                    w.WriteStartArray();
                    foreach (var v in values)
                    {
                        WriteCoord(w, v);
                    }

                    w.WriteEndArray();
                    if (objectForm)
                    {
                        w.WriteEndObject();
                    }
                }
                else
                {
                    w.WriteStartArray();
                    WriteCoord(w, s.Start);
                    WriteCoord(w, s.Stop);
                    w.WriteEndArray();
                }
            }

            w.WriteEndObject();
        }

        if (spec.Points.Count > 0)
        {
            w.WriteStartArray("points");
            foreach (var p in spec.Points)
            {
                w.WriteStartObject();
                if (p.Name is not null)
                {
                    w.WriteString("name", p.Name);
                }

                w.WriteNumber("lat", p.Lat);
                w.WriteNumber("lon", p.Lon);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        if (spec.Transform is { } t)
        {
            w.WriteStartObject("transform");
            w.WriteNumber("scale", t.Scale);
            w.WriteNumber("offset", t.Offset);
            if (t.Units is not null)
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
            foreach (var op in r.Ops)
            {
                w.WriteStringValue(OpName(op));
            }

            w.WriteEndArray();
            if (r.GroupBy != TimeGrouping.None)
            {
                w.WriteString("groupby", GroupByName(r.GroupBy));
            }

            if (r.Resample != ResampleFrequency.None)
            {
                w.WriteString("resample", ResampleName(r.Resample));
            }

            w.WriteEndObject();
        }

        w.WriteStartObject("output");
        w.WriteString("format", spec.Output.Format switch
        {
            OutputFormat.Csv => "csv",
            OutputFormat.NetCdf => "netcdf",
            _ => "json",
        });
        w.WriteEndObject();
        w.WriteBoolean("allow_partial", spec.AllowPartial);
        if (spec.DeadlineMs is { } deadline)
        {
            w.WriteNumber("deadline_ms", deadline);
        }

        w.WriteEndObject();
    }

    /// <summary>The JSON name of an op (<c>mean</c>, <c>std</c>, ...).</summary>
    public static string OpName(ReduceOp op) => op switch
    {
        ReduceOp.Mean => "mean",
        ReduceOp.Std => "std",
        ReduceOp.Var => "var",
        ReduceOp.Min => "min",
        ReduceOp.Max => "max",
        ReduceOp.Sum => "sum",
        _ => "count",
    };

    internal static string GroupByName(TimeGrouping g) => g switch
    {
        TimeGrouping.Month => "time.month",
        TimeGrouping.Season => "time.season",
        TimeGrouping.Year => "time.year",
        TimeGrouping.DayOfYear => "time.dayofyear",
        TimeGrouping.Hour => "time.hour",
        _ => "",
    };

    internal static string ResampleName(ResampleFrequency r) => r switch
    {
        ResampleFrequency.Day => "1D",
        ResampleFrequency.MonthStart => "1MS",
        ResampleFrequency.YearStart => "1YS",
        _ => "",
    };

    private static void WriteCoord(Utf8JsonWriter w, CoordValue? v)
    {
        if (v is not { } c)
        {
            w.WriteNullValue();
        }
        else if (c.IsText)
        {
            w.WriteStringValue(c.Text);
        }
        else
        {
            w.WriteNumberValue(c.Number);
        }
    }
}
