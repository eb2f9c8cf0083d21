using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Proxima.Compute.Query;
using Proxima.Protocol.V1;
using Proxima.QueryRouter.Dispatch;
using Proxima.QueryRouter.Http;
using Proxima.QueryRouter.Planning;
using Proxima.QueryRouter.Security;
using QuerySpec = Proxima.Compute.Query.QuerySpec;

namespace Proxima.QueryRouter;

/// <summary>A finished query: one result per requested dataset, and what it cost.</summary>
internal sealed record QueryAnswer(QuerySpec Spec, IReadOnlyList<Compute.Execution.QueryResult> Results, QueryStats Stats);

/// <summary>
/// One query from request to answer: admit the client (per-client concurrency), parse strictly, check
/// limits, plan against the catalog (ACL), dispatch to the regions, merge partials exactly, finalise.
/// Shared by the HTTP and gRPC front ends.
/// </summary>
internal sealed class QueryService(QueryPlanner planner, QueryDispatcher dispatcher, RouterOptions options, RouterMetrics metrics, ILogger<QueryService> logger)
{
    private readonly ConcurrentDictionary<string, int> _running = new(StringComparer.Ordinal);

    public Task<QueryAnswer> RunAsync(ReadOnlyMemory<byte> specJson, IProgress<Progress>? progress, CancellationToken cancellationToken) =>
        RunAsync(specJson, ClientIdentity.Anonymous, progress, cancellationToken);

    public async Task<QueryAnswer> RunAsync(ReadOnlyMemory<byte> specJson, ClientIdentity client, IProgress<Progress>? progress, CancellationToken cancellationToken)
    {
        metrics.Queries.Add();
        var started = Stopwatch.GetTimestamp();
        try
        {
            var answer = await RunAdmittedAsync(specJson, client, progress, cancellationToken);
            metrics.QueryLatency.Observe(Stopwatch.GetElapsedTime(started));
            return answer;
        }
        catch (QueryError ex)
        {
            metrics.Errors.Add(ex.Code);
            throw;
        }
    }

    private async Task<QueryAnswer> RunAdmittedAsync(ReadOnlyMemory<byte> specJson, ClientIdentity client, IProgress<Progress>? progress, CancellationToken cancellationToken)
    {
        var running = _running.AddOrUpdate(client.Name, 1, static (_, n) => n + 1);
        try
        {
            if (running > options.MaxConcurrentQueriesPerClient)
            {
                throw new QueryError(429, "too_many_queries",
                    $"client '{client.Name}' already runs {running - 1} queries; the limit is {options.MaxConcurrentQueriesPerClient} at once");
            }

            return await RunCoreAsync(specJson, client, progress, cancellationToken);
        }
        finally
        {
            _running.AddOrUpdate(client.Name, 0, static (_, n) => n - 1);
        }
    }

    private async Task<QueryAnswer> RunCoreAsync(ReadOnlyMemory<byte> specJson, ClientIdentity client, IProgress<Progress>? progress, CancellationToken cancellationToken)
    {
        var queryId = Guid.NewGuid().ToString("N")[..12];
        var started = Stopwatch.GetTimestamp();
        QuerySpec spec;
        try
        {
            spec = QuerySpecParser.Parse(specJson.Span);
        }
        catch (QueryValidationException ex)
        {
            RouterLog.QueryRejected(logger, queryId, 400, ex.Code, ex.Field, ex.Message);
            throw QueryError.BadRequest(ex.Code, ex.Message, ex.Field);
        }

        if (spec.Datasets.Count > options.MaxDatasets)
        {
            var error = QueryError.BadRequest("too_many_datasets", $"the query names {spec.Datasets.Count} datasets; the limit is {options.MaxDatasets}", "datasets");
            RouterLog.QueryRejected(logger, queryId, 400, error.Code, error.Field, error.Message);
            throw error;
        }

        var timeout = spec.DeadlineMs is { } ms ? TimeSpan.FromMilliseconds(ms) : options.DefaultDeadline;
        var deadline = DateTime.UtcNow + timeout;
        using var deadlineCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadlineCts.CancelAfter(timeout);
        try
        {
            var canonical = QuerySpecWriter.ToUtf8(spec);
            var plan = await planner.PlanAsync(queryId, spec, canonical, client.Groups, deadline, deadlineCts.Token);
            var planned = Stopwatch.GetTimestamp();
            RouterLog.QueryPlanned(logger, queryId, plan.Datasets.Count, plan.UnitCount);
            var outcome = await dispatcher.DispatchAsync(plan, deadline, progress, deadlineCts.Token);
            var dispatched = Stopwatch.GetTimestamp();
            var results = ResultAssembly.Finalize(plan, outcome);
            CheckOutputCells(results);
            var finalised = Stopwatch.GetTimestamp();
            outcome.Stats.Ms = Stopwatch.GetElapsedTime(started, finalised).TotalMilliseconds;
            RouterLog.QueryAnswered(logger, queryId, outcome.Stats.Ms, Stopwatch.GetElapsedTime(started, planned).TotalMilliseconds,
                Stopwatch.GetElapsedTime(planned, dispatched).TotalMilliseconds, Stopwatch.GetElapsedTime(dispatched, finalised).TotalMilliseconds, outcome.Stats.BytesCrossRegion);
            return new QueryAnswer(spec, results, outcome.Stats);
        }
        catch (QueryError ex)
        {
            RouterLog.QueryRejected(logger, queryId, ex.HttpStatus, ex.Code, ex.Field, ex.Message);
            throw;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested
            && (ex is OperationCanceledException || (ex is Protocol.Grpc.RpcException rpc && rpc.StatusCode == Protocol.Grpc.StatusCode.DeadlineExceeded)))
        {
            var error = QueryError.DeadlineExceeded($"the query did not finish within its deadline of {timeout.TotalMilliseconds:0} ms");
            RouterLog.QueryRejected(logger, queryId, error.HttpStatus, error.Code, null, error.Message);
            throw error;
        }
    }

    private void CheckOutputCells(IReadOnlyList<Compute.Execution.QueryResult> results)
    {
        long cells = 0;
        foreach (var r in results)
        {
            long n = 1;
            foreach (var s in r.Shape)
            {
                n *= s;
            }

            cells += n * Math.Max(1, r.Data.Count);
        }

        if (cells > options.MaxOutputCells)
        {
            throw QueryError.BadRequest("too_many_cells",
                $"the answer has {cells} cells (per op); the limit is {options.MaxOutputCells}: select a smaller region/time range or reduce over more dims", "select");
        }
    }
}
