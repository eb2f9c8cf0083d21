using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Proxima.Catalog;
using Proxima.Protocol;
using Proxima.Protocol.Grpc;
using Proxima.QueryRouter.Dispatch;
using Proxima.QueryRouter.Http;
using Proxima.QueryRouter.Planning;
using Proxima.QueryRouter.Security;

namespace Proxima.QueryRouter;

/// <summary>Builds the query router: REST on <see cref="RouterOptions.Port"/>, gRPC on <see cref="RouterOptions.GrpcPort"/>.</summary>
public static class RouterHost
{
    public static async Task<WebApplication> BuildAsync(RouterOptions options, Action<ILoggingBuilder>? configureLogging = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder();
        configureLogging?.Invoke(builder.Logging);
        var address = IPAddress.Parse(options.Host);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(address, options.Port, l => l.Protocols = HttpProtocols.Http1);
            k.ListenGrpc(address, options.GrpcPort);
            k.Limits.MaxRequestBodySize = options.MaxRequestBytes;
        });
        builder.Services.AddProximaGrpc();
        builder.Services.AddSingleton(options);
        // The embedded SQLite catalog, or OpenSearch when PROXIMA_OPENSEARCH_URL names one (the AWS deployment).
        var catalogOptions = CatalogFactory.FromEnvironment(Path.GetDirectoryName(Path.GetFullPath(options.CatalogPath))!);
        if (catalogOptions.Backend == "sqlite")
        {
            catalogOptions = catalogOptions with { SqlitePath = options.CatalogPath };
        }

        var catalog = await CatalogFactory.OpenAsync(catalogOptions, cancellationToken: cancellationToken);
        builder.Services.AddSingleton<ICatalog>(catalog);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<RouterMetrics>();
        Uri InRegion(Uri uri) => options.InRegionAddresses.TryGetValue(uri, out var direct) ? direct : uri;
        Func<string, Uri, IWorkerChannel> connect = (region, uri) => new GrpcWorkerChannel(region, uri, inRegionAddress: InRegion(uri));
        if (options.ClientCertificatePath is { } certPath)
        {
            var certificate = Shared.MutualTls.LoadWithKey(certPath, options.ClientKeyPath ?? throw new ArgumentException("RouterOptions.ClientKeyPath is required with ClientCertificatePath"), "RouterOptions.ClientCertificatePath", "RouterOptions.ClientKeyPath");
            var ca = Shared.MutualTls.LoadCa(options.CaCertificatePath ?? throw new ArgumentException("RouterOptions.CaCertificatePath is required with ClientCertificatePath"), "RouterOptions.CaCertificatePath");
            connect = (region, uri) => new GrpcWorkerChannel(region, uri, new GrpcClientOptions
            {
                MaxReceiveMessageSize = 256 * 1024 * 1024,
                HttpHandler = Shared.MutualTls.ClientHandler(certificate, ca),
            }, InRegion(uri));
        }

        var endpoints = new Dictionary<string, IReadOnlyList<Uri>>(options.Workers, StringComparer.Ordinal);
        foreach (var region in options.Discovery?.Regions ?? [])
        {
            endpoints.TryAdd(region, []);
        }

        builder.Services.AddSingleton(sp => new WorkerPools(endpoints, connect, sp.GetRequiredService<TimeProvider>()));
        if (options.Discovery is { } discovery)
        {
            var scheme = options.ClientCertificatePath is null ? "http" : "https";
            builder.Services.AddSingleton(sp => new WorkerDiscovery(discovery, sp.GetRequiredService<WorkerPools>(), scheme,
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILoggerFactory>().CreateLogger("Proxima.QueryRouter.Discovery")));
            builder.Services.AddHostedService(sp => sp.GetRequiredService<WorkerDiscovery>());
        }

        builder.Services.AddSingleton(sp => new QueryPlanner(sp.GetRequiredService<ICatalog>(), sp.GetRequiredService<WorkerPools>(), options));
        if (options.Jwt is { } jwt)
        {
            builder.Services.AddSingleton(sp => CreateJwtKeys(jwt, sp));
        }

        builder.Services.AddSingleton(sp => new RouterAuth(
            options.Tokens is null ? null : new TokenAuthenticator(options.Tokens),
            options.Jwt is null ? null : new JwtValidator(options.Jwt, sp.GetRequiredService<JwksKeys>(), sp.GetRequiredService<TimeProvider>())));
        builder.Services.AddSingleton<QueryDispatcher>();
        builder.Services.AddSingleton<QueryService>();
        builder.Services.AddSingleton<RouterGrpcService>();
        var app = builder.Build();

        app.UseRouterAuth();
        app.MapQueryEndpoints();
        app.MapMetricsEndpoint();
        app.MapCatalogEndpoints();
        var grpc = app.Services.GetRequiredService<RouterGrpcService>();
        app.MapGrpcMethod(ProximaMethods.RouterPing, grpc.PingAsync);
        app.MapGrpcMethod(ProximaMethods.RouterQuery, grpc.QueryAsync);
        app.MapGrpcUnimplemented();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var (http, grpcUrl) = GetUrls(app);
            RouterLog.Listening(app.Logger, http.ToString(), grpcUrl.ToString(), string.Join(",", endpoints.Keys));
        });
        return app;
    }

    /// <summary>The issuer's signing keys (disposed with the host; its HttpClient fetches discovery and JWKS).</summary>
    private static JwksKeys CreateJwtKeys(JwtOptions jwt, IServiceProvider services)
    {
        var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(5) })
        {
            Timeout = TimeSpan.FromSeconds(10),
        };
        return new JwksKeys(jwt, http, services.GetRequiredService<TimeProvider>(), services.GetRequiredService<ILoggerFactory>().CreateLogger("Proxima.QueryRouter.Auth"));
    }

    /// <summary>The REST and gRPC addresses of a started router.</summary>
    public static (Uri Http, Uri Grpc) GetUrls(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
        // Kestrel lists endpoints in the order they were configured: REST first, then gRPC.
        return (new Uri(addresses[0]), new Uri(addresses[1]));
    }
}
