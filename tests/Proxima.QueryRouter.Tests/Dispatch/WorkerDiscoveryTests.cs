using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Proxima.Protocol.V1;
using Proxima.QueryRouter.Dispatch;
using Proxima.Shared;
using Proxima.Tests.Infrastructure;

namespace Proxima.QueryRouter.Tests.Dispatch;

/// <summary>
/// Worker discovery against a real DNS server on loopback (Debian's python3-dnslib) whose answers
/// change during the test: SRV + A, A-only with the default port, a CNAME to a load balancer (chased by
/// the server or not), truncation → TCP, membership changes that retire departed workers without closing
/// their channels.
/// </summary>
public sealed class WorkerDiscoveryTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("proxima-dns-").FullName;
    private readonly List<RecordingChannel> _connected = [];
    private LoopbackDnsServer _dns = null!;
    private IPEndPoint _endpoint = null!;

    public async Task InitializeAsync()
    {
        _dns = await LoopbackDnsServer.StartAsync(Path.Combine(_dir, "zone.json"));
        _endpoint = _dns.EndPoint;
        WriteZone(Srv("worker-r1.proxima-workers", ("w1.proxima-workers", 7001), ("w2.proxima-workers", 7002)),
            [("w1.proxima-workers", "127.0.0.11"), ("w2.proxima-workers", "127.0.0.12")]);
    }

    public async Task DisposeAsync()
    {
        await _dns.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Srv_records_give_the_pool_its_members_and_a_changed_answer_changes_them()
    {
        using var pools = Pools();
        var discovery = Discovery(pools);
        await discovery.ResolveOnceAsync(CancellationToken.None);
        Assert.Equal(["https://127.0.0.11:7001/", "https://127.0.0.12:7002/"], Members(pools));

        var w1 = pools.Channels("r1")[0];
        var w2 = (RecordingChannel)pools.Channels("r1")[1];
        // w2 leaves, w3 joins (its A record only by a separate query: no additional section).
        WriteZone(Srv("worker-r1.proxima-workers", ("w1.proxima-workers", 7001), ("w3.proxima-workers", 7003)),
            [("w1.proxima-workers", "127.0.0.11"), ("w3.proxima-workers", "127.0.0.13")], additional: false);
        await discovery.ResolveOnceAsync(CancellationToken.None);
        Assert.Equal(["https://127.0.0.11:7001/", "https://127.0.0.13:7003/"], Members(pools));
        Assert.Same(w1, pools.Channels("r1")[0]); // kept, with its connection
        Assert.False(w2.Disposed); // retired, so units in flight on it still finish
        for (var i = 0; i < 6; i++)
        {
            Assert.NotSame(w2, pools.Pick("r1"));
        }

        // w2 comes back: its open channel is reused.
        WriteZone(Srv("worker-r1.proxima-workers", ("w2.proxima-workers", 7002)), [("w2.proxima-workers", "127.0.0.12")]);
        await discovery.ResolveOnceAsync(CancellationToken.None);
        Assert.Same(w2, Assert.Single(pools.Channels("r1")));
        Assert.Equal(3, _connected.Count);
    }

    [Fact]
    public async Task A_name_with_only_A_records_gets_the_default_port_and_nxdomain_empties_the_pool()
    {
        WriteZone([], [("worker-r1.proxima-workers", "127.0.0.21"), ("worker-r1.proxima-workers", "127.0.0.22")]);
        using var pools = Pools();
        var discovery = Discovery(pools);
        await discovery.ResolveOnceAsync(CancellationToken.None);
        Assert.Equal(["https://127.0.0.21:7443/", "https://127.0.0.22:7443/"], Members(pools));
        Assert.True(pools.HasRegion("r1"));

        WriteZone([], []);
        await discovery.ResolveOnceAsync(CancellationToken.None);
        Assert.Empty(Members(pools));
        Assert.False(pools.HasRegion("r1"));
        Assert.Equal(Protocol.Grpc.StatusCode.Unavailable, Assert.Throws<Protocol.Grpc.RpcException>(() => pools.Pick("r1")).StatusCode);
    }

    [Theory]
    [InlineData(true)] // the VPC resolver: the CNAME and its target's A records in one answer
    [InlineData(false)] // only the CNAME comes back: the target is asked for
    public async Task A_cname_to_the_regions_load_balancer_is_followed_to_its_addresses_with_the_default_port(bool serverChases)
    {
        // Cloud Map's CNAME service (the CDK): worker-r1.proxima-workers → the region's internal NLB, two hops here.
        WriteZone([], [("nlb-r1.elb.test", "127.0.0.31"), ("nlb-r1.elb.test", "127.0.0.32")],
            cname: [("worker-r1.proxima-workers", "alias-r1.elb.test"), ("alias-r1.elb.test", "nlb-r1.elb.test")], chaseCname: serverChases);
        using var pools = Pools();
        await Discovery(pools).ResolveOnceAsync(CancellationToken.None);
        Assert.Equal(["https://127.0.0.31:7443/", "https://127.0.0.32:7443/"], Members(pools));
    }

    [Fact]
    public async Task A_cname_loop_is_a_failed_lookup_that_keeps_the_members()
    {
        using var pools = Pools();
        var discovery = Discovery(pools);
        await discovery.ResolveOnceAsync(CancellationToken.None);
        WriteZone([], [], cname: [("worker-r1.proxima-workers", "a.loop.test"), ("a.loop.test", "worker-r1.proxima-workers")], chaseCname: false);
        await discovery.ResolveOnceAsync(CancellationToken.None);
        Assert.Equal(["https://127.0.0.11:7001/", "https://127.0.0.12:7002/"], Members(pools));
        var resolver = new DnsResolver([_endpoint], TimeSpan.FromSeconds(2));
        var ex = await Assert.ThrowsAsync<DnsException>(() => resolver.ResolveServiceAsync("worker-r1.proxima-workers", 7443, CancellationToken.None));
        Assert.Contains("'worker-r1.proxima-workers'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("CNAME", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_truncated_udp_answer_is_asked_again_over_tcp()
    {
        WriteZone(Srv("worker-r1.proxima-workers", ("w1.proxima-workers", 7001)), [("w1.proxima-workers", "127.0.0.11")], truncateUdp: true);
        using var pools = Pools();
        await Discovery(pools).ResolveOnceAsync(CancellationToken.None);
        Assert.Equal(["https://127.0.0.11:7001/"], Members(pools));
    }

    [Fact]
    public async Task A_dns_failure_keeps_the_members_the_pool_has()
    {
        using var pools = Pools();
        await Discovery(pools).ResolveOnceAsync(CancellationToken.None);
        // A server that never answers (a bound UDP socket nobody reads).
        using var silent = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var dead = new WorkerDiscovery(Options() with { Servers = [(IPEndPoint)silent.LocalEndPoint!], QueryTimeout = TimeSpan.FromMilliseconds(200) },
            pools, "https", TimeProvider.System, NullLogger.Instance);
        await dead.ResolveOnceAsync(CancellationToken.None);
        Assert.Equal(2, pools.PoolSize("r1"));
    }

    [Fact]
    public async Task The_running_service_re_resolves_periodically()
    {
        using var pools = Pools();
        using var discovery = new WorkerDiscovery(Options() with { Refresh = TimeSpan.FromMilliseconds(100) }, pools, "https", TimeProvider.System, NullLogger.Instance);
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await discovery.StartAsync(CancellationToken.None);
        try
        {
            Assert.Equal(2, pools.PoolSize("r1")); // resolved before StartAsync returns
            discovery.MembershipChanged += _ => changed.TrySetResult();
            WriteZone(Srv("worker-r1.proxima-workers", ("w1.proxima-workers", 7001)), [("w1.proxima-workers", "127.0.0.11")]);
            await changed.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(["https://127.0.0.11:7001/"], Members(pools));
        }
        finally
        {
            await discovery.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public void Options_name_the_bad_field()
    {
        Assert.Contains("Regions", Assert.Throws<ArgumentException>(() => (Options() with { Regions = [] }).Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("DefaultPort", Assert.Throws<ArgumentException>(() => (Options() with { DefaultPort = 0 }).Validate()).Message, StringComparison.Ordinal);
        Assert.Equal("worker-us-east-1.proxima-workers", Options().NameOf("us-east-1"));
    }

    private WorkerDiscoveryOptions Options() => new() { Namespace = "proxima-workers", Regions = ["r1"], Servers = [_endpoint] };

    private WorkerDiscovery Discovery(WorkerPools pools) => new(Options(), pools, "https", TimeProvider.System, NullLogger.Instance);

    private WorkerPools Pools() => new(new Dictionary<string, IReadOnlyList<Uri>> { ["r1"] = [] }, (region, uri) =>
    {
        var channel = new RecordingChannel(region, uri);
        lock (_connected)
        {
            _connected.Add(channel);
        }

        return channel;
    });

    private static List<string> Members(WorkerPools pools) => pools.Channels("r1").Select(c => c.Address.ToString()).ToList();

    private static (string Name, string Target, int Port)[] Srv(string name, params (string Target, int Port)[] targets) =>
        targets.Select(t => (name, t.Target, t.Port)).ToArray();

    private void WriteZone((string Name, string Target, int Port)[] srv, (string Name, string Address)[] a, bool additional = true, bool truncateUdp = false,
        (string Name, string Target)[]? cname = null, bool chaseCname = true)
    {
        var records = new JsonArray();
        foreach (var (name, target) in cname ?? [])
        {
            records.Add(new JsonObject { ["name"] = name, ["type"] = "CNAME", ["target"] = target });
        }

        foreach (var (name, target, port) in srv)
        {
            records.Add(new JsonObject { ["name"] = name, ["type"] = "SRV", ["target"] = target, ["port"] = port });
        }

        foreach (var (name, address) in a)
        {
            records.Add(new JsonObject { ["name"] = name, ["type"] = "A", ["address"] = address });
        }

        _dns.WriteZone(new JsonObject { ["records"] = records, ["additional"] = additional, ["truncate_udp"] = truncateUdp, ["chase_cname"] = chaseCname });
    }

    private sealed class RecordingChannel(string region, Uri address) : IWorkerChannel
    {
        public string Region { get; } = region;

        public Uri Address { get; } = address;

        public bool Disposed { get; private set; }

        public async IAsyncEnumerable<WorkerEvent> ExecuteAsync(WorkUnit unit, DateTime deadline, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.CompletedTask;
            yield break;
        }

        public Task<UnitPlan> PlanAsync(WorkUnit unit, DateTime deadline, CancellationToken cancellationToken) => Task.FromResult(new UnitPlan());

        public Task<PingResponse> PingAsync(PingRequest request, DateTime deadline, CancellationToken cancellationToken) => Task.FromResult(new PingResponse());

        public void Dispose() => Disposed = true;
    }
}
