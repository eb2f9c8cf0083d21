using System.Net;
using Proxima.RegionalWorker.Pool;
using Proxima.Shared;

namespace Proxima.RegionalWorker.Tests.Pool;

/// <summary>
/// Self-exclusion of a worker's discovered pool: its own endpoint is an address of one of this host's interfaces with its
/// own port; the same port elsewhere, or another port here (another worker on the same host, as on loopback), is a peer.
/// </summary>
public sealed class PeerSelectionTests
{
    [Fact]
    public void This_host_knows_its_loopback_and_interface_addresses()
    {
        var local = PeerSelection.LocalAddresses();
        Assert.Contains(IPAddress.Loopback, local);
        Assert.Contains(IPAddress.IPv6Loopback, local);
        Assert.DoesNotContain(IPAddress.Parse("192.0.2.10"), local); // TEST-NET-1: never a host's address
    }

    [Fact]
    public void Only_this_workers_own_port_on_a_local_address_is_dropped()
    {
        var local = PeerSelection.LocalAddresses();
        var interfaceAddress = local.FirstOrDefault(a => !IPAddress.IsLoopback(a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
        DnsEndpoint[] found =
        [
            new(IPAddress.Loopback, 7443), // this worker
            new(IPAddress.Parse("127.0.0.1").MapToIPv6(), 7443), // this worker, as an IPv4-mapped address
            new(IPAddress.IPv6Loopback, 7443), // this worker
            new(IPAddress.Loopback, 7444), // another worker on this host
            new(IPAddress.Parse("192.0.2.10"), 7443), // another task, same port
            new(IPAddress.Parse("192.0.2.11"), 7444),
        ];
        var peers = PeerSelection.WithoutSelf(interfaceAddress is null ? found : [.. found, new(interfaceAddress, 7443)], 7443, local);
        Assert.Equal(
            [new DnsEndpoint(IPAddress.Loopback, 7444), new DnsEndpoint(IPAddress.Parse("192.0.2.10"), 7443), new DnsEndpoint(IPAddress.Parse("192.0.2.11"), 7444)],
            peers);
    }

    [Fact]
    public void A_worker_on_another_port_keeps_every_endpoint_of_the_pool()
    {
        DnsEndpoint[] found = [new(IPAddress.Loopback, 7001), new(IPAddress.Loopback, 7002)];
        Assert.Equal(found, PeerSelection.WithoutSelf(found, 7003, PeerSelection.LocalAddresses()));
    }
}
