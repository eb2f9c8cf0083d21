using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Proxima.Protocol;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;
using Proxima.QueryRouter.Http;
using Proxima.QueryRouter.Planning;
using Proxima.Shared;

namespace Proxima.QueryRouter.Dispatch;

/// <summary>What came back from the regions for one query.</summary>
internal sealed class DispatchOutcome
{
    /// <summary>Partial results per dataset index of the plan (exactly one per answered unit).</summary>
    public required IReadOnlyList<List<PartialResult>> Partials { get; init; }

    /// <summary>Per dataset index, the same partials decoded and merged as they arrived.</summary>
    public required IReadOnlyList<PartialAccumulator> Merged { get; init; }

    /// <summary>Per dataset index, the regions/parts that did not answer (only with allow_partial).</summary>
    public required IReadOnlyList<List<string>> Missing { get; init; }

    /// <summary>Per dataset index, the unit ids that did not answer (only with allow_partial).</summary>
    public required IReadOnlyList<HashSet<string>> MissingUnits { get; init; }

    public required QueryStats Stats { get; init; }

    public int Retries { get; set; }

    public int Hedges { get; set; }
}

/// <summary>
/// Sends every work unit of a plan to a worker of its region, concurrently, and collects exactly one
/// partial result per unit. A unit that fails with a retryable status (lost connection, crash,
/// overload) is retried on another worker of the pool, at most <see cref="RouterOptions.MaxAttempts"/>
/// attempts with jittered exponential backoff; one still running after the pool's observed p95 is
/// hedged on another worker and the first answer wins. A region that cannot answer fails the query
/// with 503 naming it, unless the query allows partial answers; the deadline fails it with 504.
/// </summary>
internal sealed class QueryDispatcher(WorkerPools pools, RouterOptions options, RouterMetrics metrics, TimeProvider time, ILogger<QueryDispatcher> logger)
{
    private const string CancelledCode = "cancelled";

    private readonly ConcurrentDictionary<string, HedgeBudget> _hedgeBudgets = new(StringComparer.Ordinal);

