using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;
using Proxima.QueryRouter.Http;
using Proxima.QueryRouter.Planning;

namespace Proxima.QueryRouter.Dispatch;

/// <summary>What came back from the regions for one query.</summary>
internal sealed class DispatchOutcome
{
    /// <summary>Partial results per dataset index of the plan.</summary>
    public required IReadOnlyList<List<PartialResult>> Partials { get; init; }

    /// <summary>Per dataset index, the regions/parts that did not answer (only with allow_partial).</summary>
    public required IReadOnlyList<List<string>> Missing { get; init; }

    public required QueryStats Stats { get; init; }
}

/// <summary>
/// Sends every work unit of a plan to a worker of its region, concurrently, and collects exactly one
/// partial result per unit. A region that cannot answer fails the query with 503 naming it, unless
/// the query allows partial answers; the deadline fails it with 504.
/// </summary>
internal sealed class QueryDispatcher(WorkerPools pools, ILogger<QueryDispatcher> logger)
{
    public async Task<DispatchOutcome> DispatchAsync(QueryPlan plan, DateTime deadline, IProgress<Progress>? progress, CancellationToken cancellationToken)
    {
        var partials = new List<PartialResult>[plan.Datasets.Count];
        var missing = new List<string>[plan.Datasets.Count];
        for (var i = 0; i < partials.Length; i++)
        {
            partials[i] = [];
            missing[i] = [];
        }

        var stats = new QueryStats();
        var started = Stopwatch.GetTimestamp();
        using var failFast = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tracker = new ProgressTracker(plan, progress);
        var tasks = new List<Task<UnitOutcome>>(plan.UnitCount);
        foreach (var dataset in plan.Datasets)
        {
            foreach (var unit in dataset.Units)
            {
                tasks.Add(RunUnitAsync(dataset.Index, unit, deadline, tracker, failFast.Token));
            }
        }

        QueryError? firstError = null;
        while (tasks.Count > 0)
        {
            var done = await Task.WhenAny(tasks);
            tasks.Remove(done);
            var outcome = await done;
            stats.BytesCrossRegion += outcome.BytesCrossRegion;
            if (outcome.Partial is { } partial)
            {
                partials[outcome.DatasetIndex].Add(partial);
                AddRegionStats(stats, outcome.Region, partial.Stats);
                continue;
            }

            var error = outcome.Error!;
            if (plan.Spec.AllowPartial && error.HttpStatus == 503)
            {
                missing[outcome.DatasetIndex].Add($"{outcome.Region}:{outcome.UnitId}");
                continue;
            }

            if (firstError is null)
            {
                firstError = error;
                await failFast.CancelAsync();
            }
        }

        if (firstError is not null)
        {
            throw firstError;
        }

        stats.Ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        return new DispatchOutcome { Partials = partials, Missing = missing, Stats = stats };
    }

    private static void AddRegionStats(QueryStats stats, string region, UnitStats? unit)
    {
        if (!stats.Regions.TryGetValue(region, out var regionStats))
        {
            regionStats = new RegionStats();
            stats.Regions[region] = regionStats;
        }

        if (unit is not null)
        {
            regionStats.Chunks += unit.Chunks;
            regionStats.BytesRead += unit.BytesRead;
            regionStats.Ms = Math.Max(regionStats.Ms, unit.Ms);
        }
    }

