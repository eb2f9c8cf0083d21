using System.Globalization;
using System.Text;
using System.Text.Json;
using Proxima.Protocol.V1;

namespace Proxima.Client;

/// <summary>
/// A fluent QuerySpec v1 (DESIGN.md §4) builder. Each method adds to the query and returns it, so a
/// query reads like the xarray code it replaces:
/// <code>
/// var query = client.Query("reanalysis/era5/t2m").Variable("t2m")
///     .Time("2000-01-01", "2000-01-31").BBox(110, -50, 180, 0).ToCelsius().Mean("time").Std("time");
/// var results = await query.ExecuteAsync(progress, cancellationToken);
/// </code>
/// Semantics are xarray's: ranges are inclusive <c>.sel(x=slice(a, b))</c> in either coordinate
/// direction, points are nearest grid cells, reductions skip NaN and <c>std</c> has ddof=0.
/// </summary>
public sealed class ProximaQuery
{
    private readonly ProximaClient? _client;
    private readonly List<string> _datasets = [];
    private readonly List<(string Dim, string[] Values, bool IsRange)> _select = [];
    private readonly List<GeoPoint> _points = [];
    private readonly List<string> _reduceDims = [];
    private readonly List<string> _ops = [];
    private string? _variable;
    private (double Scale, double Offset, string? Units)? _transform;
    private string? _groupBy;
    private string? _resample;
    private string? _format;
    private bool _allowPartial;
    private long _deadlineMs;

    /// <summary>Creates an empty query not bound to a client (run it with <see cref="ProximaClient.QueryAsync"/>).</summary>
    public ProximaQuery()
    {
    }

    internal ProximaQuery(ProximaClient client)
    {
        _client = client;
    }