    public async Task<DispatchOutcome> DispatchAsync(QueryPlan plan, DateTime deadline, IProgress<Progress>? progress, CancellationToken cancellationToken)
    {
        var partials = new List<PartialResult>[plan.Datasets.Count];
        var merged = new PartialAccumulator[plan.Datasets.Count];
        var missing = new List<string>[plan.Datasets.Count];
        var missingUnits = new HashSet<string>[plan.Datasets.Count];
        foreach (var dataset in plan.Datasets)
        {
            partials[dataset.Index] = [];
            merged[dataset.Index] = new PartialAccumulator();
            missing[dataset.Index] = [.. dataset.MissingAtPlan];
            missingUnits[dataset.Index] = [];
        }

        var stats = new QueryStats();
        var started = Stopwatch.GetTimestamp();
        using var failFast = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tracker = new ProgressTracker(progress, plan.UnitCount);
        var counters = new Counters();
        var tasks = new List<Task<UnitOutcome>>(plan.UnitCount);
        foreach (var dataset in plan.Datasets)
        {
            foreach (var unit in dataset.Units)
            {
                tasks.Add(RunUnitAsync(dataset.Index, unit, deadline, tracker, counters, failFast.Token));
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
                if (firstError is null)
                {
                    // Merged now, while slower units still run: after the last one only its own merge is left.
                    merged[outcome.DatasetIndex].Add(partial);
                }

                AddRegionStats(stats, outcome.Unit.Region, partial.Stats);
                continue;
            }

            var error = outcome.Error!;
            if (plan.Spec.AllowPartial && error.HttpStatus == 503)
            {
                if (!missing[outcome.DatasetIndex].Contains(outcome.Unit.MissingLabel))
                {
                    missing[outcome.DatasetIndex].Add(outcome.Unit.MissingLabel);
                }

                missingUnits[outcome.DatasetIndex].Add(outcome.Unit.Message.UnitId);
                continue;
            }

            if (firstError is null)
            {
                firstError = error;
                await failFast.CancelAsync();
            }
        }

        metrics.BytesCrossRegion.Add(stats.BytesCrossRegion);
        if (firstError is not null)
        {
            // Units stopped by the query's own cancellation (the deadline's timer, the client gone) report
            // "cancelled"; which of the two it was is the caller's to say (504 or nothing), not a 499 here.
            // (The deadline timer can fire a little before DateTime.UtcNow reaches the deadline.)
            if (firstError.Code == CancelledCode)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            throw firstError;
        }

        stats.Ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        return new DispatchOutcome
        {
            Partials = partials,
            Merged = merged,
            Missing = missing,
            MissingUnits = missingUnits,
            Stats = stats,
            Retries = counters.Retries,
            Hedges = counters.Hedges,
        };
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

    /// <summary>
    /// One unit to its single partial result: attempts on distinct workers, with hedging and backoff. A
    /// worker that refuses the unit because it is full (RESOURCE_EXHAUSTED: its running and queued units
    /// are at their limits) is busy, not broken: the unit goes to the pool's other workers at once, and
    /// when all of them are full it waits a backoff and asks again, until the deadline; such refusals do
    /// not use up the unit's <see cref="RouterOptions.MaxAttempts"/>.
    /// </summary>
    private async Task<UnitOutcome> RunUnitAsync(int datasetIndex, PlannedUnit unit, DateTime deadline, ProgressTracker tracker, Counters counters, CancellationToken cancellationToken)
    {
        if (options.Hedging)
        {
            HedgeBudgetOf(unit.Region).Deposit();
        }

        var tried = new List<IWorkerChannel>(options.MaxAttempts + 1);
        var full = new List<IWorkerChannel>();
        var fullRounds = 0;
        long bytes = 0;
        Attempt? last = null;
        for (var attempt = 0; attempt < options.MaxAttempts; attempt++)
        {
            var channel = pools.Pick(unit.Region, tried);
            if (channel is null && full.Count > 0)
            {
                // Every worker left is full: wait, then ask them again.
                foreach (var f in full)
                {
                    tried.Remove(f);
                }

                full.Clear();
                var wait = TimeSpan.FromMilliseconds(Math.Min(1000, options.RetryBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(fullRounds++, 6)) * (0.5 + Random.Shared.NextDouble())));
                RouterLog.UnitWaiting(logger, unit.Message.UnitId, unit.Region, wait.TotalMilliseconds);
                if (!await DelayAsync(wait, cancellationToken))
                {
                    break;
                }

                channel = pools.Pick(unit.Region, tried);
            }

            if (channel is null)
            {
                break;
            }

            tried.Add(channel);
            var result = await RunHedgedAsync(unit, channel, tried, deadline, tracker, counters, cancellationToken);
            bytes += result.Bytes;
            if (result.Partial is not null)
            {
                tracker.Complete(unit.Message.UnitId);
                return new UnitOutcome(datasetIndex, unit, bytes, result.Partial, null);
            }

            last = result;
            if (!result.Retryable || cancellationToken.IsCancellationRequested || DateTime.UtcNow >= deadline)
            {
                break;
            }

            if (result.Full)
            {
                full.Add(channel);
                attempt--;
                Interlocked.Increment(ref counters.Retries);
                metrics.Retries.Add(unit.Region);
                continue;
            }

            if (attempt + 1 < options.MaxAttempts)
            {
                Interlocked.Increment(ref counters.Retries);
                metrics.Retries.Add(unit.Region);
                var backoff = options.RetryBackoff * Math.Pow(2, attempt) * (0.5 + Random.Shared.NextDouble());
                RouterLog.UnitRetrying(logger, unit.Message.UnitId, unit.Region, attempt + 2, backoff.TotalMilliseconds);
                if (!await DelayAsync(backoff, cancellationToken))
                {
                    break;
                }
            }
        }

        QueryError error;
        if (DateTime.UtcNow >= deadline && (last is null || last.Retryable || last.Error?.HttpStatus == 504))
        {
            error = QueryError.DeadlineExceeded($"the query's deadline passed while waiting for region {unit.Region}");
        }
        else if (last is { Retryable: false, Error: { } fatal })
        {
            error = fatal;
        }
        else
        {
            error = QueryError.RegionUnavailable(unit.Region,
                $"region {unit.Region} is unavailable: unit {unit.Message.UnitId} of '{unit.Message.Dataset}' failed on {tried.Count} worker(s)" +
                (last?.Error is { } e ? $" (last: {e.Message})" : ""));
        }

        return new UnitOutcome(datasetIndex, unit, bytes, null, error);
    }

