using System.CommandLine;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Proxima.Cli.Local;
using Proxima.QueryRouter;
using Proxima.QueryRouter.Security;
using Proxima.RegionalWorker;

namespace Proxima.Cli.Commands;

/// <summary>
/// The service processes: <c>proxima router</c> and <c>proxima worker</c>. <c>proxima up</c> starts them
/// as children; in AWS each container runs one of them.
/// </summary>
internal static class ServiceCommands
{
    public static Command CreateWorker()
    {
        var region = new Option<string>("--region") { Description = "Region this worker serves", Required = true };
        var dataRoot = new Option<string>("--data-root") { Description = "The region's data root (FSx mount)", Required = true };
        var port = new Option<int>("--port") { Description = "gRPC port (0 = any free port)", DefaultValueFactory = _ => 7443 };
        var host = new Option<string>("--host") { Description = "Address to bind", DefaultValueFactory = _ => "127.0.0.1" };
        var name = new Option<string?>("--name") { Description = "Worker name in logs and stats" };
        var tlsCert = new Option<string?>("--tls-cert") { Description = "Worker certificate (PEM); with --tls-key and --client-ca: mutual TLS" };
        var tlsKey = new Option<string?>("--tls-key") { Description = "Worker private key (PEM)" };
        var clientCa = new Option<string?>("--client-ca") { Description = "CA (PEM) the router's client certificate must chain to" };
        var metricsPort = new Option<int>("--metrics-port") { Description = "HTTP port of GET /metrics (0 = any free port, -1 = none)", DefaultValueFactory = _ => -1 };
        var supervised = Supervised();
        var command = new Command("worker", """
            Runs a regional worker (gRPC proxima.v1.RegionalWorker) over a region's data root.
            'proxima up' starts these; run one yourself to serve a region from another machine.

            Examples:
              proxima worker --region us-east-1 --data-root /fsx/era5-pds --port 7443
              proxima worker --region us-east-1 --data-root ./data/us-east-1 --port 0 --tls-cert w.pem --tls-key w.key --client-ca ca.pem
            """)
        {
            region, dataRoot, port, host, name, metricsPort, tlsCert, tlsKey, clientCa, supervised,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var options = new WorkerOptions
            {
                Region = parse.GetValue(region)!,
                DataRoot = Path.GetFullPath(parse.GetValue(dataRoot)!),
                Port = parse.GetValue(port),
                Host = parse.GetValue(host)!,
                Name = parse.GetValue(name) ?? $"worker-{parse.GetValue(region)}-{Environment.ProcessId}",
                MetricsPort = parse.GetValue(metricsPort),
                TlsCertificatePath = parse.GetValue(tlsCert),
                TlsKeyPath = parse.GetValue(tlsKey),
                ClientCaPath = parse.GetValue(clientCa),
            };
            options = WithFaultsFromEnvironment(options);
            var app = WorkerHost.Build(options, b => ConsoleLogging.Configure(b));
            return await RunServiceAsync(app, () => new { url = WorkerHost.GetUrl(app).ToString(), metricsUrl = WorkerHost.GetMetricsUrl(app)?.ToString() }, parse.GetValue(supervised), cancellationToken);
        });
        return command;
    }

    public static Command CreateRouter()
    {
        var port = new Option<int>("--port") { Description = "REST port (0 = any free port)", DefaultValueFactory = _ => 8080 };
        var grpcPort = new Option<int>("--grpc-port") { Description = "gRPC port (0 = any free port)", DefaultValueFactory = _ => 0 };
        var host = new Option<string>("--host") { Description = "Address to bind", DefaultValueFactory = _ => "127.0.0.1" };
        var state = CommonOptions.State();
        var workers = new Option<string[]>("--worker")
        {
            Description = "A worker endpoint as REGION=URL (repeat for every worker)",
            AllowMultipleArgumentsPerToken = false,
        };
        var tokenFile = new Option<string?>("--token-file") { Description = "A one-line file with an admin bearer token (sees every dataset)" };
        var tokensFile = new Option<string?>("--tokens-file") { Description = "JSON {\"tokens\":[{\"token\",\"name\",\"groups\"}]}: bearer tokens and their ACL groups" };
        var workerCert = new Option<string?>("--worker-client-cert") { Description = "Client certificate (PEM) presented to workers (mutual TLS)" };
        var workerKey = new Option<string?>("--worker-client-key") { Description = "Its private key (PEM)" };
        var workerCa = new Option<string?>("--worker-ca") { Description = "CA (PEM) worker certificates must chain to" };
        var noHedging = new Option<bool>("--no-hedging") { Description = "Do not hedge straggling work units (benchmark comparisons)" };
        var noAuth = new Option<bool>("--no-auth") { Description = "Accept requests without a token (trusted networks only)" };
        var supervised = Supervised();
        var command = new Command("router", """
            Runs the query router (REST /v1/query, /v1/datasets; gRPC proxima.v1.QueryRouter).
            'proxima up' starts it; run it yourself in front of workers started elsewhere.

            Examples:
              proxima router --port 8080 --worker us-east-1=https://10.1.0.10:7443 --worker us-west-2=https://10.2.0.10:7443 --token-file token
              proxima router --port 0 --grpc-port 0 --worker us-east-1=http://127.0.0.1:7443 --no-auth
            """)
        {
            port, grpcPort, host, state, workers, tokenFile, tokensFile, noAuth, noHedging, workerCert, workerKey, workerCa, supervised,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var endpoints = new Dictionary<string, IReadOnlyList<Uri>>(StringComparer.Ordinal);
            foreach (var spec in parse.GetValue(workers) ?? [])
            {
                var eq = spec.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0 || !Uri.TryCreate(spec[(eq + 1)..], UriKind.Absolute, out var uri))
                {
                    await Console.Error.WriteLineAsync($"error: --worker '{spec}': expected REGION=URL");
                    return 2;
                }

                var regionName = spec[..eq];
                endpoints[regionName] = endpoints.TryGetValue(regionName, out var list) ? [.. list, uri] : [uri];
            }

            var stateDir = new StateDirectory(parse.GetValue(state)!);
            stateDir.Create();
            List<TokenGrant>? grants = null;
            if (!parse.GetValue(noAuth))
            {
                grants = [];
                if (parse.GetValue(tokenFile) is { } tf)
                {
                    grants.Add(TokenAuthenticator.ReadTokenFile(tf));
                }

                if (parse.GetValue(tokensFile) is { } tsf)
                {
                    grants.AddRange(TokenAuthenticator.ReadTokensFile(tsf));
                }

                // AWS: the deployment injects admin tokens from Secrets Manager as PROXIMA_TOKENS (comma-separated).
                foreach (var token in (Environment.GetEnvironmentVariable("PROXIMA_TOKENS") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    grants.Add(new TokenGrant(token, "deployment", ["*"]));
                }

                if (grants.Count == 0)
                {
                    await Console.Error.WriteLineAsync("error: the router needs --token-file, --tokens-file or PROXIMA_TOKENS (or --no-auth on a trusted network)");
                    return 2;
                }
            }

            var options = new RouterOptions
            {
                Tokens = grants,
                Hedging = !parse.GetValue(noHedging),
                ClientCertificatePath = parse.GetValue(workerCert),
                ClientKeyPath = parse.GetValue(workerKey),
                CaCertificatePath = parse.GetValue(workerCa),
                Port = parse.GetValue(port),
                GrpcPort = parse.GetValue(grpcPort),
                Host = parse.GetValue(host)!,
                CatalogPath = stateDir.CatalogPath,
                Workers = endpoints,
            };
            var app = await RouterHost.BuildAsync(options, b => ConsoleLogging.Configure(b), cancellationToken);
            return await RunServiceAsync(app, () =>
            {
                var (http, grpc) = RouterHost.GetUrls(app);
                return new { url = http.ToString(), grpcUrl = grpc.ToString() };
            }, parse.GetValue(supervised), cancellationToken);
        });
        return command;
    }

    /// <summary>Fault injection (tests, benchmarks): PROXIMA_FAULT_DELAY_MS, PROXIMA_FAULT_FRACTION, PROXIMA_FAULT_WORKER, PROXIMA_FAULT_DATASET.</summary>
    private static WorkerOptions WithFaultsFromEnvironment(WorkerOptions options)
    {
        var delay = Environment.GetEnvironmentVariable("PROXIMA_FAULT_DELAY_MS");
        var only = Environment.GetEnvironmentVariable("PROXIMA_FAULT_WORKER");
        if (delay is null || (only is not null && only != options.Name))
        {
            return options;
        }

        var fraction = Environment.GetEnvironmentVariable("PROXIMA_FAULT_FRACTION");
        return options with
        {
            FaultDelay = TimeSpan.FromMilliseconds(double.Parse(delay, System.Globalization.CultureInfo.InvariantCulture)),
            FaultFraction = fraction is null ? 1.0 : double.Parse(fraction, System.Globalization.CultureInfo.InvariantCulture),
            FaultDataset = Environment.GetEnvironmentVariable("PROXIMA_FAULT_DATASET"),
        };
    }

    private static Option<bool> Supervised() => new("--supervised")
    {
        Description = "Started by 'proxima up': print a readiness line and exit when stdin closes",
        Hidden = true,
    };

    /// <summary>
    /// Starts the service, prints its readiness line, and runs until SIGTERM/SIGINT (the host's
    /// console lifetime) or, when supervised, until the parent's pipe on stdin closes.
    /// </summary>
    private static async Task<int> RunServiceAsync(WebApplication app, Func<object> readiness, bool supervised, CancellationToken cancellationToken)
    {
        await using (app)
        {
            await app.StartAsync(cancellationToken);
            await Console.Out.WriteLineAsync(ChildProcess.ReadyPrefix + JsonSerializer.Serialize(readiness()));
            await Console.Out.FlushAsync(cancellationToken);
            if (supervised)
            {
                _ = Task.Run(async () =>
                {
                    var buffer = new char[256];
                    while (await Console.In.ReadAsync(buffer.AsMemory(), CancellationToken.None) > 0)
                    {
                    }

                    app.Lifetime.StopApplication();
                }, CancellationToken.None);
            }

            await app.WaitForShutdownAsync(cancellationToken);
        }

        return 0;
    }
}
