using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Proxima.Compute.Query;
using Proxima.Protocol.V1;
using QuerySpec = Proxima.Compute.Query.QuerySpec;
using Proxima.QueryRouter.Dispatch;
using Proxima.QueryRouter.Http;
using Proxima.QueryRouter.Planning;

namespace Proxima.QueryRouter;

/// <summary>A finished query: one result per requested dataset, and what it cost.</summary>
internal sealed record QueryAnswer(QuerySpec Spec, IReadOnlyList<Compute.Execution.QueryResult> Results, QueryStats Stats);

/// <summary>
/// One query from request to answer: parse strictly, plan against the catalog, dispatch to the
/// regions, merge partials exactly, finalise and encode. Shared by the HTTP and gRPC front ends.
/// </summary>
internal sealed class QueryService(QueryPlanner planner, QueryDispatcher dispatcher, RouterOptions options, ILogger<QueryService> logger)
{
    public async Task<QueryAnswer> RunAsync(ReadOnlyMemory<byte> specJson, IProgress<Progress>? progress, CancellationToken cancellationToken)
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

        var timeout = spec.DeadlineMs is { } ms ? TimeSpan.FromMilliseconds(ms) : options.DefaultDeadline;
        var deadline = DateTime.UtcNow + timeout;
        using var deadlineCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadlineCts.CancelAfter(timeout);
        try
        {
            var canonical = QuerySpecWriter.ToUtf8(spec);
            var plan = await planner.PlanAsync(queryId, spec, canonical, deadlineCts.Token);
            RouterLog.QueryPlanned(logger, queryId, plan.Datasets.Count, plan.UnitCount);
            var outcome = await dispatcher.DispatchAsync(plan, deadline, progress, deadlineCts.Token);
            var results = ResultAssembly.Finalize(plan, outcome);
            outcome.Stats.Ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            RouterLog.QueryAnswered(logger, queryId, outcome.Stats.Ms, outcome.Stats.BytesCrossRegion);
            return new QueryAnswer(spec, results, outcome.Stats);
        }
        catch (QueryError ex)
        {
            RouterLog.QueryRejected(logger, queryId, ex.HttpStatus, ex.Code, ex.Field, ex.Message);
            throw;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var error = QueryError.DeadlineExceeded($"the query did not finish within its deadline of {timeout.TotalMilliseconds:0} ms");
            RouterLog.QueryRejected(logger, queryId, error.HttpStatus, error.Code, null, error.Message);
            throw error;
        }
    }
}
