using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Proxima.Client.Internal;
using Proxima.Protocol;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;

namespace Proxima.Client;

/// <summary>
/// The client of a Proxima federation's router: queries (gRPC with streamed progress, or JSON over
/// HTTP), catalog search. Thread-safe; create one and share it.
/// <code>
/// using var proxima = ProximaClient.FromState(".proxima");     // a local `proxima up`
/// var results = await proxima.Query("reanalysis/era5/t2m").Variable("t2m").ToCelsius().Mean("time").ExecuteAsync();
/// var mean = results.Single()["mean"];                            // LabeledArray (latitude, longitude)
/// </code>
/// </summary>
public sealed class ProximaClient : IDisposable
{
    private const string StateEnvironmentVariable = "PROXIMA_STATE";
    private readonly HttpClient _http;
    private readonly GrpcClient? _grpc;
    private readonly ProximaClientOptions _options;

    /// <summary>A client of the router at <paramref name="routerUrl"/> (HTTP), with an optional bearer token.</summary>
    public ProximaClient(Uri routerUrl, string? token = null)
        : this(new ProximaClientOptions { RouterUrl = routerUrl, Token = token })
    {
    }

    /// <summary>A client configured by <paramref name="options"/>.</summary>
    public ProximaClient(ProximaClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.RouterUrl);
        _options = options;
        RouterUrl = WithSlash(options.RouterUrl);
        GrpcUrl = options.GrpcUrl is null ? null : WithSlash(options.GrpcUrl);
        _http = new HttpClient { BaseAddress = RouterUrl, Timeout = options.Timeout };
        if (!string.IsNullOrEmpty(options.Token))
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.Token);
        }

        if (GrpcUrl is not null)
        {
            _grpc = new GrpcClient(GrpcUrl, new GrpcClientOptions { MaxReceiveMessageSize = options.MaxReceiveMessageSize });
        }
    }

    /// <summary>The router's HTTP address.</summary>
    public Uri RouterUrl { get; }

    /// <summary>The router's gRPC address, or null when queries go over HTTP.</summary>
    public Uri? GrpcUrl { get; }

    /// <summary>True when a bearer token is sent.</summary>
    public bool HasToken => !string.IsNullOrEmpty(_options.Token);

    /// <summary>
    /// A client of the federation a local <c>proxima up --state DIR</c> is running: reads
    /// <c>DIR/federation.json</c> (router HTTP and gRPC addresses) and <c>DIR/token</c> when present.
    /// Without an argument: <c>$PROXIMA_STATE</c>, else <c>.proxima</c> in the current directory.
    /// </summary>
    /// <exception cref="ProximaException">No running federation is recorded there.</exception>
    public static ProximaClient FromState(string? stateDirectory = null, string? token = null)
    {
        var dir = stateDirectory ?? Environment.GetEnvironmentVariable(StateEnvironmentVariable) ?? ".proxima";
        var file = Path.Combine(dir, "federation.json");
        if (!File.Exists(file))
        {
            throw new ProximaException($"No running federation in '{Path.GetFullPath(dir)}' ({file} is missing): start one with 'proxima up --state {dir}' or pass the router URL.");
        }

        string? http = null, grpc = null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            if (doc.RootElement.TryGetProperty("routerUrl", out var r))
            {
                http = r.GetString();
            }

            if (doc.RootElement.TryGetProperty("routerGrpcUrl", out var g))
            {
                grpc = g.GetString();
            }
        }
        catch (JsonException ex)
        {
            throw new ProximaException($"{file} is not valid JSON: {ex.Message}", ex);
        }

        if (string.IsNullOrEmpty(http))
        {
            throw new ProximaException($"{file} has no 'routerUrl'.");
        }

        return new ProximaClient(new ProximaClientOptions
        {
            RouterUrl = new Uri(http),
            GrpcUrl = string.IsNullOrEmpty(grpc) ? null : new Uri(grpc),
            Token = token ?? ReadToken(dir),
        });
    }

    /// <summary>The token a local federation wrote to <c>STATE/token</c> (first line, trimmed), or null if there is none.</summary>
    public static string? ReadToken(string stateDirectory)
    {
        var path = Path.Combine(stateDirectory, "token");
        if (!File.Exists(path))
        {
            return null;
        }

        using var reader = new StreamReader(path);
        var line = reader.ReadLine()?.Trim();
        return string.IsNullOrEmpty(line) ? null : line;
    }

    /// <summary>Starts a query over <paramref name="datasets"/>; finish it fluently and call <see cref="ProximaQuery.ExecuteAsync"/>.</summary>
    public ProximaQuery Query(params string[] datasets) => new ProximaQuery(this).Datasets(datasets);

    /// <summary>
    /// Runs <paramref name="query"/>. Over gRPC, <paramref name="progress"/> receives monotonic reports
    /// ending at 100%; cancelling <paramref name="cancellationToken"/> cancels the query on the router
    /// and workers (<see cref="OperationCanceledException"/>).
    /// </summary>
    /// <exception cref="ProximaQueryException">The router rejected the query (carries code and field).</exception>
    /// <exception cref="ProximaAuthenticationException">Missing or wrong token.</exception>
    /// <exception cref="ProximaAccessDeniedException">Not allowed to read a dataset.</exception>
    /// <exception cref="ProximaUnavailableException">A region (or the router) is unavailable.</exception>
    /// <exception cref="ProximaDeadlineExceededException">The deadline passed.</exception>
    public async Task<QueryResults> QueryAsync(ProximaQuery query, IProgress<QueryProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (_grpc is null)
        {
            progress?.Report(new QueryProgress(0, 0, 0, null));
            var results = await QueryJsonAsync(query.ToJson(), cancellationToken);
            progress?.Report(new QueryProgress(1, 1, 0, null));
            return results;
        }

        return await QueryGrpcAsync(query.ToProto(), progress, cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="query"/> and returns the router's answer encoded as <paramref name="format"/>
    /// (<c>json</c>, <c>csv</c> or <c>netcdf</c>): the bytes <c>POST /v1/query</c> answers for that
    /// <c>output.format</c>. Over gRPC, <paramref name="progress"/> receives monotonic reports ending at 100%
    /// and cancellation cancels the query on the router and workers.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="format"/> is none of json, csv, netcdf.</exception>
    /// <exception cref="ProximaQueryException">The router rejected the query (carries code and field).</exception>
    /// <exception cref="ProximaAuthenticationException">Missing or wrong token.</exception>
    /// <exception cref="ProximaAccessDeniedException">Not allowed to read a dataset.</exception>
    /// <exception cref="ProximaUnavailableException">A region (or the router) is unavailable.</exception>
    /// <exception cref="ProximaDeadlineExceededException">The deadline passed.</exception>
    public async Task<byte[]> QueryEncodedAsync(ProximaQuery query, string format, IProgress<QueryProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (format is not ("json" or "csv" or "netcdf"))
        {
            throw new ArgumentException($"output format '{format}' is not one of json, csv, netcdf", nameof(format));
        }

        if (_grpc is null)
        {
            progress?.Report(new QueryProgress(0, 0, 0, null));
            var body = await PostRawAsync(query.ToSpecJson(format), cancellationToken);
            progress?.Report(new QueryProgress(1, 1, 0, null));
            return body;
        }

        using var encoded = new MemoryStream();
        await StreamQueryAsync(new QueryRequest { Spec = query.ToProto(format), Encoded = true }, progress, e =>
        {
            if (e.EventCase == QueryEvent.EventOneofCase.Encoded)
            {
                e.Encoded.Data.WriteTo(encoded);
                return true;
            }

            return false;
        }, cancellationToken);
        return encoded.ToArray();
    }

    /// <summary>Posts QuerySpec JSON (DESIGN.md §4) to <c>POST /v1/query</c> and reads the JSON answer.</summary>
    public async Task<QueryResults> QueryJsonAsync(string specJson, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(specJson);
        var body = await PostRawAsync(specJson, cancellationToken);
        try
        {
            return ResultReaders.FromJson(body);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new ProximaException($"The router's answer is not a QuerySpec v1 JSON result: {ex.Message}", ex);
        }
    }

    /// <summary>Posts QuerySpec JSON and returns the answer's bytes unchanged (JSON, CSV or NetCDF per <c>output.format</c>).</summary>
    public async Task<byte[]> PostRawAsync(string specJson, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(specJson);
        using var content = new StringContent(specJson, Encoding.UTF8, "application/json");
        HttpResponseMessage response;
        try
        {
            response = await _http.PostAsync(new Uri(RouterUrl, "v1/query"), content, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new ProximaUnavailableException($"Cannot reach the router at {RouterUrl}: {ex.Message}", "unavailable", null, ex);
        }

        using (response)
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw ErrorMapping.FromHttp(response.StatusCode, body);
            }

            return body;
        }
    }

    /// <summary>Searches the catalog (<c>GET /v1/datasets</c>).</summary>
    /// <exception cref="ProximaQueryException">A bad search parameter (its name in <see cref="ProximaQueryException.Field"/>).</exception>
    public async Task<IReadOnlyList<CatalogItem>> SearchAsync(CatalogSearch search, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(search);
        var query = search.ToQueryString();
        var body = await GetAsync("v1/datasets" + (query.Length == 0 ? "" : "?" + query), cancellationToken);
        try
        {
            return ResultReaders.CatalogItems(body);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new ProximaException($"The router's search answer is not a STAC ItemCollection: {ex.Message}", ex);
        }
    }

    /// <summary>One dataset's catalog entries (one per region part).</summary>
    /// <exception cref="ProximaQueryException">No such dataset (code <c>unknown_dataset</c>).</exception>
    public async Task<IReadOnlyList<CatalogItem>> GetDatasetAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var body = await GetAsync("v1/datasets/" + id, cancellationToken);
        using var doc = JsonDocument.Parse(body);
        var root = doc.RootElement;
        if (root.TryGetProperty("features", out _))
        {
            return ResultReaders.CatalogItems(body);
        }

        var wrapped = Encoding.UTF8.GetBytes("{\"features\":[" + root.GetRawText() + "]}");
        return ResultReaders.CatalogItems(wrapped);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _http.Dispose();
        _grpc?.Dispose();
    }

    private async Task<byte[]> GetAsync(string relative, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.GetAsync(new Uri(RouterUrl, relative), cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new ProximaUnavailableException($"Cannot reach the router at {RouterUrl}: {ex.Message}", "unavailable", null, ex);
        }

        using (response)
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw ErrorMapping.FromHttp(response.StatusCode, body);
            }

            return body;
        }
    }

    private async Task<QueryResults> QueryGrpcAsync(QuerySpec spec, IProgress<QueryProgress>? progress, CancellationToken cancellationToken)
    {
        QueryResponse? response = null;
        await StreamQueryAsync(new QueryRequest { Spec = spec }, progress, e =>
        {
            if (e.EventCase == QueryEvent.EventOneofCase.Result)
            {
                response = e.Result;
                return true;
            }

            return false;
        }, cancellationToken);
        return ResultReaders.FromProto(response!);
    }

    /// <summary>
    /// Runs a gRPC query stream: progress events go to <paramref name="progress"/>, every other event to
    /// <paramref name="answer"/>, which says whether it was the answer. Fails unless an answer arrived.
    /// </summary>
    private async Task StreamQueryAsync(QueryRequest request, IProgress<QueryProgress>? progress, Func<QueryEvent, bool> answer, CancellationToken cancellationToken)
    {
        var headers = new Metadata();
        if (!string.IsNullOrEmpty(_options.Token))
        {
            headers.Add("authorization", "Bearer " + _options.Token);
        }

        var callOptions = GrpcCallOptions.WithTimeout(_options.Timeout, cancellationToken, headers);
        var reporter = new ProgressReporter(progress);
        var answered = false;
        try
        {
            await foreach (var e in _grpc!.ServerStreamingAsync(ProximaMethods.RouterQuery, request, callOptions, cancellationToken))
            {
                // Leaving the loop disposes the call, which resets the stream (RST_STREAM CANCEL) so the
                // router and its workers stop; a message already buffered must not outrun the cancellation.
                cancellationToken.ThrowIfCancellationRequested();
                if (e.EventCase == QueryEvent.EventOneofCase.Progress)
                {
                    reporter.Report(e.Progress);
                }
                else
                {
                    answered |= answer(e);
                }
            }
        }
        catch (RpcException ex) when (cancellationToken.IsCancellationRequested && ex.StatusCode == Protocol.Grpc.StatusCode.Cancelled)
        {
            throw new OperationCanceledException("The query was cancelled.", ex, cancellationToken);
        }
        catch (RpcException ex)
        {
            throw ErrorMapping.FromRpc(ex, GrpcUrl!);
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (!answered)
        {
            throw new ProximaException("The router ended the query stream without a result.");
        }

        reporter.Complete();
    }

    private static Uri WithSlash(Uri uri) => uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");

    /// <summary>Turns the router's cumulative progress events into monotonic reports ending at 100%.</summary>
    private sealed class ProgressReporter(IProgress<QueryProgress>? sink)
    {
        private long _done;
        private long _total;
        private long _bytes;
        private double _fraction;

        public void Report(Progress p)
        {
            if (sink is null)
            {
                return;
            }

            var total = Math.Max(p.ChunksTotal, _total);
            var done = Math.Min(Math.Max(p.ChunksDone, _done), total);
            var fraction = total <= 0 ? 0 : (double)done / total;
            if (fraction < _fraction)
            {
                return;
            }

            _done = done;
            _total = total;
            _bytes = Math.Max(_bytes, p.BytesRead);
            _fraction = fraction;
            sink.Report(new QueryProgress(done, total, _bytes, string.IsNullOrEmpty(p.Region) ? null : p.Region));
        }

        public void Complete()
        {
            var total = Math.Max(_total, 1);
            sink?.Report(new QueryProgress(total, total, _bytes, null));
        }
    }
}

