using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Proxima.Protocol.Grpc;

/// <summary>Kestrel endpoint setup for gRPC.</summary>
public static class GrpcKestrelExtensions
{
    /// <summary>
    /// Listens for gRPC on <paramref name="address"/>:<paramref name="port"/> (0 = any free port).
    /// Without a certificate: HTTP/2 cleartext with prior knowledge (h2c), HTTP/2 only. With one:
    /// TLS with ALPN <c>h2</c> (HTTP/1.1 also offered, for non-gRPC endpoints on the same port).
    /// </summary>
    public static KestrelServerOptions ListenGrpc(this KestrelServerOptions options, IPAddress address, int port, X509Certificate2? certificate = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(address);
        options.Listen(address, port, listen =>
        {
            if (certificate is null)
            {
                listen.Protocols = HttpProtocols.Http2;
            }
            else
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(certificate);
            }
        });
        return options;
    }

    /// <summary><see cref="ListenGrpc(KestrelServerOptions, IPAddress, int, X509Certificate2?)"/> on 127.0.0.1.</summary>
    public static KestrelServerOptions ListenGrpcLoopback(this KestrelServerOptions options, int port = 0, X509Certificate2? certificate = null) =>
        options.ListenGrpc(IPAddress.Loopback, port, certificate);

    /// <summary>The addresses a started server listens on, with real ports when bound to port 0,
    /// e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public static IReadOnlyList<Uri> GetListenAddresses(this IServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        var feature = server.Features.Get<IServerAddressesFeature>()
            ?? throw new InvalidOperationException("The server exposes no IServerAddressesFeature; is it Kestrel and started?");
        var list = new List<Uri>();
        foreach (var a in feature.Addresses)
        {
            list.Add(new Uri(a));
        }

        return list;
    }
}
