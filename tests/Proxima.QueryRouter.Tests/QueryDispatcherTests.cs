using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Proxima.Catalog;
using Proxima.Compute.Query;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;
using Proxima.QueryRouter.Dispatch;
using Proxima.QueryRouter.Http;
using Proxima.QueryRouter.Planning;

namespace Proxima.QueryRouter.Tests;

public sealed class QueryDispatcherTests
{
    [Fact]
    public async Task A_unit_lost_on_one_worker_is_retried_on_another_and_merged_once()
    {
        var dead = FakeChannel.Of("r", "w0", (_, _) => throw new RpcException(StatusCode.Unavailable, "connection reset"));
        var alive = new FakeChannel("r", "w1");
        var (dispatcher, metrics) = Create([dead, alive]);
        var plan = Plan(allowPartial: false, units: 4);
        var outcome = await dispatcher.DispatchAsync(plan, DateTime.UtcNow.AddSeconds(10), null, CancellationToken.None);
        Assert.Equal(4, outcome.Partials[0].Count);
        Assert.Equal(4, outcome.Partials[0].Select(p => p.UnitId).Distinct().Count());
        Assert.True(outcome.Retries >= 1);
        Assert.True(metrics.Retries.Get("r") >= 1);
        ResultAssembly.CheckComplete(plan.Datasets[0], outcome.Partials[0], outcome.MissingUnits[0]);
    }

    /// <summary>
    /// A coordinated unit (a map merged in-region) carries the pool's other workers at their in-region
    /// addresses, set per attempt: the retry on another coordinator names that one's peers, not its own.
    /// </summary>
    [Fact]
    public async Task A_coordinated_unit_names_the_other_workers_in_region_and_a_retry_names_its_own_peers()
    {
        var dead = FakeChannel.Of("r", "w0", (_, _) => throw new RpcException(StatusCode.Unavailable, "connection reset"));
        var alive = FakeChannel.Of("r", "w1", (u, _) => new PartialResult { Dataset = "d", UnitId = u.UnitId, Stats = new UnitStats { Chunks = 6, ChunksTotal = 6 } });
        var third = new FakeChannel("r", "w2");
        var (dispatcher, _) = Create([dead, alive, third]);
        var plan = Plan(allowPartial: false, units: 1, coordinateShares: 3);
        var outcome = await dispatcher.DispatchAsync(plan, DateTime.UtcNow.AddSeconds(10), null, CancellationToken.None);
        Assert.Equal("w1", Assert.Single(outcome.Partials[0]).Stats.Worker);
        Assert.Equal(["http://w1.in-region.invalid/", "http://w2.in-region.invalid/"], Assert.Single(dead.Received).Peers);
        Assert.Equal(["http://w0.in-region.invalid/", "http://w2.in-region.invalid/"], Assert.Single(alive.Received).Peers);
        Assert.Empty(third.Received);
        Assert.Empty(plan.Datasets[0].Units[0].Message.Peers);
        ResultAssembly.CheckComplete(plan.Datasets[0], outcome.Partials[0], outcome.MissingUnits[0]);

        // A coordinator's partial must cover every chunk of its plan.
        Assert.False(plan.Datasets[0].Units[0].Covers(new PartialResult { Stats = new UnitStats { Chunks = 5, ChunksTotal = 6 } }));
    }

    /// <summary>
    /// A unit that discovers its peers (the region's addresses are load balancers) names none, on its first attempt and
    /// on the retry through the other address: the task behind the balancer finds its pool itself.
    /// </summary>
    [Fact]
    public async Task A_unit_that_discovers_its_peers_names_none_through_any_address()
    {
        var dead = FakeChannel.Of("r", "nlb0", (_, _) => throw new RpcException(StatusCode.Unavailable, "connection reset"));
        var alive = FakeChannel.Of("r", "nlb1", (u, _) => new PartialResult { Dataset = "d", UnitId = u.UnitId, Stats = new UnitStats { Chunks = 6, ChunksTotal = 6 } });
        var (dispatcher, _) = Create([dead, alive]);
        var plan = Plan(allowPartial: false, units: 1, coordinateShares: 1);
        plan.Datasets[0].Units[0].Message.DiscoverPeers = true;
        var outcome = await dispatcher.DispatchAsync(plan, DateTime.UtcNow.AddSeconds(10), null, CancellationToken.None);
        Assert.Equal("nlb1", Assert.Single(outcome.Partials[0]).Stats.Worker);
        foreach (var received in new[] { Assert.Single(dead.Received), Assert.Single(alive.Received) })
        {
            Assert.True(received.DiscoverPeers);
            Assert.Equal(1, received.CoordinateShares);
            Assert.Empty(received.Peers);
        }
    }

