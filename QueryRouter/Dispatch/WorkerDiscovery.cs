using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Proxima.Shared;

namespace Proxima.QueryRouter.Dispatch;

/// <summary>
/// Worker discovery by DNS (AWS: the region's service in the workers' namespace, e.g. Cloud Map
/// <c>worker-us-east-1.proxima-workers</c>): SRV records give each worker's host and port; a name
/// with only A records (e.g. a CNAME to the region's load balancer) gets <see cref="DefaultPort"/>.
/// </summary>
public sealed record WorkerDiscoveryOptions
{
    /// <summary>The DNS domain the worker services live in (<c>PROXIMA_WORKERS_NAMESPACE</c>).</summary>
    public required string Namespace { get; init; }

    /// <summary>The worker regions to discover (<c>PROXIMA_WORKER_REGIONS</c>).</summary>
    public required IReadOnlyList<string> Regions { get; init; }

    /// <summary>A region's service name; <c>{region}</c> is replaced (the CDK's <c>Naming.CloudMapServiceName</c>).</summary>
    public string ServiceTemplate { get; init; } = "worker-{region}";

    /// <summary>Port of workers found by A records (no SRV).</summary>
    public int DefaultPort { get; init; } = 7443;

    /// <summary>How often the names are resolved again.</summary>
    public TimeSpan Refresh { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The discovered address of each region is a load balancer in front of a pool that merges in-region (AWS: the
    /// worker NLB; <c>--load-balanced-pools</c>, <c>PROXIMA_WORKERS_LOAD_BALANCED=1</c>): a reduction goes as ONE unit
    /// through it to any task, which finds its peers by DNS itself and coordinates (<c>WorkUnit.discover_peers</c>),
    /// instead of one share per load-balancer address, which reaches only the tasks behind those addresses and sends a
    /// partial each across regions.
    /// </summary>
    public bool LoadBalanced { get; init; }

    /// <summary>Time one DNS server has to answer one query.</summary>
    public TimeSpan QueryTimeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>DNS servers to ask; null = the <c>nameserver</c>s of <c>/etc/resolv.conf</c>.</summary>
    public IReadOnlyList<IPEndPoint>? Servers { get; init; }

    /// <summary>The DNS name of a region's workers.</summary>
    public string NameOf(string region) => ServiceTemplate.Replace("{region}", region, StringComparison.Ordinal) + "." + Namespace.Trim('.');

    /// <summary>Checks the options and names the bad field.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Namespace))
        {
            throw new ArgumentException("WorkerDiscoveryOptions.Namespace is required", nameof(Namespace));
        }

        if (Regions.Count == 0)
        {
            throw new ArgumentException("WorkerDiscoveryOptions.Regions: name at least one worker region to discover", nameof(Regions));
        }

        if (DefaultPort is < 1 or > 65535)
        {
            throw new ArgumentException($"WorkerDiscoveryOptions.DefaultPort: {DefaultPort} is not a TCP port", nameof(DefaultPort));
        }

        if (Refresh < TimeSpan.FromMilliseconds(10))
        {
            throw new ArgumentException($"WorkerDiscoveryOptions.Refresh: {Refresh} is too short", nameof(Refresh));
        }
    }
}

/// <summary>
/// Resolves every region's worker service at start (before the router serves) and again every
/// <see cref="WorkerDiscoveryOptions.Refresh"/>, making the answer the pool's membership
/// (<see cref="WorkerPools.UpdateMembers"/>: units in flight on a departed worker finish). A failed
/// lookup keeps the members the pool has; an NXDOMAIN or empty answer empties it (the region is then 503).
/// </summary>
internal sealed class WorkerDiscovery(WorkerDiscoveryOptions options, WorkerPools pools, string scheme, TimeProvider time, ILogger logger) : BackgroundService
{
    private readonly DnsResolver _resolver = new(options.Servers ?? DnsResolver.SystemServers(), options.QueryTimeout);

    /// <summary>Raised after a region's membership changed (tests wait on it).</summary>
    public event Action<string>? MembershipChanged;

    /// <summary>Resolves every region once and updates the pools.</summary>
    public async Task ResolveOnceAsync(CancellationToken cancellationToken)
    {
        foreach (var region in options.Regions)
        {
            var name = options.NameOf(region);
            List<DnsEndpoint> endpoints;
            try
            {
                endpoints = await _resolver.ResolveServiceAsync(name, options.DefaultPort, cancellationToken);
            }
            catch (DnsException ex)
            {
                RouterLog.DiscoveryFailed(logger, region, name, ex.Message);
                continue;
            }

            var uris = new List<Uri>(endpoints.Count);
            foreach (var e in endpoints)
            {
                uris.Add(new UriBuilder(scheme, e.Address.ToString(), e.Port).Uri);
            }

            uris.Sort(static (a, b) => string.CompareOrdinal(a.ToString(), b.ToString()));
            var (added, removed) = pools.UpdateMembers(region, uris);
            if (added > 0 || removed > 0)
            {
                RouterLog.DiscoveryChanged(logger, region, name, uris.Count, added, removed);
                MembershipChanged?.Invoke(region);
            }
        }
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // The first answer before the router serves, so a query at start finds the workers.
        await ResolveOnceAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Refresh, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await ResolveOnceAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