    /// <summary>Adds a dataset by its catalog id, for example <c>reanalysis/era5/t2m</c>.</summary>
    public ProximaQuery Dataset(string id)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        _datasets.Add(id);
        return this;
    }

    /// <summary>Adds several datasets; each gets its own result, computed in parallel in its region.</summary>
    public ProximaQuery Datasets(params string[] ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        foreach (var id in ids)
        {
            Dataset(id);
        }

        return this;
    }

    /// <summary>The variable: its name in the store (<c>t2m</c>) or its CF standard_name (<c>air_temperature</c>).</summary>
    public ProximaQuery Variable(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        _variable = name;
        return this;
    }

    /// <summary>An inclusive time range as ISO-8601 text in the dataset's calendar (so <c>2090-02-30</c> is valid on 360_day data).</summary>
    public ProximaQuery Time(string start, string end) => Range("time", start, end);

    /// <summary>An inclusive time range.</summary>
    public ProximaQuery Time(DateTime start, DateTime end) =>
        Range("time", start.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture), end.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture));

    /// <summary>A bounding box in degrees (west, south, east, north). Longitude may be -180..180 or 0..360
    /// whatever the dataset's convention; west &gt; east crosses the antimeridian.</summary>
    public ProximaQuery BBox(double west, double south, double east, double north)
    {
        if (south > north)
        {
            throw new ArgumentException($"BBox: south ({south}) is north of north ({north}).", nameof(south));
        }

        Range("lat", Number(south), Number(north));
        return Range("lon", Number(west), Number(east));
    }

    /// <summary>An inclusive numeric coordinate range on any dimension (<c>lat</c>, <c>lon</c>, <c>level</c>, ...).</summary>
    public ProximaQuery Select(string dim, double start, double end) => Range(dim, Number(start), Number(end));

    /// <summary>Exact coordinate values on a dimension (for example pressure levels).</summary>
    public ProximaQuery Select(string dim, params double[] values)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dim);
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length == 0)
        {
            throw new ArgumentException("Select: give at least one value.", nameof(values));
        }

        var text = new string[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            text[i] = Number(values[i]);
        }

        Replace(dim, text, isRange: false);
        return this;
    }

    /// <summary>Nearest-grid-cell points (<c>.sel(lat=, lon=, method="nearest")</c>); the result gets a leading <c>point</c> dimension.</summary>
    public ProximaQuery Points(params GeoPoint[] points)
    {
        ArgumentNullException.ThrowIfNull(points);
        _points.AddRange(points);
        return this;
    }

    /// <summary>Adds one named point.</summary>
    public ProximaQuery Point(string name, double lat, double lon) => Points(new GeoPoint(name, lat, lon));

    /// <summary>Applies <c>x*scale+offset</c> after CF decoding and labels the result with <paramref name="units"/>.</summary>
    public ProximaQuery Transform(double scale, double offset, string? units = null)
    {
        _transform = (scale, offset, units);
        return this;
    }

    /// <summary>Kelvin to degrees Celsius: <c>x - 273.15</c>, units <c>degC</c>.</summary>
    public ProximaQuery ToCelsius() => Transform(1.0, -273.15, "degC");

    /// <summary>Mean over <paramref name="dims"/> (NaN skipped).</summary>
    public ProximaQuery Mean(params string[] dims) => Reduce("mean", dims);

    /// <summary>Population standard deviation (ddof=0) over <paramref name="dims"/>.</summary>
    public ProximaQuery Std(params string[] dims) => Reduce("std", dims);

    /// <summary>Minimum over <paramref name="dims"/>.</summary>
    public ProximaQuery Min(params string[] dims) => Reduce("min", dims);

    /// <summary>Maximum over <paramref name="dims"/>.</summary>
    public ProximaQuery Max(params string[] dims) => Reduce("max", dims);

    /// <summary>Sum over <paramref name="dims"/> (NaN skipped).</summary>
    public ProximaQuery Sum(params string[] dims) => Reduce("sum", dims);

    /// <summary>Count of non-NaN values over <paramref name="dims"/>.</summary>
    public ProximaQuery Count(params string[] dims) => Reduce("count", dims);

    /// <summary>Adds a reduction op (<c>mean</c>, <c>std</c>, <c>min</c>, <c>max</c>, <c>sum</c>, <c>count</c>) over
    /// <paramref name="dims"/>. All ops of a query share one set of dims.</summary>
    public ProximaQuery Reduce(string op, params string[] dims)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(op);
        ArgumentNullException.ThrowIfNull(dims);
        if (!_ops.Contains(op))
        {
            _ops.Add(op);
        }

        foreach (var d in dims)
        {
            if (!_reduceDims.Contains(d))
            {
                _reduceDims.Add(d);
            }
        }

        return this;
    }

    /// <summary>Groups the reduction: <c>time.month</c>, <c>time.season</c>, <c>time.year</c>, <c>time.dayofyear</c>, <c>time.hour</c>.</summary>
    public ProximaQuery GroupBy(string group)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(group);
        _groupBy = group;
        return this;
    }

    /// <summary>Resamples time before reducing: <c>1D</c>, <c>1MS</c>, <c>1YS</c>.</summary>
    public ProximaQuery Resample(string frequency)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(frequency);
        _resample = frequency;
        return this;
    }

    /// <summary>Accept an answer without the regions that are down (their names go to <see cref="DatasetResult.Missing"/>).</summary>
    public ProximaQuery AllowPartial(bool allow = true)
    {
        _allowPartial = allow;
        return this;
    }

    /// <summary>The server-side deadline of the query.</summary>
    public ProximaQuery Deadline(TimeSpan deadline)
    {
        _deadlineMs = (long)Math.Ceiling(deadline.TotalMilliseconds);
        return this;
    }

    /// <summary>The output format the router is asked for in <see cref="ToJson"/> (<c>json</c>, <c>csv</c>, <c>netcdf</c>).
    /// The SDK itself always receives typed results.</summary>
    public ProximaQuery Format(string format)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(format);
        _format = format;
        return this;
    }

    /// <summary>Runs the query on the client that created it (<see cref="ProximaClient.Query(string[])"/>).</summary>
    public Task<QueryResults> ExecuteAsync(IProgress<QueryProgress>? progress = null, CancellationToken cancellationToken = default) =>
        (_client ?? throw new InvalidOperationException("This query is not bound to a client: use ProximaClient.Query(...) or ProximaClient.QueryAsync(query)."))
            .QueryAsync(this, progress, cancellationToken);

    /// <summary>Reads QuerySpec v1 JSON (DESIGN.md §4), for example a file written for <c>proxima query</c>,
    /// into a query bound to <paramref name="client"/> (or unbound when null).</summary>
    /// <exception cref="FormatException">The JSON is not a QuerySpec object (the message names the field).</exception>
    /// <exception cref="JsonException">The text is not JSON.</exception>
    public static ProximaQuery FromJson(string json, ProximaClient? client = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(json);
        return Internal.QuerySpecJsonReader.Read(json, client is null ? new ProximaQuery() : new ProximaQuery(client));
    }

    /// <summary>
    /// Runs the query and saves the router's NetCDF-4 answer to <paramref name="path"/>: one variable per
    /// dataset and op (<c>t2m_mean</c>, ...), CF attributes, times decodable in the dataset's calendar, and
    /// the query in the global attribute <c>proxima_query</c>. Open it with <c>xarray.open_dataset</c>.
    /// </summary>
    public Task SaveNetCdfAsync(string path, CancellationToken cancellationToken = default) =>
        SaveAsync(path, "netcdf", progress: null, cancellationToken);

    /// <summary>
    /// Runs the query and saves the router's answer to <paramref name="path"/> in the format its extension
    /// names: <c>.nc</c> (NetCDF-4, for xarray), <c>.csv</c> (tidy, for pandas) or <c>.json</c> (QuerySpec v1
    /// result). Over gRPC, <paramref name="progress"/> receives monotonic reports ending at 100%.
    /// </summary>
    /// <exception cref="ArgumentException">The extension is none of .nc, .csv, .json.</exception>
    public Task SaveAsync(string path, IProgress<QueryProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var format = FormatOfPath(path)
            ?? throw new ArgumentException($"'{path}': the extension '{Path.GetExtension(path)}' names no output format; use .nc, .csv or .json", nameof(path));
        return SaveAsync(path, format, progress, cancellationToken);
    }

    /// <summary>The output format a file name's extension names (<c>netcdf</c>, <c>csv</c>, <c>json</c>), or null.</summary>
    public static string? FormatOfPath(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".nc" or ".nc4" or ".netcdf" => "netcdf",
        ".csv" => "csv",
        ".json" => "json",
        _ => null,
    };

    private async Task SaveAsync(string path, string format, IProgress<QueryProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var client = _client ?? throw new InvalidOperationException("This query is not bound to a client: use ProximaClient.Query(...).");
        var bytes = await client.QueryEncodedAsync(this, format, progress, cancellationToken);
        await File.WriteAllBytesAsync(path, bytes, cancellationToken);
    }

    /// <summary>The query as QuerySpec v1 JSON (DESIGN.md §4), as <c>POST /v1/query</c> and <c>proxima query</c> take it.</summary>
    public string ToJson() => ToSpecJson(_format);

    internal string ToSpecJson(string? format)
    {
        Validate();
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("datasets");
            foreach (var d in _datasets)
            {
                w.WriteStringValue(d);
            }

            w.WriteEndArray();
            w.WriteString("variable", _variable);
            if (_select.Count > 0)
            {
                w.WriteStartObject("select");
                foreach (var (dim, values, isRange) in _select)
                {
                    if (isRange)
                    {
                        w.WriteStartArray(dim);
                        WriteValue(w, values[0]);
                        WriteValue(w, values[1]);
                        w.WriteEndArray();
                    }
                    else
                    {
                        w.WriteStartObject(dim);
                        w.WriteStartArray("values");
                        foreach (var v in values)
                        {
                            WriteValue(w, v);
                        }

                        w.WriteEndArray();
                        w.WriteEndObject();
                    }
                }

                w.WriteEndObject();
            }

            if (_points.Count > 0)
            {
                w.WriteStartArray("points");
                foreach (var p in _points)
                {
                    w.WriteStartObject();
                    if (!string.IsNullOrEmpty(p.Name))
                    {
                        w.WriteString("name", p.Name);
                    }

                    w.WriteNumber("lat", p.Lat);
                    w.WriteNumber("lon", p.Lon);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            if (_transform is { } t)
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

            if (_ops.Count > 0)
            {
                w.WriteStartObject("reduce");
                w.WriteStartArray("dims");
                foreach (var d in _reduceDims)
                {
                    w.WriteStringValue(d);
                }

                w.WriteEndArray();
                w.WriteStartArray("ops");
                foreach (var o in _ops)
                {
                    w.WriteStringValue(o);
                }

                w.WriteEndArray();
                if (_groupBy is not null)
                {
                    w.WriteString("groupby", _groupBy);
                }

                if (_resample is not null)
                {
                    w.WriteString("resample", _resample);
                }

                w.WriteEndObject();
            }

            if (format is not null)
            {
                w.WriteStartObject("output");
                w.WriteString("format", format);
                w.WriteEndObject();
            }

            if (_allowPartial)
            {
                w.WriteBoolean("allow_partial", true);
            }

            if (_deadlineMs > 0)
            {
                w.WriteNumber("deadline_ms", _deadlineMs);
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <inheritdoc />
    public override string ToString() => ToJson();

    /// <summary>The same query as the protobuf message of the gRPC API.</summary>
    internal QuerySpec ToProto(string? format = null)
    {
        Validate();
        var spec = new QuerySpec { Variable = _variable, AllowPartial = _allowPartial, DeadlineMs = _deadlineMs };
        if ((format ?? _format) is { } output)
        {
            spec.Output = new Output { Format = output };
        }

        spec.Datasets.Add(_datasets);
        foreach (var (dim, values, isRange) in _select)
        {
            spec.Select[dim] = isRange
                ? new Selection { Range = new ValueRange { Start = values[0], End = values[1] } }
                : new Selection { Values = new ValueList { Values = { values } } };
        }

        foreach (var p in _points)
        {
            spec.Points.Add(new Protocol.V1.Point { Name = p.Name ?? string.Empty, Lat = p.Lat, Lon = p.Lon });
        }

        if (_transform is { } t)
        {
            spec.Transform = new Protocol.V1.Transform { Scale = t.Scale, Offset = t.Offset, Units = t.Units ?? string.Empty, Present = true };
        }

        if (_ops.Count > 0)
        {
            var reduce = new Protocol.V1.Reduce { Groupby = _groupBy ?? string.Empty, Resample = _resample ?? string.Empty };
            reduce.Dims.Add(_reduceDims);
            reduce.Ops.Add(_ops);
            spec.Reduce = reduce;
        }

        return spec;
    }

    internal void SelectRange(string dim, string start, string end) => Range(dim, start, end);

    internal void SelectValues(string dim, string[] values) => Replace(dim, values, isRange: false);

    private ProximaQuery Range(string dim, string start, string end)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dim);
        ArgumentException.ThrowIfNullOrWhiteSpace(start);
        ArgumentException.ThrowIfNullOrWhiteSpace(end);
        Replace(dim, [start, end], isRange: true);
        return this;
    }

    private void Replace(string dim, string[] values, bool isRange)
    {
        _select.RemoveAll(s => s.Dim == dim);
        _select.Add((dim, values, isRange));
    }

    private void Validate()
    {
        if (_datasets.Count == 0)
        {
            throw new InvalidOperationException("The query has no dataset: call Dataset(\"...\") first.");
        }

        if (_variable is null)
        {
            throw new InvalidOperationException("The query has no variable: call Variable(\"...\") first.");
        }

        if ((_groupBy is not null || _resample is not null) && _ops.Count == 0)
        {
            throw new InvalidOperationException("GroupBy/Resample need a reduction: add Mean(\"time\"), Max(\"time\"), ...");
        }
    }

    private static string Number(double value)
    {
        if (!double.IsFinite(value))
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "Coordinates must be finite numbers.");
        }

        return value.ToString("R", CultureInfo.InvariantCulture);
    }

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

/// <summary>A named location for nearest-grid-cell point queries.</summary>
/// <param name="Name">Label of the point in results (its <c>point</c> coordinate).</param>
/// <param name="Lat">Latitude in degrees north.</param>
/// <param name="Lon">Longitude in degrees east (-180..180 or 0..360).</param>
public sealed record GeoPoint(string Name, double Lat, double Lon);
