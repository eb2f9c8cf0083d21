using System.Net;
using System.Text.Json;
using Proxima.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Proxima.FunctionalTests.Federation;

/// <summary>
/// The AWS shape of region-local merge on loopback: us-west-2's pool of 3 (<c>proxima up</c>) whose workers find each other
/// by DNS (<c>PROXIMA_PEERS_DNS</c>: SRV records of all three on a loopback DNS server, as Cloud Map's A records are in
/// AWS), and a second <c>proxima router --load-balanced-pools</c> that discovers the region by DNS as ONE address: the
/// link emulator in front of worker 0, standing in for the worker NLB. The maps of <see cref="PoolMergeFederationFixture"/>;
/// worker 1 holds the shares of <c>poolkill/t</c> a coordinator sends it.
/// </summary>
public sealed class LoadBalancedPoolFixture : PoolMergeFederationFixture, IAsyncLifetime
{
    public const string Region = "us-west-2";
    private const string PeersName = "workers.pool.test";
    private LoopbackDnsServer? _dns;
    private ProximaProcess? _router;

    protected override IReadOnlyList<(string Region, int Workers)> Topology => [(Region, 3)];

    protected override IReadOnlyDictionary<string, string>? Environment => new Dictionary<string, string>(HoldShares)
    {
        ["PROXIMA_PEERS_DNS"] = PeersName,
        ["PROXIMA_PEERS_DNS_SERVER"] = _dns!.EndPoint.ToString(),
        ["PROXIMA_PEERS_REFRESH"] = "0.2",
    };

    /// <summary>The router that sees the region only through its "load balancer".</summary>
    public Uri BalancedRouterUrl { get; private set; } = null!;

    protected override async Task WriteDataAsync()
    {
        await base.WriteDataAsync();
        _dns = await LoopbackDnsServer.StartAsync(TempPath("zone.json"));
    }

    async Task IAsyncLifetime.InitializeAsync()
    {
        await InitializeAsync();
        var workers = RunFile.GetProperty("workers").EnumerateArray().OrderBy(w => w.GetProperty("index").GetInt32()).ToList();
        var direct = workers.Select(w => new Uri(w.GetProperty("url").GetString()!).Port);
        var balancer = new Uri(workers[0].GetProperty("linkUrl").GetString()!).Port;
        _dns!.Write([.. LoopbackDnsServer.LoopbackSrv(PeersName, direct), .. LoopbackDnsServer.LoopbackSrv($"worker-{Region}.proxima-workers", [balancer])]);
        for (var i = 0; i < workers.Count; i++)
        {
            var worker = $"worker-{Region}-{i}";
            await Poll.UntilAsync(async () => await WorkerMetricAsync(worker, "proxima_worker_pool_peers") == 2, $"{worker} to find its 2 peers by DNS", TimeSpan.FromSeconds(30));
        }

        var args = SecondRouterArgs(mutualTls: true);
        args.AddRange(["--workers-namespace", "proxima-workers", "--workers-dns-server", _dns.EndPoint.ToString(), "--discover-region", Region, "--load-balanced-pools"]);
        _router = ProximaProcess.Start([.. args]);
        using var ready = JsonDocument.Parse(await _router.WaitForLineAsync("PROXIMA-READY ", TimeSpan.FromSeconds(60)));
        BalancedRouterUrl = new Uri(ready.RootElement.GetProperty("url").GetString()!);
    }

    public async Task<(HttpStatusCode Status, JsonElement Body, string Text)> QueryBalancedAsync(string json)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(90) };
        return await QueryAsync(http, BalancedRouterUrl, json, "", CancellationToken.None);
    }

    public async Task<long> BalancedRouterMetricAsync(string series)
    {
        using var http = new HttpClient();
        return PrometheusText.Value(await http.GetStringAsync(new Uri(BalancedRouterUrl, "metrics")), series);
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        if (_router is not null)
        {
            await _router.DisposeAsync();
        }

        await DisposeAsync();
        if (_dns is not null)
        {
            await _dns.DisposeAsync();
        }
    }
}

/// <summary>Region-local merge behind a load balancer: one unit in, the pool found by the worker, one partial out.</summary>
public sealed class LoadBalancedPoolTests(LoadBalancedPoolFixture federation, ITestOutputHelper output) : IClassFixture<LoadBalancedPoolFixture>
{
    private const string Region = LoadBalancedPoolFixture.Region;
    private static readonly string Units = $"proxima_router_work_units_total{{region=\"{Region}\"}}";
    private static readonly string Retries = $"proxima_router_retries_total{{region=\"{Region}\"}}";

    /// <summary>
    /// mean/std/min/max/count over time of the 4,800-cell map through the one "NLB" address: xarray's answer, ONE unit
    /// sent, every live worker of the pool worked on it once (the one behind the balancer coordinated the two it found
    /// by DNS), and bytes across the emulated link are one partial: within 1.2 x the partial + 64 KB.
    /// </summary>
    [Fact]
    public async Task A_map_through_the_load_balancer_is_xarrays_answer_from_the_whole_pool_as_one_partial()
    {
        var unitsBefore = await federation.BalancedRouterMetricAsync(Units);
        var okBefore = await federation.WorkerOkAsync();
        var (status, body, text) = await federation.QueryBalancedAsync(PoolMergeTests.AllOps("pool/t"));
        Assert.True(status == HttpStatusCode.OK, text);
        PoolMergeTests.AssertXarray(federation.Answer, body);

        Assert.Equal(1, await federation.BalancedRouterMetricAsync(Units) - unitsBefore);
        var okAfter = await federation.WorkerOkAsync();
        output.WriteLine($"bytes across the link: {body.GetProperty("stats").GetProperty("bytes_cross_region").GetInt64()} for one {40L * federation.Cells}-byte partial");
        PoolMergeTests.AssertMergedInRegion(okBefore, okAfter, body, federation.Cells);
    }

    /// <summary>
    /// A peer SIGKILLed while it holds its share (worker 1, found by DNS, still listed there): the coordinator behind
    /// the balancer retries the share in-region and the answer is exact, with no retry at the router; the next map,
    /// with the dead peer still in DNS, is exact too.
    /// </summary>
    [Fact]
    public async Task A_peer_killed_while_it_holds_its_share_is_retried_in_region()
    {
        var retriesBefore = await federation.BalancedRouterMetricAsync(Retries);
        var running = federation.QueryBalancedAsync(PoolMergeTests.AllOps("poolkill/t"));
        await Poll.UntilAsync(async () => running.IsCompleted || await federation.SharesHeldAsync() >= 1, "a share held on worker-us-west-2-1", TimeSpan.FromSeconds(60));
        if (running.IsCompleted)
        {
            Assert.Fail("the map answered before worker 1 held its share: " + (await running).Text);
        }

        PoolMergeTests.Kill(federation.WorkerPids(Region)[1]);

        var (status, body, text) = await running;
        Assert.True(status == HttpStatusCode.OK, text);
        PoolMergeTests.AssertXarray(federation.Answer, body);
        Assert.Equal(8, body.GetProperty("stats").GetProperty("regions").GetProperty(Region).GetProperty("chunks").GetInt64());
        Assert.Equal(retriesBefore, await federation.BalancedRouterMetricAsync(Retries));

        var (again, againBody, againText) = await federation.QueryBalancedAsync(PoolMergeTests.AllOps("pool/t"));
        Assert.True(again == HttpStatusCode.OK, againText);
        PoolMergeTests.AssertXarray(federation.Answer, againBody);
    }
}