    /// <summary>
    /// Runs the unit on <paramref name="primary"/>; when the pool has seen enough units and this one runs
    /// past their p95, starts a copy on another worker. The first success wins and the other is cancelled.
    /// </summary>
    private async Task<Attempt> RunHedgedAsync(PlannedUnit unit, IWorkerChannel primary, List<IWorkerChannel> tried, DateTime deadline, ProgressTracker tracker, Counters counters, CancellationToken cancellationToken)
    {
        using var primaryCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var first = AttemptAsync(unit, primary, deadline, tracker, primaryCts.Token);
        var p95 = options.Hedging && pools.PoolSize(unit.Region) > 1 ? pools.P95(unit.Region, options.HedgeMinSamples) : null;
        if (p95 is not { } hedgeAfter)
        {
            return await first;
        }

        using var delayCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(hedgeAfter, time, delayCts.Token);
        if (await Task.WhenAny(first, delay) == first)
        {
            await delayCts.CancelAsync();
            return await first;
        }

        var other = pools.Pick(unit.Region, tried);
        if (other is null || cancellationToken.IsCancellationRequested)
        {
            return await first;
        }

        if (!HedgeBudgetOf(unit.Region).TryWithdraw())
        {
            metrics.HedgesDenied.Add(unit.Region);
            RouterLog.HedgeDenied(logger, unit.Message.UnitId, unit.Region, hedgeAfter.TotalMilliseconds, options.HedgeRatio);
            return await first;
        }

        tried.Add(other);
        Interlocked.Increment(ref counters.Hedges);
        metrics.Hedges.Add(unit.Region);
        RouterLog.UnitHedged(logger, unit.Message.UnitId, unit.Region, other.Address.ToString(), hedgeAfter.TotalMilliseconds);
        using var hedgeCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var second = AttemptAsync(unit, other, deadline, tracker, hedgeCts.Token);
        var winner = await Task.WhenAny(first, second);
        var loser = winner == first ? second : first;
        var result = await winner;
        if (result.Partial is not null)
        {
            await (winner == first ? hedgeCts : primaryCts).CancelAsync();
            var lost = await loser;
            return result with { Bytes = result.Bytes + lost.Bytes };
        }

        var fallback = await loser;
        return fallback with { Bytes = result.Bytes + fallback.Bytes };
    }

    private HedgeBudget HedgeBudgetOf(string region) =>
        _hedgeBudgets.GetOrAdd(region, _ => new HedgeBudget(options.HedgeRatio, options.HedgeBurst));

