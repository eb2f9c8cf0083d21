using System.Globalization;
using System.Text.Json;

namespace Proxima.Compute.Query;

/// <summary>
/// Strict QuerySpec v1 parser: unknown fields, wrong types, malformed ranges and unknown
/// ops/groupby/resample/format are rejected with a <see cref="QueryValidationException"/> naming the field.
/// </summary>
/// <remarks>
/// <c>select</c> accepts per dimension: <c>[a, b]</c> (inclusive range, either end may be null = open),
/// <c>[v]</c> or <c>[v1, v2, v3, ...]</c> (exact values; a list of exactly two exact values is written
/// <c>{"values": [v1, v2]}</c>), a bare scalar <c>v</c> (one exact value), <c>{"start": a, "stop": b}</c>
/// and <c>{"values": [...]}</c>. Time values are ISO-8601 texts (partial dates select whole periods, as
/// pandas/xarray do); other dimensions take numbers. For <c>lon</c>, a range with west &gt; east crosses the
/// antimeridian. <c>reduce.dims</c> defaults to <c>["time"]</c> when <c>groupby</c> or <c>resample</c> is given.
/// </remarks>
public static class QuerySpecParser
{
    /// <summary>Largest number of datasets, points or exact values accepted in one query.</summary>
    public const int MaxDatasets = 64;
    public const int MaxPoints = 10_000;
    public const int MaxValues = 100_000;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 16 };

    /// <summary>Parses UTF-8 JSON bytes into a validated <see cref="QuerySpec"/>.</summary>
    /// <exception cref="QueryValidationException">The body is not a valid QuerySpec.</exception>
    public static QuerySpec Parse(ReadOnlySpan<byte> utf8Json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(utf8Json.ToArray(), DocumentOptions);
        }
        catch (JsonException ex)
        {
            throw new QueryValidationException("bad_request", "Malformed JSON: " + ex.Message, null);
        }

        using (doc)
        {
            return ParseRoot(doc.RootElement);
        }
    }

    /// <summary>Parses a JSON text into a validated <see cref="QuerySpec"/>.</summary>
    public static QuerySpec Parse(string json) => Parse(System.Text.Encoding.UTF8.GetBytes(json));

    private static QuerySpec ParseRoot(JsonElement root)
    {
        RequireKind(root, JsonValueKind.Object, "", "object");
        IReadOnlyList<string>? datasets = null;
        string? variable = null;
        IReadOnlyList<DimensionSelection> select = [];
        IReadOnlyList<PointSpec> points = [];
        TransformSpec? transform = null;
        ReduceSpec? reduce = null;
        var output = new OutputSpec();
        var allowPartial = false;
        int? deadline = null;

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in root.EnumerateObject())
        {
            CheckDuplicate(seen, p.Name, "");
            switch (p.Name)
            {
                case "datasets": datasets = ParseDatasets(p.Value); break;
                case "variable": variable = ParseName(p.Value, "variable"); break;
                case "select": select = ParseSelect(p.Value); break;
                case "points": points = ParsePoints(p.Value); break;
                case "transform": transform = p.Value.ValueKind == JsonValueKind.Null ? null : ParseTransform(p.Value); break;
                case "reduce": reduce = p.Value.ValueKind == JsonValueKind.Null ? null : ParseReduce(p.Value); break;
                case "output": output = ParseOutput(p.Value); break;
                case "allow_partial": allowPartial = ParseBool(p.Value, "allow_partial"); break;
                case "deadline_ms":
                    var d = ParseNumber(p.Value, "deadline_ms");
                    if (d != Math.Floor(d) || d <= 0 || d > int.MaxValue)
                    {
                        throw new QueryValidationException("invalid_value", "deadline_ms must be a positive integer number of milliseconds.", "deadline_ms");
                    }

                    deadline = (int)d;
                    break;
                default:
                    throw Unknown(p.Name, "");
            }
        }

        if (datasets is null)
        {
            throw new QueryValidationException("missing_field", "Field 'datasets' is required.", "datasets");
        }

        if (variable is null)
        {
            throw new QueryValidationException("missing_field", "Field 'variable' is required.", "variable");
        }

        if (points.Count > 0)
        {
            for (var i = 0; i < select.Count; i++)
            {
                var dim = select[i].Dim;
                if (IsLatName(dim) || IsLonName(dim))
                {
                    throw new QueryValidationException("invalid_value", $"'select.{dim}' cannot be combined with 'points' (points choose lat/lon).", "select." + dim);
                }
            }
        }

        return new QuerySpec
        {
            Datasets = datasets,
            Variable = variable,
            Select = select,
            Points = points,
            Transform = transform,
            Reduce = reduce,
            Output = output,
            AllowPartial = allowPartial,
            DeadlineMs = deadline,
        };
    }

    internal static bool IsLatName(string dim) => dim is "lat" or "latitude";

    internal static bool IsLonName(string dim) => dim is "lon" or "longitude";

    internal static bool IsTimeName(string dim) => dim is "time";

    private static List<string> ParseDatasets(JsonElement e)
    {
        RequireKind(e, JsonValueKind.Array, "datasets", "array of strings");
        var n = e.GetArrayLength();
        if (n == 0)
        {
            throw new QueryValidationException("invalid_value", "'datasets' must name at least one dataset.", "datasets");
        }

        if (n > MaxDatasets)
        {
            throw new QueryValidationException("limit_exceeded", $"At most {MaxDatasets} datasets per query.", "datasets");
        }

        var list = new List<string>(n);
        var i = 0;
        foreach (var item in e.EnumerateArray())
        {
            list.Add(ParseName(item, $"datasets[{i}]"));
            i++;
        }

        return list;
    }

    private static string ParseName(JsonElement e, string field)
    {
        RequireKind(e, JsonValueKind.String, field, "string");
        var s = e.GetString()!;
        if (s.Length == 0 || s.Length > 1024)
        {
            throw new QueryValidationException("invalid_value", $"'{field}' must be a non-empty string of at most 1024 characters.", field);
        }

        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsControl(s[i]))
            {
                throw new QueryValidationException("invalid_value", $"'{field}' contains a control character.", field);
            }
        }

        return s;
    }

    private static List<DimensionSelection> ParseSelect(JsonElement e)
    {
        RequireKind(e, JsonValueKind.Object, "select", "object");
        var list = new List<DimensionSelection>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject())
        {
            var field = "select." + p.Name;
            CheckDuplicate(seen, p.Name, "select");
            if (p.Name.Length == 0 || p.Name.Length > 256)
            {
                throw new QueryValidationException("invalid_value", "Dimension names in 'select' must be 1-256 characters.", field);
            }

            var sel = ParseDimension(p.Name, p.Value, field);
            ValidateSelection(sel, field);
            list.Add(sel);
        }

        return list;
    }

    private static DimensionSelection ParseDimension(string dim, JsonElement v, string field)
    {
        var time = IsTimeName(dim);
        switch (v.ValueKind)
        {
            case JsonValueKind.Array:
                {
                    var n = v.GetArrayLength();
                    if (n == 0)
                    {
                        throw new QueryValidationException("invalid_range", $"'{field}' is empty: give [start, stop] or a list of values.", field);
                    }

                    if (n == 2)
                    {
                        var a = ParseCoord(v[0], time, field + "[0]", allowNull: true);
                        var b = ParseCoord(v[1], time, field + "[1]", allowNull: true);
                        return new DimensionSelection { Dim = dim, Start = a, Stop = b };
                    }

                    return new DimensionSelection { Dim = dim, Values = ParseValues(v, time, field) };
                }

            case JsonValueKind.Object:
                {
                    CoordValue? start = null, stop = null;
                    IReadOnlyList<CoordValue>? values = null;
                    var seen = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var p in v.EnumerateObject())
                    {
                        CheckDuplicate(seen, p.Name, field);
                        switch (p.Name)
                        {
                            case "start": start = ParseCoord(p.Value, time, field + ".start", allowNull: true); break;
                            case "stop": stop = ParseCoord(p.Value, time, field + ".stop", allowNull: true); break;
                            case "values":
                                RequireKind(p.Value, JsonValueKind.Array, field + ".values", "array");
                                if (p.Value.GetArrayLength() == 0)
                                {
                                    throw new QueryValidationException("invalid_range", $"'{field}.values' is empty.", field + ".values");
                                }

                                values = ParseValues(p.Value, time, field + ".values");
                                break;
                            default: throw Unknown(p.Name, field);
                        }
                    }

                    if (values is not null && (seen.Contains("start") || seen.Contains("stop")))
                    {
                        throw new QueryValidationException("invalid_range", $"'{field}' has both a range (start/stop) and values.", field);
                    }

                    if (values is null && !seen.Contains("start") && !seen.Contains("stop"))
                    {
                        throw new QueryValidationException("invalid_range", $"'{field}' needs start/stop or values.", field);
                    }

                    return values is not null
                        ? new DimensionSelection { Dim = dim, Values = values }
                        : new DimensionSelection { Dim = dim, Start = start, Stop = stop };
                }

            case JsonValueKind.Number:
            case JsonValueKind.String:
                return new DimensionSelection { Dim = dim, Values = [ParseCoord(v, time, field, allowNull: false)!.Value] };
            default:
                throw new QueryValidationException("invalid_type", $"'{field}' must be [start, stop], a list of values, or a value.", field);
        }
    }

    private static List<CoordValue> ParseValues(JsonElement v, bool time, string field)
    {
        var n = v.GetArrayLength();
        if (n > MaxValues)
        {
            throw new QueryValidationException("limit_exceeded", $"'{field}' lists more than {MaxValues} values.", field);
        }

        var list = new List<CoordValue>(n);
        var i = 0;
        foreach (var item in v.EnumerateArray())
        {
            list.Add(ParseCoord(item, time, $"{field}[{i}]", allowNull: false)!.Value);
            i++;
        }

        return list;
    }

    private static CoordValue? ParseCoord(JsonElement e, bool time, string field, bool allowNull)
    {
        if (e.ValueKind == JsonValueKind.Null && allowNull)
        {
            return null;
        }

        if (time)
        {
            if (e.ValueKind != JsonValueKind.String)
            {
                throw new QueryValidationException("invalid_type", $"'{field}' must be an ISO-8601 date/time string.", field);
            }

            var s = e.GetString()!;
            if (!CalendarDate.TryParseIso(s, out _, out _))
            {
                throw new QueryValidationException("invalid_value", $"'{field}' is not an ISO-8601 date/time: '{Truncate(s)}'.", field);
            }

            return CoordValue.Of(s);
        }

        if (e.ValueKind != JsonValueKind.Number)
        {
            throw new QueryValidationException("invalid_type", $"'{field}' must be a number.", field);
        }

        var d = e.GetDouble();
        if (!double.IsFinite(d))
        {
            throw new QueryValidationException("invalid_value", $"'{field}' must be finite.", field);
        }

        return CoordValue.Of(d);
    }

    private static void ValidateSelection(DimensionSelection s, string field)
    {
        var lat = IsLatName(s.Dim);
        var lon = IsLonName(s.Dim);
        if (s.Values is { } values)
        {
            for (var i = 0; i < values.Count; i++)
            {
                CheckDomain(values[i], lat, lon, $"{field}[{i}]");
            }

            return;
        }

        if (s.Start is { } a)
        {
            CheckDomain(a, lat, lon, field + "[0]");
        }

        if (s.Stop is { } b)
        {
            CheckDomain(b, lat, lon, field + "[1]");
        }

        if (s.Start is not { } lo || s.Stop is not { } hi)
        {
            if (lon && (s.Start is null || s.Stop is null) && !(s.Start is null && s.Stop is null))
            {
                // Open longitude ends are ambiguous across conventions; ask for both.
                throw new QueryValidationException("invalid_range", $"'{field}' needs both west and east for longitude.", field);
            }

            return;
        }

        if (lon)
        {
            return; // west > east crosses the antimeridian
        }

        if (lo.IsText)
        {
            CalendarDate.TryParseIso(lo.Text!, out var da, out _);
            CalendarDate.TryParseIso(hi.Text!, out var db, out _);
            if (da.CompareTo(db) > 0)
            {
                throw new QueryValidationException("invalid_range", $"'{field}' starts after it stops ({lo.Text} > {hi.Text}).", field);
            }
        }
        else if (lo.Number > hi.Number)
        {
            throw new QueryValidationException("invalid_range", $"'{field}' starts after it stops ({lo} > {hi}); give [min, max] whatever the coordinate's direction.", field);
        }
    }

    private static void CheckDomain(CoordValue v, bool lat, bool lon, string field)
    {
        if (lat && (v.Number < -90 || v.Number > 90))
        {
            throw new QueryValidationException("invalid_range", $"'{field}' latitude {v} is outside -90..90.", field);
        }

        if (lon && (v.Number < -180 || v.Number > 360))
        {
            throw new QueryValidationException("invalid_range", $"'{field}' longitude {v} is outside -180..360.", field);
        }
    }

    private static List<PointSpec> ParsePoints(JsonElement e)
    {
        RequireKind(e, JsonValueKind.Array, "points", "array");
        if (e.GetArrayLength() > MaxPoints)
        {
            throw new QueryValidationException("limit_exceeded", $"At most {MaxPoints} points per query.", "points");
        }

        var list = new List<PointSpec>();
        var i = 0;
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in e.EnumerateArray())
        {
            var field = $"points[{i}]";
            RequireKind(item, JsonValueKind.Object, field, "object");
            string? name = null;
            double? lat = null, lon = null;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var p in item.EnumerateObject())
            {
                CheckDuplicate(seen, p.Name, field);
                switch (p.Name)
                {
                    case "name": name = ParseName(p.Value, field + ".name"); break;
                    case "lat": lat = ParseNumber(p.Value, field + ".lat"); break;
                    case "lon": lon = ParseNumber(p.Value, field + ".lon"); break;
                    default: throw Unknown(p.Name, field);
                }
            }

            if (lat is null)
            {
                throw new QueryValidationException("missing_field", $"'{field}.lat' is required.", field + ".lat");
            }

            if (lon is null)
            {
                throw new QueryValidationException("missing_field", $"'{field}.lon' is required.", field + ".lon");
            }

            if (lat < -90 || lat > 90)
            {
                throw new QueryValidationException("invalid_value", $"'{field}.lat' {lat} is outside -90..90.", field + ".lat");
            }

            if (lon < -180 || lon > 360)
            {
                throw new QueryValidationException("invalid_value", $"'{field}.lon' {lon} is outside -180..360.", field + ".lon");
            }

            name ??= "p" + i.ToString(CultureInfo.InvariantCulture);
            if (!names.Add(name))
            {
                throw new QueryValidationException("invalid_value", $"'{field}.name' '{name}' is used by another point.", field + ".name");
            }

            list.Add(new PointSpec { Name = name, Lat = lat.Value, Lon = lon.Value });
            i++;
        }

        return list;
    }

    private static TransformSpec ParseTransform(JsonElement e)
    {
        RequireKind(e, JsonValueKind.Object, "transform", "object");
        var t = new TransformSpec();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject())
        {
            CheckDuplicate(seen, p.Name, "transform");
            t = p.Name switch
            {
                "scale" => t with { Scale = ParseFinite(p.Value, "transform.scale") },
                "offset" => t with { Offset = ParseFinite(p.Value, "transform.offset") },
                "units" => t with { Units = ParseName(p.Value, "transform.units") },
                _ => throw Unknown(p.Name, "transform"),
            };
        }

        return t;
    }

    private static ReduceSpec ParseReduce(JsonElement e)
    {
        RequireKind(e, JsonValueKind.Object, "reduce", "object");
        List<string>? dims = null;
        List<ReduceOp>? ops = null;
        var groupBy = TimeGrouping.None;
        var resample = ResampleFrequency.None;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject())
        {
            CheckDuplicate(seen, p.Name, "reduce");
            switch (p.Name)
            {
                case "dims":
                    RequireKind(p.Value, JsonValueKind.Array, "reduce.dims", "array of strings");
                    dims = [];
                    var i = 0;
                    foreach (var d in p.Value.EnumerateArray())
                    {
                        var name = ParseName(d, $"reduce.dims[{i}]");
                        if (dims.Contains(name))
                        {
                            throw new QueryValidationException("invalid_value", $"'reduce.dims' lists '{name}' twice.", $"reduce.dims[{i}]");
                        }

                        dims.Add(name);
                        i++;
                    }

                    break;
                case "ops":
                    RequireKind(p.Value, JsonValueKind.Array, "reduce.ops", "array of strings");
                    ops = [];
                    var j = 0;
                    foreach (var o in p.Value.EnumerateArray())
                    {
                        var f = $"reduce.ops[{j}]";
                        RequireKind(o, JsonValueKind.String, f, "string");
                        var op = o.GetString() switch
                        {
                            "mean" => ReduceOp.Mean,
                            "std" => ReduceOp.Std,
                            "var" => ReduceOp.Var,
                            "min" => ReduceOp.Min,
                            "max" => ReduceOp.Max,
                            "sum" => ReduceOp.Sum,
                            "count" => ReduceOp.Count,
                            var other => throw new QueryValidationException("unknown_op", $"Unknown reduce op '{Truncate(other!)}'; expected mean, std, var, min, max, sum or count.", f),
                        };
                        if (ops.Contains(op))
                        {
                            throw new QueryValidationException("invalid_value", $"'reduce.ops' lists '{o.GetString()}' twice.", f);
                        }

                        ops.Add(op);
                        j++;
                    }

                    break;
                case "groupby":
                    if (p.Value.ValueKind == JsonValueKind.Null)
                    {
                        break;
                    }

                    RequireKind(p.Value, JsonValueKind.String, "reduce.groupby", "string");
                    groupBy = p.Value.GetString() switch
                    {
                        "time.month" => TimeGrouping.Month,
                        "time.season" => TimeGrouping.Season,
                        "time.year" => TimeGrouping.Year,
                        "time.dayofyear" => TimeGrouping.DayOfYear,
                        "time.hour" => TimeGrouping.Hour,
                        var other => throw new QueryValidationException("unknown_groupby", $"Unknown groupby '{Truncate(other!)}'; expected time.month, time.season, time.year, time.dayofyear or time.hour.", "reduce.groupby"),
                    };
                    break;
                case "resample":
                    if (p.Value.ValueKind == JsonValueKind.Null)
                    {
                        break;
                    }

                    RequireKind(p.Value, JsonValueKind.String, "reduce.resample", "string");
                    resample = p.Value.GetString() switch
                    {
                        "1D" => ResampleFrequency.Day,
                        "1MS" => ResampleFrequency.MonthStart,
                        "1YS" => ResampleFrequency.YearStart,
                        var other => throw new QueryValidationException("unknown_resample", $"Unknown resample '{Truncate(other!)}'; expected 1D, 1MS or 1YS.", "reduce.resample"),
                    };
                    break;
                default:
                    throw Unknown(p.Name, "reduce");
            }
        }

        if (ops is null || ops.Count == 0)
        {
            throw new QueryValidationException("missing_field", "'reduce.ops' must list at least one op.", "reduce.ops");
        }

        if (groupBy != TimeGrouping.None && resample != ResampleFrequency.None)
        {
            throw new QueryValidationException("invalid_value", "'reduce' takes either groupby or resample, not both.", "reduce.resample");
        }

        var grouped = groupBy != TimeGrouping.None || resample != ResampleFrequency.None;
        if (dims is null)
        {
            if (!grouped)
            {
                throw new QueryValidationException("missing_field", "'reduce.dims' is required.", "reduce.dims");
            }

            dims = ["time"];
        }
        else if (grouped && !dims.Contains("time"))
        {
            throw new QueryValidationException("invalid_value", "groupby/resample group along time: 'reduce.dims' must include \"time\".", "reduce.dims");
        }
        else if (dims.Count == 0)
        {
            throw new QueryValidationException("invalid_value", "'reduce.dims' must list at least one dimension.", "reduce.dims");
        }

        return new ReduceSpec { Dims = dims, Ops = ops, GroupBy = groupBy, Resample = resample };
    }

    private static OutputSpec ParseOutput(JsonElement e)
    {
        RequireKind(e, JsonValueKind.Object, "output", "object");
        var o = new OutputSpec();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject())
        {
            CheckDuplicate(seen, p.Name, "output");
            if (p.Name != "format")
            {
                throw Unknown(p.Name, "output");
            }

            RequireKind(p.Value, JsonValueKind.String, "output.format", "string");
            o = new OutputSpec
            {
                Format = p.Value.GetString() switch
                {
                    "json" => OutputFormat.Json,
                    "csv" => OutputFormat.Csv,
                    "netcdf" or "nc" => OutputFormat.NetCdf,
                    var other => throw new QueryValidationException("unknown_format", $"Unknown output format '{Truncate(other!)}'; expected json, csv or netcdf.", "output.format"),
                },
            };
        }

        return o;
    }

    private static bool ParseBool(JsonElement e, string field)
    {
        return e.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new QueryValidationException("invalid_type", $"'{field}' must be true or false.", field),
        };
    }

    private static double ParseNumber(JsonElement e, string field)
    {
        RequireKind(e, JsonValueKind.Number, field, "number");
        return e.GetDouble();
    }

    private static double ParseFinite(JsonElement e, string field)
    {
        var d = ParseNumber(e, field);
        if (!double.IsFinite(d))
        {
            throw new QueryValidationException("invalid_value", $"'{field}' must be finite.", field);
        }

        return d;
    }

    private static void RequireKind(JsonElement e, JsonValueKind kind, string field, string what)
    {
        if (e.ValueKind != kind)
        {
            var name = field.Length == 0 ? "The query" : $"'{field}'";
            throw new QueryValidationException("invalid_type", $"{name} must be {Article(what)} {what}, not {Describe(e.ValueKind)}.", field.Length == 0 ? null : field);
        }
    }

    private static string Article(string what) => what.Length > 0 && "aeiou".Contains(what[0], StringComparison.Ordinal) ? "an" : "a";

    private static string Describe(JsonValueKind k) => k switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    private static void CheckDuplicate(HashSet<string> seen, string name, string parent)
    {
        if (!seen.Add(name))
        {
            var field = parent.Length == 0 ? name : parent + "." + name;
            throw new QueryValidationException("bad_request", $"Field '{Truncate(field)}' appears twice.", field);
        }
    }

    private static QueryValidationException Unknown(string name, string parent)
    {
        var field = parent.Length == 0 ? name : parent + "." + name;
        return new QueryValidationException("unknown_field", $"Unknown field '{Truncate(field)}'.", Truncate(field));
    }

    private static string Truncate(string s) => s.Length <= 64 ? s : s[..64] + "...";
}