    [Fact]
    public async Task All_workers_of_a_region_dead_is_503_naming_it()
    {
        var channels = new[]
        {
            FakeChannel.Of("r", "w0", (_, _) => throw new RpcException(StatusCode.Unavailable, "refused")),
            FakeChannel.Of("r", "w1", (_, _) => throw new RpcException(StatusCode.Unavailable, "refused")),
        };
        var (dispatcher, _) = Create(channels);
        var error = await Assert.ThrowsAsync<QueryError>(() => dispatcher.DispatchAsync(Plan(false, 2), DateTime.UtcNow.AddSeconds(10), null, CancellationToken.None));
        Assert.Equal(503, error.HttpStatus);
        Assert.Equal("r", error.Region);
    }

    [Fact]
    public async Task All_workers_dead_with_allow_partial_lists_the_missing_part()
    {
        var channels = new[] { FakeChannel.Of("r", "w0", (_, _) => throw new RpcException(StatusCode.Unavailable, "refused")) };
        var (dispatcher, _) = Create(channels);
        var plan = Plan(true, 2);
        var outcome = await dispatcher.DispatchAsync(plan, DateTime.UtcNow.AddSeconds(10), null, CancellationToken.None);
        Assert.Empty(outcome.Partials[0]);
        Assert.Equal(["r:2000"], outcome.Missing[0]);
        ResultAssembly.CheckComplete(plan.Datasets[0], outcome.Partials[0], outcome.MissingUnits[0]);
    }