    /// <summary>One call to one worker. Never throws: failures come back classified as retryable or not.</summary>
    private async Task<Attempt> AttemptAsync(PlannedUnit unit, IWorkerChannel channel, DateTime deadline, ProgressTracker tracker, CancellationToken cancellationToken)
    {
        metrics.Units.Add(unit.Region);
        var started = time.GetTimestamp();
        var message = unit.Coordinated ? WithPeers(unit.Message, channel) : unit.Message;
        long bytes = message.CalculateSize() + 5;
        PartialResult? partial = null;
        try
        {
            await foreach (var e in channel.ExecuteAsync(message, deadline, cancellationToken))
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
                return Fail(channel, unit, bytes, true, QueryError.RegionUnavailable(unit.Region, $"worker {channel.Address} in {unit.Region} ended unit {unit.Message.UnitId} without a result"));
            }

            // Completeness: the answer is for this unit and covers exactly its chunk range.
            if (partial.UnitId != unit.Message.UnitId || !unit.Covers(partial))
            {
                return Fail(channel, unit, bytes, true, QueryError.RegionUnavailable(unit.Region,
                    $"worker {channel.Address} answered unit '{partial.UnitId}' with {partial.Stats?.Chunks} chunk(s) for '{unit.Message.UnitId}' ({unit.ChunkCount} chunk(s))"));
            }

            var elapsed = time.GetElapsedTime(started);
            pools.MarkHealthy(channel);
            pools.RecordLatency(unit.Region, elapsed);
            metrics.UnitLatency.Observe(elapsed);
            metrics.BytesRead.Add(unit.Region, partial.Stats?.BytesRead ?? 0);
            return new Attempt(partial, null, false, bytes);
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            RouterLog.UnitFailed(logger, unit.Message.UnitId, unit.Region, channel.Address.ToString(), ex.StatusCode.ToString(), ex.Status.Detail);
            if (ex.StatusCode == StatusCode.DeadlineExceeded || DateTime.UtcNow >= deadline)
            {
                return new Attempt(null, QueryError.DeadlineExceeded($"the query's deadline passed in region {unit.Region}"), false, bytes);
            }

            if (ex.StatusCode == StatusCode.ResourceExhausted)
            {
                // Full, not failing: it stays healthy and may get the unit again later.
                return new Attempt(null, WorkerErrors.ToQueryError(ex, unit.Region, unit.Message.UnitId), true, bytes) { Full = true };
            }

            var retryable = WorkerErrors.IsRetryable(ex.StatusCode);
            return Fail(channel, unit, bytes, retryable, WorkerErrors.ToQueryError(ex, unit.Region, unit.Message.UnitId));
        }
        catch (Exception ex) when (ex is RpcException or OperationCanceledException)
        {
            // Cancelled by the query (deadline, client gone, fail-fast, or a hedge that lost).
            return new Attempt(null, DateTime.UtcNow >= deadline
                ? QueryError.DeadlineExceeded($"the query's deadline passed while waiting for region {unit.Region}")
                : new QueryError(499, CancelledCode, "the query was cancelled"), false, bytes);
        }
    }

    /// <summary>
    /// A coordinated unit for <paramref name="coordinator"/>: the pool's other workers now, at their in-region
    /// addresses (set per attempt: a retry or hedge has another coordinator, and membership may have changed); none for a
    /// unit that discovers its peers (<c>discover_peers</c>: the region's address is a load balancer).
    /// </summary>
    private WorkUnit WithPeers(WorkUnit unit, IWorkerChannel coordinator)
    {
        var message = unit.Clone();
        message.NoShareHedging = !options.Hedging;
        message.Peers.Clear();
        if (message.DiscoverPeers)
        {
            return message; // the region's address is a load balancer: the coordinator finds its peers itself
        }

        foreach (var peer in pools.Channels(coordinator.Region))
        {
            if (peer != coordinator)
            {
                message.Peers.Add(peer.InRegionAddress.ToString());
            }
        }

        return message;
    }

    private async Task<bool> DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, time, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private Attempt Fail(IWorkerChannel channel, PlannedUnit unit, long bytes, bool retryable, QueryError error)
    {
        if (retryable)
        {
            pools.MarkFailed(channel);
        }

        _ = unit;
        return new Attempt(null, error, retryable, bytes);
    }

    private sealed record Attempt(PartialResult? Partial, QueryError? Error, bool Retryable, long Bytes)
    {
        /// <summary>The worker refused the unit because it is full (RESOURCE_EXHAUSTED).</summary>
        public bool Full { get; init; }
    }

    private sealed record UnitOutcome(int DatasetIndex, PlannedUnit Unit, long BytesCrossRegion, PartialResult? Partial, QueryError? Error);

    private sealed class Counters
    {
        public int Retries;
        public int Hedges;
    }

    /// <summary>
    /// Sums per-unit progress into one query-wide figure, reported once every unit has said how many chunks
    /// it has: a fast unit's 100% before a slower region's first report would be the query's 100% too early.
    /// </summary>
    private sealed class ProgressTracker(IProgress<Progress>? sink, int units)
    {
        private readonly Dictionary<string, Progress> _units = [];

        public void Report(string unitId, Progress progress)
        {
            if (sink is null)
            {
                return;
            }

            lock (_units)
            {
                // A unit's copies (a retry from the start, a hedge) report from separate runs: keep the furthest.
                _units[unitId] = progress.Furthest(_units.GetValueOrDefault(unitId));
                if (_units.Count < units)
                {
                    return;
                }

                var total = new Progress();
                foreach (var p in _units.Values)
                {
                    total.ChunksDone += p.ChunksDone;
                    total.ChunksTotal += p.ChunksTotal;
                    total.BytesRead += p.BytesRead;
                }

                // Under the lock, so totals reach the sink in the order they were summed (two units reporting
                // at once could otherwise hand it an older, smaller total last).
                sink.Report(total);
            }
        }

        public void Complete(string unitId)
        {
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