internal static class ErrorMapping
{
    public static ProximaException FromHttp(HttpStatusCode status, byte[] body)
    {
        string? code = null, message = null, field = null, region = null;
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.TryGetProperty("error", out var error))
            {
                code = Text(error, "code");
                message = Text(error, "message");
                field = Text(error, "field");
                region = Text(error, "region");
            }
        }
        catch (JsonException)
        {
        }

        message ??= body.Length == 0 ? status.ToString() : Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 500));
        var http = (int)status;
        var text = $"{message} (HTTP {http}{(code is null ? "" : ", " + code)}{(field is null ? "" : ", field " + field)})";
        return http switch
        {
            401 => new ProximaAuthenticationException(text),
            403 => new ProximaAccessDeniedException(text, code),
            503 => new ProximaUnavailableException(text, code, region),
            504 => new ProximaDeadlineExceededException(text),
            >= 400 and < 500 => new ProximaQueryException(text, code, field, http),
            _ => new ProximaException(text, code, http),
        };
    }

    public static ProximaException FromRpc(RpcException ex, Uri address)
    {
        var code = ex.Trailers.GetValue("proxima-code");
        var field = ex.Trailers.GetValue("proxima-field");
        var region = ex.Trailers.GetValue("proxima-region");
        var detail = ex.Status.Detail;
        var text = $"{detail} (gRPC {ex.StatusCode}{(code is null ? "" : ", " + code)}{(field is null ? "" : ", field " + field)})";
        return ex.StatusCode switch
        {
            Protocol.Grpc.StatusCode.Unauthenticated => new ProximaAuthenticationException(text, ex),
            Protocol.Grpc.StatusCode.PermissionDenied => new ProximaAccessDeniedException(text, code, ex),
            Protocol.Grpc.StatusCode.InvalidArgument or Protocol.Grpc.StatusCode.NotFound or Protocol.Grpc.StatusCode.OutOfRange
                or Protocol.Grpc.StatusCode.FailedPrecondition => new ProximaQueryException(text, code, field, 400, ex),
            Protocol.Grpc.StatusCode.ResourceExhausted => new ProximaQueryException(text, code ?? "limit_exceeded", field, 413, ex),
            Protocol.Grpc.StatusCode.Unavailable => new ProximaUnavailableException(
                code is null ? $"Cannot reach the router at {address}: {detail}" : text, code ?? "unavailable", region, ex),
            Protocol.Grpc.StatusCode.DeadlineExceeded => new ProximaDeadlineExceededException(text, ex),
            _ => new ProximaException(text, code, 500, ex),
        };
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
