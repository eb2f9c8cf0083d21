using System.Net;
using System.Net.NetworkInformation;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Proxima.Shared;

namespace Proxima.RegionalWorker.Pool;

/// <summary>
/// The other workers of this worker's pool as found by DNS (<see cref="WorkerOptions.PeersDns"/>: in AWS the Cloud Map
/// name whose A records are the region's worker task IPs), for units that ask their coordinator to discover its peers
/// (<c>WorkUnit.discover_peers</c>: the router only knows the region's load balancer). Resolved once the worker listens,
/// then every <see cref="WorkerOptions.PeersRefresh"/>, like the router's worker discovery and with the same resolver; a
/// failed lookup keeps the peers known, an NXDOMAIN or empty answer leaves none (the unit then runs here alone). The
/// answer includes this worker itself, which <see cref="PeerSelection.WithoutSelf"/> removes.
/// </summary>
internal sealed class PoolPeers(WorkerOptions options, IServer server, IHostApplicationLifetime lifetime, WorkerMetrics metrics, ILogger<PoolPeers> logger) : BackgroundService
{
    private readonly DnsResolver? _resolver = options.PeersDns is null ? null : new(options.PeersDnsServers ?? DnsResolver.SystemServers(), TimeSpan.FromSeconds(2));
    private volatile IReadOnlyList<Uri> _current = [];

    /// <summary>The peers' in-region addresses now (never this worker); empty without <see cref="WorkerOptions.PeersDns"/>.</summary>
    public IReadOnlyList<Uri> Current => _current;

    /// <summary>Whether peers are discovered at all (<see cref="WorkerOptions.PeersDns"/> set).</summary>
    public bool Enabled => _resolver is not null;

    /// <summary>Resolves the name once and makes the answer, without this worker, the current peers.</summary>
    public async Task ResolveOnceAsync(int ownPort, CancellationToken cancellationToken)
    {
        if (_resolver is null)
        {
            return;
        }

        var name = options.PeersDns!;
        List<DnsEndpoint> endpoints;
        try
        {
            endpoints = await _resolver.ResolveServiceAsync(name, options.PeersPort ?? ownPort, cancellationToken);
        }
        catch (DnsException ex)
        {
            WorkerLog.PeersDiscoveryFailed(logger, name, ex.Message);
            return;
        }

        var scheme = options.TlsCertificatePath is null ? Uri.UriSchemeHttp : Uri.UriSchemeHttps;
        var peers = new List<Uri>(endpoints.Count);
        foreach (var e in PeerSelection.WithoutSelf(endpoints, ownPort, PeerSelection.LocalAddresses()))
        {
            var uri = new UriBuilder(scheme, e.Address.ToString(), e.Port).Uri;
            if (!peers.Contains(uri))
            {
                peers.Add(uri);
            }
        }

        peers.Sort(static (a, b) => string.CompareOrdinal(a.ToString(), b.ToString()));
        var before = _current;
        if (!before.SequenceEqual(peers))
        {
            _current = peers;
            metrics.PoolPeers = peers.Count;
            WorkerLog.PeersChanged(logger, name, peers.Count, string.Join(", ", peers));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_resolver is null)
        {
            return;
        }

        // The own port is known once the server listens (port 0 = any free port).
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        using (stoppingToken.Register(() => started.TrySetCanceled(stoppingToken)))
        {
            try
            {
                await started.Task;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        var ownPort = OwnPort();
        using var timer = new PeriodicTimer(options.PeersRefresh);
        try
        {
            do
            {
                await ResolveOnceAsync(ownPort, stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>The gRPC port this worker listens on (its first address), else the configured one.</summary>
    private int OwnPort()
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses;
        if (addresses is { Count: > 0 } && Uri.TryCreate(addresses.First(), UriKind.Absolute, out var uri))
        {
            return uri.Port;
        }

        return options.Port;
    }
}

/// <summary>Which discovered pool endpoints are this worker itself: an address of one of this host's interfaces with this worker's port.</summary>
internal static class PeerSelection
{
    /// <summary>The endpoints that are not this worker (<paramref name="ownPort"/> on one of <paramref name="localAddresses"/>).</summary>
    public static List<DnsEndpoint> WithoutSelf(IEnumerable<DnsEndpoint> endpoints, int ownPort, IReadOnlySet<IPAddress> localAddresses)
    {
        var peers = new List<DnsEndpoint>();
        foreach (var e in endpoints)
        {
            var address = e.Address.IsIPv4MappedToIPv6 ? e.Address.MapToIPv4() : e.Address;
            if (e.Port == ownPort && (localAddresses.Contains(address) || IPAddress.IsLoopback(address)))
            {
                continue;
            }

            peers.Add(e);
        }

        return peers;
    }

    /// <summary>The unicast addresses of this host's interfaces (an ECS task in awsvpc mode: its ENI's IP) and loopback.</summary>
    public static IReadOnlySet<IPAddress> LocalAddresses()
    {
        var addresses = new HashSet<IPAddress> { IPAddress.Loopback, IPAddress.IPv6Loopback };
        foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
        {
            foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
            {
                addresses.Add(unicast.Address.IsIPv4MappedToIPv6 ? unicast.Address.MapToIPv4() : unicast.Address);
            }
        }

        return addresses;
    }
}
