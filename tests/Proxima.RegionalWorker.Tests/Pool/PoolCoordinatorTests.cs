using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Proxima.Protocol;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;
using Proxima.Tests.Infrastructure;

namespace Proxima.RegionalWorker.Tests.Pool;

/// <summary>
/// A zarr-python/xarray store of 8 time chunks over a 40 x 50 map (NaNs included) and numpy's per-cell
/// count, sum, M2, min and max over time: what one coordinated unit must answer however its shares ran.
/// </summary>
public sealed class PoolDataFixture : IAsyncLifetime
{
    private readonly TempDirectory _root = new();

    public string DataRoot => _root.Combine("data");

    public string Certificates => _root.Combine("certs");

    public JsonElement Expected { get; private set; }

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(DataRoot);
        WorkerCertificates.GenerateLocal(Certificates);
        var output = await Python.RunCodeAsync("""
            import sys, json, numpy as np, pandas as pd, xarray as xr
            rng = np.random.default_rng(6)
            data = (280 + 12 * rng.standard_normal((48, 40, 50))).astype("float32")
            data[rng.random(data.shape) < 0.05] = np.nan
            ds = xr.Dataset({"t": (("time", "lat", "lon"), data)},
                            coords={"time": pd.date_range("2001-01-01", periods=48, freq="6h"),
                                    "lat": np.linspace(60, -60, 40), "lon": np.arange(50) * 7.0})
            ds.to_zarr(sys.argv[1] + "/d.zarr", mode="w", encoding={"t": {"chunks": (6, 40, 50)}})
            t = ds.t.astype("float64")
            mean = t.mean("time")
            out = {"count": t.count("time").values.ravel().tolist(), "sum": t.sum("time").values.ravel().tolist(),
                   "m2": ((t - mean) ** 2).sum("time").values.ravel().tolist(),
                   "min": [None if np.isnan(x) else float(x) for x in t.min("time").values.ravel()],
                   "max": [None if np.isnan(x) else float(x) for x in t.max("time").values.ravel()]}
            print(json.dumps(out))
            """, DataRoot);
        using var doc = JsonDocument.Parse(output);
        Expected = doc.RootElement.Clone();
    }

    public Task DisposeAsync()
    {
        _root.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>
/// Region-local merge on real workers (Kestrel on 127.0.0.1 port 0, HTTP/2 with mutual TLS): a coordinator
/// cuts a unit into shares, runs its own, calls its peers with its worker certificate, merges in-region and
/// answers one partial equal to numpy's, also when a peer is gone; cancelling the unit stops the peers' shares.
/// </summary>
public sealed class PoolCoordinatorTests(PoolDataFixture data) : IClassFixture<PoolDataFixture>
{
    private const int Cells = 40 * 50;

    [Fact]
    public async Task A_coordinated_unit_over_a_pool_of_three_answers_one_partial_equal_to_numpy()
    {
        await using var pool = await PoolAsync(3);
        var events = await ExecuteAsync(pool, Unit(3, pool.Urls[1], pool.Urls[2]), CancellationToken.None);
        var partial = Assert.Single(events, e => e.EventCase == WorkerEvent.EventOneofCase.Partial).Partial;
        Assert.Equal("q/0/0", partial.UnitId);
        Assert.Equal(8, partial.Stats.Chunks);
        Assert.Equal(8, partial.Stats.ChunksTotal);
        AssertNumpy(partial);

        // Each worker ran one share (8 chunks cut 2 + 3 + 3), the coordinator's own counted in its metrics.
        Assert.Equal([2L, 3L, 3L], pool.Metrics.Select(m => m.Chunks.Value));
        Assert.Equal(1, pool.Metrics[1].Units.Get("ok"));
        Assert.Equal(1, pool.Metrics[2].Units.Get("ok"));

        // The peers' progress was summed: the last report before the partial is all 8 chunks.
        var last = events.Last(e => e.EventCase == WorkerEvent.EventOneofCase.Progress).Progress;
        Assert.Equal((8L, 8L), (last.ChunksDone, last.ChunksTotal));
    }

    [Fact]
    public async Task A_share_whose_peer_is_gone_is_run_by_the_coordinator_and_the_answer_is_still_exact()
    {
        await using var pool = await PoolAsync(3);
        await pool.StopAsync(2);
        var events = await ExecuteAsync(pool, Unit(3, pool.Urls[1], pool.Urls[2]), CancellationToken.None);
        var partial = Assert.Single(events, e => e.EventCase == WorkerEvent.EventOneofCase.Partial).Partial;
        Assert.Equal(8, partial.Stats.Chunks);
        AssertNumpy(partial);
        Assert.Equal(2 + 3, pool.Metrics[0].Chunks.Value);
    }

    [Fact]
    public async Task Cancelling_a_coordinated_unit_stops_the_share_a_peer_holds()
    {
        await using var pool = await PoolAsync(2, holdSharesOn: 1);
        using var cancel = new CancellationTokenSource();
        var running = ExecuteAsync(pool, Unit(2, pool.Urls[1]), cancel.Token);
        await WaitForAsync(() => pool.Metrics[1].Running == 1);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => running);
        await WaitForAsync(() => pool.Metrics[1].Running == 0 && pool.Metrics[0].Running == 0);
        Assert.Equal(1, pool.Metrics[1].Units.Get("cancelled"));
    }

    /// <summary>
    /// Two workers of one slot each, each coordinating a unit with the other as its peer, at once: were the
    /// shares queued behind the peers' own coordinated units, each would wait on the other until the deadline;
    /// shares have their own admission lane, so both answer.
    /// </summary>
    [Fact]
    public async Task Two_coordinators_that_are_each_others_peer_do_not_wait_on_each_other()
    {
        await using var pool = await PoolAsync(2, maxConcurrentUnits: 1);
        var first = ExecuteAsync(pool, Unit(2, pool.Urls[1]), CancellationToken.None, on: 0);
        var second = ExecuteAsync(pool, Unit(2, pool.Urls[0]), CancellationToken.None, on: 1);
        foreach (var events in await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(60)))
        {
            AssertNumpy(Assert.Single(events, e => e.EventCase == WorkerEvent.EventOneofCase.Partial).Partial);
        }

        Assert.All(pool.Metrics, m => Assert.Equal(2, m.Units.Get("ok")));
    }

    [Fact]
    public async Task A_peer_that_is_not_https_under_mutual_tls_is_refused_naming_it()
    {
        await using var pool = await PoolAsync(1);
        var error = await Assert.ThrowsAsync<RpcException>(() => ExecuteAsync(pool, Unit(2, "http://127.0.0.1:9"), CancellationToken.None));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("peer 'http://127.0.0.1:9' is not https", error.Status.Detail, StringComparison.Ordinal);
    }

    /// <summary>
    /// Behind a load balancer the router names no peers (<c>discover_peers</c>): each worker finds its pool through a real
    /// DNS server on loopback (SRV records of all three, itself included), drops itself, and the unit that reaches any one
    /// of them is cut into a share per worker of the pool it found (8 chunks: 2 + 3 + 3), merged to numpy's answer.
    /// </summary>
    [Fact]
    public async Task A_unit_that_discovers_its_peers_runs_over_the_pool_found_by_dns_and_equals_numpy()
    {
        using var temp = new TempDirectory();
        await using var dns = await LoopbackDnsServer.StartAsync(temp.Combine("zone.json"));
        await using var pool = await PoolAsync(3, configure: o => o with { PeersDns = "workers.pool.test", PeersDnsServers = [dns.EndPoint], PeersRefresh = TimeSpan.FromMilliseconds(50) });
        dns.Write(LoopbackDnsServer.LoopbackSrv("workers.pool.test", pool.Urls.Select(u => new Uri(u).Port)));
        await WaitForAsync(() => pool.Metrics.All(m => m.PoolPeers == 2));

        var events = await ExecuteAsync(pool, DiscoveringUnit(), CancellationToken.None, on: 1);
        var partial = Assert.Single(events, e => e.EventCase == WorkerEvent.EventOneofCase.Partial).Partial;
        Assert.Equal((8L, 8L), (partial.Stats.Chunks, partial.Stats.ChunksTotal));
        AssertNumpy(partial);
        Assert.Equal(8, pool.Metrics.Sum(m => m.Chunks.Value));
        Assert.All(pool.Metrics, m => Assert.True(m.Chunks.Value is 2 or 3, $"a worker read {m.Chunks.Value} chunk(s)"));
        Assert.Equal(1, pool.Metrics[0].Units.Get("ok"));
        Assert.Equal(1, pool.Metrics[2].Units.Get("ok"));

        // A peer gone from the pool (stopped, still in DNS): its share runs in-region elsewhere, the answer is the same.
        await pool.StopAsync(2);
        var again = Assert.Single(await ExecuteAsync(pool, DiscoveringUnit(), CancellationToken.None, on: 0), e => e.EventCase == WorkerEvent.EventOneofCase.Partial).Partial;
        Assert.Equal(8, again.Stats.Chunks);
        AssertNumpy(again);
    }

    /// <summary>
    /// A records only, all of them this worker (127.0.0.1 with its own port, the default for A records): no peers, so
    /// the unit runs here alone; a worker without PROXIMA_PEERS_DNS does the same.
    /// </summary>
    [Fact]
    public async Task A_unit_that_discovers_no_peers_runs_on_its_worker_alone()
    {
        using var temp = new TempDirectory();
        await using var dns = await LoopbackDnsServer.StartAsync(temp.Combine("zone.json"));
        dns.Write(LoopbackDnsServer.A("workers.pool.test", "127.0.0.1"));
        await using var pool = await PoolAsync(2, configure: o => o.Name == "w0" ? o with { PeersDns = "workers.pool.test", PeersDnsServers = [dns.EndPoint], PeersRefresh = TimeSpan.FromMilliseconds(50) } : o);
        var peers = pool.Apps[0].Services.GetRequiredService<RegionalWorker.Pool.PoolPeers>();
        await peers.ResolveOnceAsync(new Uri(pool.Urls[0]).Port, CancellationToken.None);
        Assert.Empty(peers.Current);

        foreach (var on in new[] { 0, 1 })
        {
            var partial = Assert.Single(await ExecuteAsync(pool, DiscoveringUnit(), CancellationToken.None, on), e => e.EventCase == WorkerEvent.EventOneofCase.Partial).Partial;
            AssertNumpy(partial);
            Assert.Equal(8, pool.Metrics[on].Chunks.Value);
        }

        Assert.All(pool.Metrics, m => Assert.Equal(1, m.Units.Get("ok")));
    }

    [Fact]
    public async Task A_unit_that_both_names_peers_and_asks_to_discover_them_is_refused()
    {
        await using var pool = await PoolAsync(1);
        var unit = DiscoveringUnit();
        unit.Peers.Add("https://127.0.0.1:9");
        var error = await Assert.ThrowsAsync<RpcException>(() => ExecuteAsync(pool, unit, CancellationToken.None));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("discover_peers with 1 peer(s) named", error.Status.Detail, StringComparison.Ordinal);
    }

    private static WorkUnit DiscoveringUnit()
    {
        var unit = Unit(1);
        unit.DiscoverPeers = true;
        return unit;
    }

    private void AssertNumpy(PartialResult partial)
    {
        var m = partial.Moments;
        Assert.Equal(Cells, m.Count.Count);
        var expected = data.Expected;
        for (var i = 0; i < Cells; i++)
        {
            Assert.Equal(expected.GetProperty("count")[i].GetDouble(), m.Count[i]);
            if (m.Count[i] == 0)
            {
                continue;
            }

            AssertClose(expected.GetProperty("sum")[i].GetDouble(), m.Sum[i], 1e-9, $"sum[{i}]");
            AssertClose(expected.GetProperty("m2")[i].GetDouble(), m.M2[i], 1e-9, $"m2[{i}]");
            Assert.Equal(expected.GetProperty("min")[i].GetDouble(), m.Min[i]);
            Assert.Equal(expected.GetProperty("max")[i].GetDouble(), m.Max[i]);
        }
    }

    private static void AssertClose(double expected, double actual, double relative, string what) =>
        Assert.True(Math.Abs(expected - actual) <= relative * Math.Max(1, Math.Abs(expected)), $"{what}: expected {expected}, got {actual}");

    private static WorkUnit Unit(int shares, params string[] peers)
    {
        var unit = new WorkUnit
        {
            QueryId = "q",
            UnitId = "q/0/0",
            Dataset = "d",
            Path = "d.zarr",
            SpecJson = Google.Protobuf.ByteString.CopyFromUtf8("""{ "datasets": ["d"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean", "std", "min", "max", "count"] } }"""),
            AllChunks = true,
            CoordinateShares = shares,
        };
        unit.Peers.Add(peers);
        return unit;
    }

    /// <summary>Runs the unit on worker <paramref name="on"/> as the router would (its client certificate); all events in order.</summary>
    private async Task<List<WorkerEvent>> ExecuteAsync(WorkerPool pool, WorkUnit unit, CancellationToken cancellationToken, int on = 0)
    {
        using var handler = WorkerCertificates.CreateRouterHandler(data.Certificates);
        using var client = new GrpcClient(new Uri(pool.Urls[on]), new GrpcClientOptions { HttpHandler = handler, MaxReceiveMessageSize = 64 << 20 });
        var events = new List<WorkerEvent>();
        await foreach (var e in client.ServerStreamingAsync(ProximaMethods.WorkerExecute, unit, new GrpcCallOptions(Deadline: DateTime.UtcNow.AddMinutes(2), CancellationToken: cancellationToken), cancellationToken))
        {
            events.Add(e);
        }

        return events;
    }

    private async Task<WorkerPool> PoolAsync(int size, int holdSharesOn = -1, int maxConcurrentUnits = 2, Func<WorkerOptions, WorkerOptions>? configure = null)
    {
        var pool = new WorkerPool();
        for (var i = 0; i < size; i++)
        {
            var options = new WorkerOptions
            {
                Region = "r",
                DataRoot = data.DataRoot,
                Name = $"w{i}",
                TlsCertificatePath = Path.Combine(data.Certificates, "worker.crt"),
                TlsKeyPath = Path.Combine(data.Certificates, "worker.key"),
                ClientCaPath = Path.Combine(data.Certificates, "ca.crt"),
                FaultFraction = i == holdSharesOn ? 1 : 0,
                FaultDelay = TimeSpan.FromMinutes(5),
                FaultSharesOnly = true,
                MaxConcurrentUnits = maxConcurrentUnits,
            };
            var app = WorkerHost.Build(configure?.Invoke(options) ?? options);
            await app.StartAsync();
            pool.Add(app);
        }

        return pool;
    }

    /// <summary>Polls an in-process condition with a bound (the workers' state changes on their own threads).</summary>
    private static async Task WaitForAsync(Func<bool> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "condition not reached within 20 s");
            await Task.Delay(10);
        }
    }

    private sealed class WorkerPool : IAsyncDisposable
    {
        private readonly List<WebApplication?> _apps = [];

        public List<string> Urls { get; } = [];

        public List<WorkerMetrics> Metrics { get; } = [];

        public List<WebApplication> Apps { get; } = [];

        public void Add(WebApplication app)
        {
            _apps.Add(app);
            Apps.Add(app);
            Urls.Add(WorkerHost.GetUrl(app).ToString().TrimEnd('/'));
            Metrics.Add(app.Services.GetRequiredService<WorkerMetrics>());
        }

        public async Task StopAsync(int i)
        {
            if (_apps[i] is { } app)
            {
                _apps[i] = null;
                await app.StopAsync(new CancellationTokenSource(TimeSpan.FromSeconds(5)).Token);
                await app.DisposeAsync();
            }
        }

        public async ValueTask DisposeAsync()
        {
            for (var i = 0; i < _apps.Count; i++)
            {
                await StopAsync(i);
            }
        }
    }
}
