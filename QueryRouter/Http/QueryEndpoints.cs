using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Proxima.Protocol.V1;
using Proxima.QueryRouter.Dispatch;

namespace Proxima.QueryRouter.Http;

/// <summary><c>POST /v1/query</c> and the no-data round trip <c>GET /v1/ping</c>.</summary>
internal static class QueryEndpoints
{
    public static void MapQueryEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/v1/query", QueryAsync);
        endpoints.MapGet("/v1/ping", PingAsync);
        endpoints.MapGet("/healthz", () => Results.Text("ok"));
    }

    /// <summary><c>GET /metrics</c>: Prometheus text format.</summary>
    public static void MapMetricsEndpoint(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/metrics", (RouterMetrics metrics) => Results.Text(metrics.Registry.Render(), "text/plain; version=0.0.4; charset=utf-8"));

    private static async Task QueryAsync(HttpContext http, QueryService queries, RouterOptions options, ILogger<QueryService> logger)
    {
        var aborted = http.RequestAborted;
        try
        {
            var body = await ReadBodyAsync(http, options.MaxRequestBytes, aborted);
            var answer = await queries.RunAsync(body, Security.RouterAuth.Get(http), progress: null, aborted);
            var encoding = Stopwatch.GetTimestamp();
            http.Response.StatusCode = StatusCodes.Status200OK;
            if (answer.Spec.Output.Format == Compute.Query.OutputFormat.Json)
            {
                http.Response.ContentType = "application/json";
                var written = ResultAssembly.WriteJson(answer, http.Response.BodyWriter);
                await http.Response.BodyWriter.FlushAsync(aborted);
                RouterLog.AnswerWritten(logger, Stopwatch.GetElapsedTime(encoding).TotalMilliseconds, written, "application/json");
                return;
            }

            var (bytes, contentType) = ResultAssembly.Encode(answer);
            http.Response.ContentType = contentType;
            http.Response.ContentLength = bytes.Length;
            await http.Response.Body.WriteAsync(bytes, aborted);
            RouterLog.AnswerWritten(logger, Stopwatch.GetElapsedTime(encoding).TotalMilliseconds, bytes.Length, contentType);
        }
        catch (QueryError ex)
        {
            await ex.WriteAsync(http.Response, aborted);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (Exception ex)
        {
            RouterLog.QueryCrashed(logger, http.TraceIdentifier, ex);
            await new QueryError(StatusCodes.Status500InternalServerError, "internal", $"the router failed: {ex.Message}").WriteAsync(http.Response, aborted);
        }
    }

    private static async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpContext http, int limit, CancellationToken cancellationToken)
    {
        if (http.Request.ContentLength > limit)
        {
            throw QueryError.BadRequest("request_too_large", $"the query is {http.Request.ContentLength} bytes; the limit is {limit}");
        }

        var feature = http.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (feature is { IsReadOnly: false })
        {
            feature.MaxRequestBodySize = limit;
        }

        using var buffer = new MemoryStream();
        try
        {
            await http.Request.Body.CopyToAsync(buffer, cancellationToken);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw QueryError.BadRequest("request_too_large", $"the query is larger than the limit of {limit} bytes");
        }

        if (buffer.Length == 0)
        {
            throw QueryError.BadRequest("bad_request", "the request body is empty; send a QuerySpec as JSON (DESIGN.md §4)");
        }

        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    private static async Task PingAsync(HttpContext http, WorkerPools pools, string? region)
    {
        var target = region ?? FirstRegion(pools);
        if (target is null || !pools.Regions.Contains(target))
        {
            await QueryError.BadRequest("unknown_region", $"no workers for region '{target}'", "region").WriteAsync(http.Response, http.RequestAborted);
            return;
        }

        var response = await pools.Pick(target).PingAsync(new PingRequest(), DateTime.UtcNow.AddSeconds(10), http.RequestAborted);
        await http.Response.WriteAsJsonAsync(new { region = response.Region, worker = response.Worker }, http.RequestAborted);
    }

    private static string? FirstRegion(WorkerPools pools)
    {
        foreach (var r in pools.Regions)
        {
            return r;
        }

        return null;
    }
}
