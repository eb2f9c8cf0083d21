using System.Collections.Concurrent;
using Proxima.Protocol.Grpc;

namespace Proxima.RegionalWorker.Pool;

/// <summary>
/// The gRPC clients a coordinator uses to reach the other workers of its pool, one per in-region address.
/// With mutual TLS configured the worker presents its own certificate (<see cref="WorkerOptions.TlsCertificatePath"/>:
/// local mode issues it for server and client authentication) and trusts only peers chaining to
/// <see cref="WorkerOptions.ClientCaPath"/>, the CA it already requires of its own clients; without TLS it speaks h2c.
/// </summary>
internal sealed class PeerClients : IDisposable
{
    private const int MaxPartialBytes = 256 * 1024 * 1024;

    private readonly ConcurrentDictionary<Uri, GrpcClient> _clients = new();
    private readonly SocketsHttpHandler? _tls;

    public PeerClients(WorkerOptions options)
    {
        if (options.TlsCertificatePath is { } certificate)
        {
            _tls = Shared.MutualTls.ClientHandler(
                Shared.MutualTls.LoadWithKey(certificate, options.TlsKeyPath!, "WorkerOptions.TlsCertificatePath", "WorkerOptions.TlsKeyPath"),
                Shared.MutualTls.LoadCa(options.ClientCaPath!, "WorkerOptions.ClientCaPath"));
        }
    }

    /// <summary>True when peers are called over mutual TLS (so their addresses must be https).</summary>
    public bool MutualTls => _tls is not null;

    /// <summary>The shared client of a peer (connections are pooled and multiplexed).</summary>
    public GrpcClient Get(Uri address) => _clients.GetOrAdd(address, a => new GrpcClient(a, new GrpcClientOptions
    {
        MaxReceiveMessageSize = MaxPartialBytes,
        HttpHandler = _tls,
        InitialStreamWindowSize = _tls is null ? Shared.MutualTls.PartialStreamWindow : null,
    }));

    public void Dispose()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }

        _tls?.Dispose();
    }
}