    private async Task<UnitOutcome> RunUnitAsync(int datasetIndex, PlannedUnit unit, DateTime deadline, ProgressTracker tracker, CancellationToken cancellationToken)
    {
        var channel = pools.Pick(unit.Region);
        long bytes = unit.Message.CalculateSize() + 5;
        PartialResult? partial = null;
        try
        {
            await foreach (var e in channel.ExecuteAsync(unit.Message, deadline, cancellationToken))
            {
                bytes += e.CalculateSize() + 5;
                switch (e.EventCase)
                {
                    case WorkerEvent.EventOneofCase.Progress:
                        tracker.Report(unit.Message.UnitId, e.Progress);
                        break;
                    case WorkerEvent.EventOneofCase.Partial:
                        partial = e.Partial;
                        break;
                }
            }

            if (partial is null)
            {
                return UnitOutcome.Failed(datasetIndex, unit, bytes,
                    QueryError.RegionUnavailable(unit.Region, $"worker {channel.Address} in {unit.Region} ended unit {unit.Message.UnitId} without a result"));
            }

            if (partial.UnitId != unit.Message.UnitId)
            {
                return UnitOutcome.Failed(datasetIndex, unit, bytes,
                    new QueryError(502, "bad_worker_response", $"worker {channel.Address} answered unit {partial.UnitId} for {unit.Message.UnitId}"));
            }

            tracker.Complete(unit.Message.UnitId);
            return new UnitOutcome(datasetIndex, unit.Region, unit.Message.UnitId, bytes, partial, null);
        }
        catch (RpcException ex)
        {
            RouterLog.UnitFailed(logger, unit.Message.UnitId, unit.Region, channel.Address.ToString(), ex.StatusCode.ToString(), ex.Status.Detail);
            return UnitOutcome.Failed(datasetIndex, unit, bytes, MapError(ex, unit));
        }
        catch (HttpRequestException ex)
        {
            RouterLog.UnitFailed(logger, unit.Message.UnitId, unit.Region, channel.Address.ToString(), "Unavailable", ex.Message);
            return UnitOutcome.Failed(datasetIndex, unit, bytes,
                QueryError.RegionUnavailable(unit.Region, $"region {unit.Region} is unavailable: {ex.Message}"));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested || DateTime.UtcNow >= deadline)
        {
            return UnitOutcome.Failed(datasetIndex, unit, bytes, QueryError.DeadlineExceeded($"the query's deadline passed while waiting for region {unit.Region}"));
        }
    }

    private static QueryError MapError(RpcException ex, PlannedUnit unit) => ex.StatusCode switch
    {
        StatusCode.InvalidArgument => QueryError.BadRequest("bad_request", ex.Status.Detail, ex.Trailers.GetValue("proxima-field")),
        StatusCode.NotFound => QueryError.BadRequest("unknown_dataset", ex.Status.Detail),
        StatusCode.PermissionDenied => new QueryError(403, "forbidden", ex.Status.Detail),
        StatusCode.DeadlineExceeded => QueryError.DeadlineExceeded($"the query's deadline passed in region {unit.Region}"),
        StatusCode.ResourceExhausted => new QueryError(429, "resource_exhausted", ex.Status.Detail),
        StatusCode.DataLoss => new QueryError(500, "data_error", $"region {unit.Region}: {ex.Status.Detail}"),
        StatusCode.Unavailable or StatusCode.Cancelled or StatusCode.Unknown or StatusCode.Internal or StatusCode.Aborted =>
            QueryError.RegionUnavailable(unit.Region, $"region {unit.Region} failed unit {unit.Message.UnitId}: {ex.StatusCode}: {ex.Status.Detail}"),
        _ => new QueryError(500, "internal", $"region {unit.Region}: {ex.StatusCode}: {ex.Status.Detail}"),
    };

    private sealed record UnitOutcome(int DatasetIndex, string Region, string UnitId, long BytesCrossRegion, PartialResult? Partial, QueryError? Error)
    {
        public static UnitOutcome Failed(int datasetIndex, PlannedUnit unit, long bytes, QueryError error) =>
            new(datasetIndex, unit.Region, unit.Message.UnitId, bytes, null, error);
    }

    /// <summary>Sums per-unit progress into one query-wide figure.</summary>
    private sealed class ProgressTracker(QueryPlan plan, IProgress<Progress>? sink)
    {
        private readonly Dictionary<string, Progress> _units = [];

        public void Report(string unitId, Progress progress)
        {
            if (sink is null)
            {
                return;
            }

            Progress total;
            lock (_units)
            {
                _units[unitId] = progress;
                total = new Progress();
                foreach (var p in _units.Values)
                {
                    total.ChunksDone += p.ChunksDone;
                    total.ChunksTotal += p.ChunksTotal;
                    total.BytesRead += p.BytesRead;
                }
            }

            sink.Report(total);
        }

        public void Complete(string unitId)
        {
            _ = plan;
            if (sink is null)
            {
                return;
            }

            lock (_units)
            {
                if (_units.TryGetValue(unitId, out var p))
                {
                    p.ChunksDone = p.ChunksTotal;
                }
            }
        }
    }
}