    [Fact]
    public async Task A_non_retryable_error_is_not_retried()
    {
        var calls = 0;
        var channels = new[]
        {
            FakeChannel.Of("r", "w0", (_, _) => { Interlocked.Increment(ref calls); throw new RpcException(StatusCode.PermissionDenied, "no"); }),
            FakeChannel.Of("r", "w1", (_, _) => { Interlocked.Increment(ref calls); throw new RpcException(StatusCode.PermissionDenied, "no"); }),
        };
        var (dispatcher, _) = Create(channels);
        var error = await Assert.ThrowsAsync<QueryError>(() => dispatcher.DispatchAsync(Plan(false, 1), DateTime.UtcNow.AddSeconds(10), null, CancellationToken.None));
        Assert.Equal(403, error.HttpStatus);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task At_most_three_attempts_per_unit()
    {
        var calls = 0;
        var channels = Enumerable.Range(0, 5).Select(i => FakeChannel.Of("r", "w" + i, (_, _) => { Interlocked.Increment(ref calls); throw new RpcException(StatusCode.Internal, "crash"); })).ToArray();
        var (dispatcher, _) = Create(channels);
        await Assert.ThrowsAsync<QueryError>(() => dispatcher.DispatchAsync(Plan(false, 1), DateTime.UtcNow.AddSeconds(10), null, CancellationToken.None));
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task A_unit_refused_by_full_workers_waits_for_room_without_using_up_its_attempts()
    {
        // Both workers are full for their first refusals (RESOURCE_EXHAUSTED from the worker's admission):
        // more refusals than MaxAttempts (3), and still the unit is answered, once, and nobody is marked down.
        var calls = 0;
        PartialResult FullThenRoom(WorkUnit unit, int refusals) =>
            Interlocked.Increment(ref calls) <= refusals ? throw new RpcException(StatusCode.ResourceExhausted, "worker is full") : Partial(unit, unit.ChunkEnd - unit.ChunkStart);
        var w0 = FakeChannel.Of("r", "w0", (_, _) => throw new RpcException(StatusCode.ResourceExhausted, "worker is full"));
        var w1 = FakeChannel.Of("r", "w1", (unit, _) => FullThenRoom(unit, 3));
        var (dispatcher, metrics) = Create([w0, w1]);
        var plan = Plan(false, 1);
        var outcome = await dispatcher.DispatchAsync(plan, DateTime.UtcNow.AddSeconds(10), null, CancellationToken.None);
        Assert.Equal("w1", Assert.Single(outcome.Partials[0]).Stats.Worker);
        Assert.Equal(4, calls);
        Assert.True(outcome.Retries >= 6, $"{outcome.Retries} retries");
        Assert.True(metrics.Retries.Get("r") >= 6);
        Assert.Same(w0, dispatcher.Pools.Pick("r", [w1]));
        ResultAssembly.CheckComplete(plan.Datasets[0], outcome.Partials[0], outcome.MissingUnits[0]);
    }

    [Fact]
    public async Task A_full_worker_that_stays_full_fails_the_unit_at_the_deadline_not_before()
    {
        var calls = 0;
        var full = FakeChannel.Of("r", "w0", (_, _) => { Interlocked.Increment(ref calls); throw new RpcException(StatusCode.ResourceExhausted, "worker is full"); });
        var (dispatcher, _) = Create([full]);
        var deadline = DateTime.UtcNow.AddMilliseconds(1500);
        var error = await Assert.ThrowsAsync<QueryError>(() => dispatcher.DispatchAsync(Plan(false, 1), deadline, null, CancellationToken.None));
        Assert.True(error.HttpStatus == 504, $"{error.HttpStatus} {error.Code}: {error.Message}");
        Assert.True(DateTime.UtcNow >= deadline, $"gave up {(deadline - DateTime.UtcNow).TotalMilliseconds:0} ms before the deadline");
        Assert.True(calls > 3, $"{calls} calls: full refusals used up the unit's 3 attempts");
    }

    [Fact]
    public async Task A_query_cancelled_by_its_caller_is_an_OperationCanceledException_not_a_499()
    {
        // The caller's token is the deadline's timer (or the client going away); its timer may fire before
        // DateTime.UtcNow reaches the deadline, so the caller, not the dispatcher, maps it to 504 or nothing.
        var holding = new FakeChannel("r", "w0", async (_, ct) => { await Task.Delay(Timeout.Infinite, ct); return null!; });
        var (dispatcher, _) = Create([holding]);
        using var cancel = new CancellationTokenSource();
        var dispatch = dispatcher.DispatchAsync(Plan(false, 1), DateTime.UtcNow.AddSeconds(10), null, cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => dispatch);
        await holding.Cancelled.Task;
    }

    [Fact]
    public async Task A_worker_answering_the_wrong_chunk_count_is_not_merged()
    {
        var liar = FakeChannel.Of("r", "w0", (unit, _) => Partial(unit, chunks: 1 + unit.ChunkEnd - unit.ChunkStart));
        var honest = new FakeChannel("r", "w1");
        var (dispatcher, _) = Create([liar, honest]);
        var plan = Plan(false, 2);
        var outcome = await dispatcher.DispatchAsync(plan, DateTime.UtcNow.AddSeconds(10), null, CancellationToken.None);
        Assert.All(outcome.Partials[0], p => Assert.Equal("w1", p.Stats.Worker));
        ResultAssembly.CheckComplete(plan.Datasets[0], outcome.Partials[0], outcome.MissingUnits[0]);
    }

    [Fact]
    public void The_completeness_check_refuses_duplicates_and_silent_gaps()
    {
        var plan = Plan(false, 2);
        var units = plan.Datasets[0].Units;
        var a = Partial(units[0].Message, units[0].Message.ChunkEnd - units[0].Message.ChunkStart);
        Assert.Equal("incomplete_merge", Assert.Throws<QueryError>(() => ResultAssembly.CheckComplete(plan.Datasets[0], [a, a], new HashSet<string>())).Code);
        Assert.Equal("incomplete_merge", Assert.Throws<QueryError>(() => ResultAssembly.CheckComplete(plan.Datasets[0], [a], new HashSet<string>())).Code);
        ResultAssembly.CheckComplete(plan.Datasets[0], [a], new HashSet<string> { units[1].Message.UnitId });
    }

    [Fact]
    public async Task A_straggler_is_hedged_after_the_pools_p95_and_the_first_answer_wins()
    {
        var time = new ManualTimeProvider();
        var straggling = new TaskCompletionSource();
        var slow = new FakeChannel("r", "slow", async (unit, ct) =>
        {
            if (unit.UnitId.EndsWith("/hedge", StringComparison.Ordinal))
            {
                straggling.TrySetResult();
                await Task.Delay(Timeout.Infinite, ct);
            }

            return Partial(unit, unit.ChunkEnd - unit.ChunkStart);
        });
        var fast = new FakeChannel("r", "fast");
        var (dispatcher, metrics) = Create([slow, fast], time, hedgeMinSamples: 4);
        var pools = dispatcher.Pools;
        for (var i = 0; i < 10; i++)
        {
            pools.RecordLatency("r", TimeSpan.FromMilliseconds(50));
        }

        var plan = Plan(false, 1, unitSuffix: "/hedge", pinFirst: true);
        pools.MarkFailed(fast); // the first pick goes to the slow worker
        var running = dispatcher.DispatchAsync(plan, DateTime.UtcNow.AddSeconds(30), null, CancellationToken.None);
        await straggling.Task;
        pools.MarkHealthy(fast);
        Assert.False(running.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(60));
        var outcome = await running.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("fast", Assert.Single(outcome.Partials[0]).Stats.Worker);
        Assert.Equal(1, outcome.Hedges);
        Assert.Equal(1, metrics.Hedges.Get("r"));
        Assert.True(slow.Cancelled.Task.IsCompleted, "the losing copy was cancelled");
    }

    [Fact]
    public async Task A_straggler_is_not_hedged_once_the_pools_hedge_budget_is_spent()
    {
        var time = new ManualTimeProvider();
        var calls = 0;
        TaskCompletionSource[] straggling = [new(), new()];
        var release = new TaskCompletionSource();
        var slow = new FakeChannel("r", "slow", async (unit, ct) =>
        {
            var call = Interlocked.Increment(ref calls);
            straggling[call - 1].TrySetResult();
            await (call == 1 ? Task.Delay(Timeout.Infinite, ct) : release.Task.WaitAsync(ct));
            return Partial(unit, unit.ChunkEnd - unit.ChunkStart);
        });
        var fast = new FakeChannel("r", "fast");
        var (dispatcher, metrics) = Create([slow, fast], time, hedgeMinSamples: 4, hedgeRatio: 0, hedgeBurst: 1);
        var pools = dispatcher.Pools;
        for (var i = 0; i < 10; i++)
        {
            pools.RecordLatency("r", TimeSpan.FromMilliseconds(50));
        }

        // The budget's one token goes to the straggler of a first query.
        foreach (var (query, index) in new[] { ("/first", 0), ("/second", 1) })
        {
            pools.MarkFailed(fast); // the first pick goes to the slow worker
            var running = dispatcher.DispatchAsync(Plan(false, 1, unitSuffix: query), DateTime.UtcNow.AddSeconds(30), null, CancellationToken.None);
            await straggling[index].Task;
            pools.MarkHealthy(fast);
            time.Advance(TimeSpan.FromMilliseconds(60));
            if (index == 0)
            {
                var hedged = await running.WaitAsync(TimeSpan.FromSeconds(10));
                Assert.Equal("fast", Assert.Single(hedged.Partials[0]).Stats.Worker);
                Assert.Equal(1, hedged.Hedges);
                continue;
            }

            await WaitUntilAsync(() => metrics.HedgesDenied.Get("r") == 1);
            Assert.False(running.IsCompleted);
            release.SetResult();
            var outcome = await running.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal("slow", Assert.Single(outcome.Partials[0]).Stats.Worker);
            Assert.Equal(0, outcome.Hedges);
            Assert.Equal(1, metrics.Hedges.Get("r"));
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(5, timeout.Token);
        }
    }

    private static (TestDispatcher Dispatcher, RouterMetrics Metrics) Create(FakeChannel[] channels, TimeProvider? time = null, int hedgeMinSamples = 20, double hedgeRatio = 0.05, double hedgeBurst = 10)
    {
        time ??= TimeProvider.System;
        var byAddress = channels.ToDictionary(c => c.Address);
        var pools = new WorkerPools(new Dictionary<string, IReadOnlyList<Uri>> { ["r"] = channels.Select(c => c.Address).ToList() }, (_, uri) => byAddress[uri], time);
        var options = new RouterOptions
        {
            CatalogPath = "x",
            Workers = new Dictionary<string, IReadOnlyList<Uri>>(),
            RetryBackoff = TimeSpan.FromMilliseconds(1),
            HedgeMinSamples = hedgeMinSamples,
            HedgeRatio = hedgeRatio,
            HedgeBurst = hedgeBurst,
        };
        var metrics = new RouterMetrics();
        return (new TestDispatcher(new QueryDispatcher(pools, options, metrics, time, NullLogger<QueryDispatcher>.Instance), pools), metrics);
    }

    internal sealed record TestDispatcher(QueryDispatcher Inner, WorkerPools Pools)
    {
        public Task<DispatchOutcome> DispatchAsync(QueryPlan plan, DateTime deadline, IProgress<Progress>? progress, CancellationToken cancellationToken) =>
            Inner.DispatchAsync(plan, deadline, progress, cancellationToken);
    }

    private static QueryPlan Plan(bool allowPartial, int units, string unitSuffix = "", bool pinFirst = false, int coordinateShares = 0)
    {
        _ = pinFirst;
        var json = Encoding.UTF8.GetBytes($$"""{ "datasets": ["d"], "variable": "t", "allow_partial": {{(allowPartial ? "true" : "false")}} }""");
        var spec = QuerySpecParser.Parse(json);
        var part = new DatasetDocument { Id = "d", Region = "r", Uri = "d.zarr", Format = DatasetFormat.ZarrV2, Fingerprint = "f", Part = "2000" };
        var planned = new List<PlannedUnit>();
        for (var k = 0; k < units; k++)
        {
            planned.Add(new PlannedUnit("r", part, new WorkUnit
            {
                QueryId = "q",
                UnitId = $"q/0/0/{k}{unitSuffix}",
                Dataset = "d",
                Path = "d.zarr",
                ChunkStart = k * 3,
                ChunkEnd = (k + 1) * 3,
                AllChunks = coordinateShares > 0,
                CoordinateShares = coordinateShares,
            }));
        }

        return new QueryPlan("q", spec, [new DatasetPlan("d", 0, [part], planned)]);
    }

    private static PartialResult Partial(WorkUnit unit, long chunks) => new()
    {
        Dataset = unit.Dataset,
        UnitId = unit.UnitId,
        Stats = new UnitStats { Chunks = chunks },
    };

    private sealed class FakeChannel(string region, string name, Func<WorkUnit, CancellationToken, Task<PartialResult>>? behaviour = null) : IWorkerChannel
    {
        public static FakeChannel Of(string region, string name, Func<WorkUnit, CancellationToken, PartialResult> behaviour) =>
            new(region, name, (u, ct) => Task.FromResult(behaviour(u, ct)));

        public string Region { get; } = region;

        public Uri Address { get; } = new($"http://{name}.invalid/");

        public Uri InRegionAddress { get; } = new($"http://{name}.in-region.invalid/");

        /// <summary>The units this worker was sent, as sent.</summary>
        public System.Collections.Concurrent.ConcurrentQueue<WorkUnit> Received { get; } = new();

        public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async IAsyncEnumerable<WorkerEvent> ExecuteAsync(WorkUnit unit, DateTime deadline, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            Received.Enqueue(unit);
            await Task.Yield();
            PartialResult partial;
            try
            {
                partial = behaviour is null ? Partial(unit, unit.ChunkEnd - unit.ChunkStart) : await behaviour(unit, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Cancelled.TrySetResult();
                throw new RpcException(StatusCode.Cancelled, "cancelled");
            }

            partial.Stats.Worker = name;
            yield return new WorkerEvent { Partial = partial };
        }

        public Task<UnitPlan> PlanAsync(WorkUnit unit, DateTime deadline, CancellationToken cancellationToken) => Task.FromResult(new UnitPlan { ChunkCount = 6 });

        public Task<PingResponse> PingAsync(PingRequest request, DateTime deadline, CancellationToken cancellationToken) => Task.FromResult(new PingResponse());

        public void Dispose()
        {
        }
    }
}

/// <summary>A clock the test moves by hand (timers fire on <see cref="Advance"/>).</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly List<ManualTimer> _timers = [];
    private long _ticks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(GetTimestamp());

    public void Advance(TimeSpan by)
    {
        Interlocked.Add(ref _ticks, by.Ticks);
        List<ManualTimer> due;
        lock (_timers)
        {
            due = _timers.Where(t => t.DueAt <= _ticks).ToList();
        }

        foreach (var t in due)
        {
            t.Fire();
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public long DueAt { get; private set; } = long.MaxValue;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._timers)
            {
                owner._timers.Remove(this);
                if (dueTime != Timeout.InfiniteTimeSpan)
                {
                    DueAt = owner.GetTimestamp() + dueTime.Ticks;
                    owner._timers.Add(this);
                }
            }

            return true;
        }

        public void Fire()
        {
            lock (owner._timers)
            {
                if (!owner._timers.Remove(this))
                {
                    return;
                }
            }

            callback(state);
        }

        public void Dispose()
        {
            lock (owner._timers)
            {
                owner._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
