using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Proxima.Protocol;
using Proxima.Protocol.Grpc;

namespace Proxima.RegionalWorker;

/// <summary>Local-mode certificates for mutual TLS between router and workers.</summary>
public static class WorkerCertificates
{
    /// <summary>Writes <c>ca.crt</c>, <c>worker.crt/.key</c> and <c>router.crt/.key</c> (PEM) into <paramref name="directory"/>.</summary>
    public static void GenerateLocal(string directory) => Shared.MutualTls.GenerateLocal(directory);

    /// <summary>
    /// Loads a certificate + key + CA (each a PEM file path or PEM contents) once, so a bad one fails at
    /// start-up with an <see cref="ArgumentException"/> naming the option or environment variable it came from.
    /// </summary>
    public static void Check(string certificate, string key, string ca, string certificateName, string keyName, string caName)
    {
        using var leaf = Shared.MutualTls.LoadWithKey(certificate, key, certificateName, keyName);
        using var root = Shared.MutualTls.LoadCa(ca, caName);
    }

    /// <summary>
    /// An HTTP handler that calls workers as the router does: presents <c>router.crt</c> and trusts only
    /// servers chaining to <c>ca.crt</c> of <paramref name="directory"/> (tools and benchmarks).
    /// </summary>
    public static SocketsHttpHandler CreateRouterHandler(string directory) => Shared.MutualTls.ClientHandler(
        Shared.MutualTls.LoadWithKey(Path.Combine(directory, "router.crt"), Path.Combine(directory, "router.key")),
        Shared.MutualTls.LoadCa(Path.Combine(directory, "ca.crt")));
}

/// <summary>Builds a regional worker: a Kestrel gRPC server running proxima.v1.RegionalWorker.</summary>
public static class WorkerHost
{
    /// <summary>Creates the worker application; start it with <c>StartAsync</c> and read <see cref="GetUrl"/>.</summary>
    public static WebApplication Build(WorkerOptions options, Action<ILoggingBuilder>? configureLogging = null)
    {
        options.Validate();
        var builder = WebApplication.CreateSlimBuilder();
        if (configureLogging is not null)
        {
            configureLogging(builder.Logging);
        }

        builder.WebHost.ConfigureKestrel(k =>
        {
            if (options.TlsCertificatePath is { } certPath)
            {
                var certificate = Shared.MutualTls.LoadWithKey(certPath, options.TlsKeyPath!, "WorkerOptions.TlsCertificatePath", "WorkerOptions.TlsKeyPath");
                var ca = Shared.MutualTls.LoadCa(options.ClientCaPath!, "WorkerOptions.ClientCaPath");
                k.Listen(System.Net.IPAddress.Parse(options.Host), options.Port, l =>
                {
                    l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2;
                    l.UseHttps(https =>
                    {
                        https.ServerCertificate = certificate;
                        https.ClientCertificateMode = Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.RequireCertificate;
                        https.ClientCertificateValidation = (client, _, _) => Shared.MutualTls.ChainsTo(client, ca);
                    });
                });
            }
            else
            {
                k.ListenGrpc(System.Net.IPAddress.Parse(options.Host), options.Port);
            }

            if (options.MetricsPort >= 0)
            {
                k.Listen(System.Net.IPAddress.Parse(options.Host), options.MetricsPort, l => l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1);
            }

            k.Limits.Http2.MaxStreamsPerConnection = 1024;
        });
        builder.Services.AddProximaGrpc(o => o.MaxSendMessageSize = 256 * 1024 * 1024);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton<WorkUnitRunner>();
        var lanes = new AdmissionLanes(new UnitAdmission(options.MaxConcurrentUnits, options.MaxQueuedUnits), new UnitAdmission(options.MaxConcurrentUnits, options.MaxQueuedUnits));
        builder.Services.AddSingleton(lanes);
        builder.Services.AddSingleton(lanes.Units);
        builder.Services.AddSingleton<Pool.PeerClients>();
        builder.Services.AddSingleton<Pool.PoolPeers>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<Pool.PoolPeers>());
        builder.Services.AddSingleton<Pool.PoolCoordinator>();
        builder.Services.AddSingleton<WorkerMetrics>();
        builder.Services.AddSingleton<WorkerService>();
        var app = builder.Build();
        var service = app.Services.GetRequiredService<WorkerService>();
        app.MapGrpcMethod(ProximaMethods.WorkerExecute, service.ExecuteAsync);
        app.MapGrpcMethod(ProximaMethods.WorkerPing, service.PingAsync);
        app.MapGrpcMethod(Shared.WorkerMethods.Plan, service.PlanAsync);
        var metrics = app.Services.GetRequiredService<WorkerMetrics>();
        app.MapGet("/metrics", () => Microsoft.AspNetCore.Http.Results.Text(metrics.Render(), "text/plain; version=0.0.4; charset=utf-8"));
        app.MapGrpcUnimplemented();
        app.Lifetime.ApplicationStarted.Register(() =>
            WorkerLog.Listening(app.Logger, options.Name, options.Region, GetUrl(app).ToString(), options.DataRoot));
        return app;
    }

    /// <summary>The address the started worker listens on.</summary>
    public static Uri GetUrl(WebApplication app) => app.Services.GetRequiredService<IServer>().GetListenAddresses()[0];

    /// <summary>The metrics address (<c>GET /metrics</c>), or null without a metrics port.</summary>
    public static Uri? GetMetricsUrl(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().GetListenAddresses();
        return addresses.Count > 1 ? new Uri(addresses[1], "metrics") : null;
    }
}
