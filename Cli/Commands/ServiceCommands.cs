using System.CommandLine;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Hosting;
using Proxima.Cli.Local;
using Proxima.QueryRouter;
using Proxima.QueryRouter.Dispatch;
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
        var tlsCert = new Option<string?>("--tls-cert") { Description = "Worker certificate (PEM path or contents); with --tls-key and --client-ca: mutual TLS [PROXIMA_TLS_CERT]" };
        var tlsKey = new Option<string?>("--tls-key") { Description = "Worker private key (PEM path or contents) [PROXIMA_TLS_KEY]" };
        var clientCa = new Option<string?>("--client-ca") { Description = "CA (PEM path or contents) the router's client certificate must chain to [PROXIMA_TLS_CA]" };
        var metricsPort = new Option<int>("--metrics-port") { Description = "HTTP port of GET /metrics (0 = any free port, -1 = none)", DefaultValueFactory = _ => -1 };
        var metadataCache = new Option<string?>("--metadata-cache") { Description = "The sync's NetCDF collection metadata caches (outside the data root)" };
        var maxUnits = new Option<int?>("--max-units") { Description = "Work units run at once (default: the core count); more wait [PROXIMA_MAX_UNITS]" };
        var maxQueued = new Option<int?>("--max-queued-units") { Description = "Work units that may wait for a slot (default 64); more are refused with RESOURCE_EXHAUSTED and the router sends them elsewhere [PROXIMA_MAX_QUEUED_UNITS]" };
        var peers = new PeerDiscoveryOptions();
        var supervised = Supervised();
        var command = new Command("worker", """
            Runs a regional worker (gRPC proxima.v1.RegionalWorker) over a region's data root.
            'proxima up' starts these; run one yourself to serve a region from another machine.

            Examples:
              proxima worker --region us-east-1 --data-root /fsx/era5-pds --port 7443
              proxima worker --region us-east-1 --data-root ./data/us-east-1 --port 0 --tls-cert w.pem --tls-key w.key --client-ca ca.pem
            """)
        {
            region, dataRoot, port, host, name, metricsPort, metadataCache, maxUnits, maxQueued, tlsCert, tlsKey, clientCa, supervised,
        };
        peers.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (await ReadTlsAsync(parse, tlsCert, tlsKey, clientCa) is not { } tls)
            {
                return 2;
            }

            var options = new WorkerOptions
            {
                Region = parse.GetValue(region)!,
                DataRoot = Path.GetFullPath(parse.GetValue(dataRoot)!),
                Port = parse.GetValue(port),
                Host = parse.GetValue(host)!,
                Name = parse.GetValue(name) ?? $"worker-{parse.GetValue(region)}-{Environment.ProcessId}",
                MetricsPort = parse.GetValue(metricsPort),
                MetadataCacheDirectory = parse.GetValue(metadataCache) is { } cacheDir ? Path.GetFullPath(cacheDir) : null,
                TlsCertificatePath = tls.Certificate,
                TlsKeyPath = tls.Key,
                ClientCaPath = tls.Ca,
            };
            if ((parse.GetValue(maxUnits) ?? IntFromEnvironment("PROXIMA_MAX_UNITS")) is { } units)
            {
                options = options with { MaxConcurrentUnits = units };
            }

            if ((parse.GetValue(maxQueued) ?? IntFromEnvironment("PROXIMA_MAX_QUEUED_UNITS")) is { } queued)
            {
                options = options with { MaxQueuedUnits = queued };
            }

            try
            {
                options = peers.Apply(parse, options);
            }
            catch (FormatException ex)
            {
                await Console.Error.WriteLineAsync($"error: {ex.Message}");
                return 2;
            }

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
            Description = "A worker endpoint as REGION=URL[,IN_REGION_URL] (repeat for every worker); IN_REGION_URL is where the worker's pool peers reach it when URL is not (e.g. URL is a link emulator)",
            AllowMultipleArgumentsPerToken = false,
        };
        var tokenFile = new Option<string?>("--token-file") { Description = "A one-line file with an admin bearer token (sees every dataset)" };
        var tokensFile = new Option<string?>("--tokens-file") { Description = "JSON {\"tokens\":[{\"token\",\"name\",\"groups\"}]}: bearer tokens and their ACL groups" };
        var workerCert = new Option<string?>("--worker-client-cert") { Description = "Client certificate (PEM path or contents) presented to workers (mutual TLS) [PROXIMA_TLS_CERT]" };
        var workerKey = new Option<string?>("--worker-client-key") { Description = "Its private key (PEM path or contents) [PROXIMA_TLS_KEY]" };
        var workerCa = new Option<string?>("--worker-ca") { Description = "CA (PEM path or contents) worker certificates must chain to [PROXIMA_TLS_CA]" };
        var noHedging = new Option<bool>("--no-hedging") { Description = "Do not hedge straggling work units (benchmark comparisons)" };
        var hedgeBudget = new Option<double>("--hedge-budget")
        {
            Description = "Most hedges per 100 work units of a pool, in the long run (a token bucket that also allows 10 in a row); 0 = never hedge",
            DefaultValueFactory = _ => 5,
        };
        hedgeBudget.Validators.Add(r =>
        {
            if (r.GetValue(hedgeBudget) is < 0 or > 100 or double.NaN)
            {
                r.AddError("--hedge-budget: expected a percentage from 0 to 100");
            }
        });
        var noLocalMerge = new Option<bool>("--no-region-local-merge") { Description = "Send a map's part as one share per pool worker instead of to one coordinator that merges in-region (a comparison run; a load-balanced region then gets one share per balancer address) [PROXIMA_REGION_LOCAL_MERGE=0]" };
        var noAuth = new Option<bool>("--no-auth") { Description = "Accept requests without a token (trusted networks only)" };
        var maxCells = new Option<long?>("--max-output-cells") { Description = "Most cells (all ops, all datasets) one answer may have; refused with 400 at planning [PROXIMA_MAX_OUTPUT_CELLS; default 50,000,000]" };
        var oidc = new OidcOptions();
        var discovery = new DiscoveryOptions();
        var supervised = Supervised();
        var command = new Command("router", """
            Runs the query router (REST /v1/query, /v1/datasets; gRPC proxima.v1.QueryRouter).
            'proxima up' starts it; run it yourself in front of workers started elsewhere.

            Examples:
              proxima router --port 8080 --worker us-east-1=https://10.1.0.10:7443 --worker us-west-2=https://10.2.0.10:7443 --token-file token
              proxima router --port 0 --grpc-port 0 --worker us-east-1=http://127.0.0.1:7443 --no-auth
              proxima router --port 8443 --workers-namespace proxima-workers --discover-region us-east-1 --oidc-issuer https://login.example.org/realm --oidc-audience proxima-api --oidc-groups-claim cognito:groups
            """)
        {
            port, grpcPort, host, state, workers, tokenFile, tokensFile, noAuth, noHedging, hedgeBudget, noLocalMerge, workerCert, workerKey, workerCa, maxCells, supervised,
        };
        oidc.AddTo(command);
        discovery.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            if (await ReadTlsAsync(parse, workerCert, workerKey, workerCa) is not { } tls)
            {
                return 2;
            }

            var endpoints = new Dictionary<string, IReadOnlyList<Uri>>(StringComparer.Ordinal);
            var inRegion = new Dictionary<Uri, Uri>();
            foreach (var spec in parse.GetValue(workers) ?? [])
            {
                var eq = spec.IndexOf('=', StringComparison.Ordinal);
                var urls = eq <= 0 ? [] : spec[(eq + 1)..].Split(',');
                if (urls.Length is < 1 or > 2 || !Uri.TryCreate(urls[0], UriKind.Absolute, out var uri))
                {
                    await Console.Error.WriteLineAsync($"error: --worker '{spec}': expected REGION=URL or REGION=URL,IN_REGION_URL");
                    return 2;
                }

                if (urls.Length == 2)
                {
                    if (!Uri.TryCreate(urls[1], UriKind.Absolute, out var direct))
                    {
                        await Console.Error.WriteLineAsync($"error: --worker '{spec}': the in-region address '{urls[1]}' is not an absolute URL");
                        return 2;
                    }

                    inRegion[uri] = direct;
                }

                var regionName = spec[..eq];
                endpoints[regionName] = endpoints.TryGetValue(regionName, out var list) ? [.. list, uri] : [uri];
            }

            var stateDir = new StateDirectory(parse.GetValue(state)!);
            stateDir.Create();
            List<TokenGrant>? grants = null;
            JwtOptions? jwt = null;
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

                try
                {
                    jwt = oidc.Read(parse);
                }
                catch (FormatException ex)
                {
                    await Console.Error.WriteLineAsync($"error: {ex.Message}");
                    return 2;
                }

                if (grants.Count == 0 && jwt is null)
                {
                    await Console.Error.WriteLineAsync("error: the router needs --token-file, --tokens-file, PROXIMA_TOKENS or --oidc-issuer (or --no-auth on a trusted network)");
                    return 2;
                }
            }

            WorkerDiscoveryOptions? dns;
            try
            {
                dns = discovery.Read(parse);
            }
            catch (FormatException ex)
            {
                await Console.Error.WriteLineAsync($"error: {ex.Message}");
                return 2;
            }

            var cellLimit = parse.GetValue(maxCells) ?? LongFromEnvironment("PROXIMA_MAX_OUTPUT_CELLS");
            var options = new RouterOptions
            {
                Tokens = grants is { Count: > 0 } || jwt is null ? grants : null,
                Jwt = jwt,
                Hedging = !parse.GetValue(noHedging),
                HedgeRatio = parse.GetValue(hedgeBudget) / 100.0,
                RegionLocalMerge = !parse.GetValue(noLocalMerge) && Environment.GetEnvironmentVariable("PROXIMA_REGION_LOCAL_MERGE") is not ("0" or "false"),
                ClientCertificatePath = tls.Certificate,
                ClientKeyPath = tls.Key,
                CaCertificatePath = tls.Ca,
                Port = parse.GetValue(port),
                GrpcPort = parse.GetValue(grpcPort),
                Host = parse.GetValue(host)!,
                CatalogPath = stateDir.CatalogPath,
                Workers = endpoints,
                InRegionAddresses = inRegion,
                Discovery = dns,
            };
            if (cellLimit is { } limit)
            {
                options = options with { MaxOutputCells = limit };
            }

            var app = await RouterHost.BuildAsync(options, b => ConsoleLogging.Configure(b), cancellationToken);
            return await RunServiceAsync(app, () =>
            {
                var (http, grpc) = RouterHost.GetUrls(app);
                return new { url = http.ToString(), grpcUrl = grpc.ToString() };
            }, parse.GetValue(supervised), cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// <c>--oidc-*</c>: JWT validation against an OIDC issuer. Each option falls back to its environment
    /// variable (the AWS task definition sets <c>PROXIMA_OIDC_ISSUER</c>, <c>PROXIMA_OIDC_AUDIENCE</c>, …).
    /// </summary>
    private sealed class OidcOptions : OptionGroup
    {
        private readonly Option<string?> _issuer = new("--oidc-issuer") { Description = "Accept JWTs of this OIDC issuer (iss); keys from ISSUER/.well-known/openid-configuration → jwks_uri [PROXIMA_OIDC_ISSUER]" };
        private readonly Option<string?> _audience = new("--oidc-audience") { Description = "The aud (or Cognito client_id) JWTs must carry [PROXIMA_OIDC_AUDIENCE]" };
        private readonly Option<string?> _jwks = new("--oidc-jwks-file") { Description = "Read signing keys from this JWKS file instead of discovery [PROXIMA_OIDC_JWKS_FILE]" };
        private readonly Option<string?> _groups = new("--oidc-groups-claim") { Description = "Claim with the caller's ACL groups, e.g. groups or cognito:groups (default groups) [PROXIMA_OIDC_GROUPS_CLAIM]" };
        private readonly Option<string?> _name = new("--oidc-name-claim") { Description = "Claim naming the caller (default sub) [PROXIMA_OIDC_NAME_CLAIM]" };
        private readonly Option<string?> _skew = new("--oidc-clock-skew") { Description = "Seconds of clock skew allowed on exp/nbf (default 60) [PROXIMA_OIDC_CLOCK_SKEW]" };

        protected override Option[] All => [_issuer, _audience, _jwks, _groups, _name, _skew];

        /// <summary>The JWT options, or null when no issuer is configured.</summary>
        public JwtOptions? Read(ParseResult parse)
        {
            var issuer = Get(parse, _issuer, "PROXIMA_OIDC_ISSUER");
            if (issuer is null)
            {
                return null;
            }

            var audience = Get(parse, _audience, "PROXIMA_OIDC_AUDIENCE")
                ?? throw new FormatException("--oidc-issuer needs --oidc-audience (or PROXIMA_OIDC_AUDIENCE)");
            var jwt = new JwtOptions { Issuer = issuer, Audience = audience, JwksPath = Get(parse, _jwks, "PROXIMA_OIDC_JWKS_FILE") };
            if (Get(parse, _groups, "PROXIMA_OIDC_GROUPS_CLAIM") is { } groups)
            {
                jwt = jwt with { GroupsClaim = groups };
            }

            if (Get(parse, _name, "PROXIMA_OIDC_NAME_CLAIM") is { } name)
            {
                jwt = jwt with { NameClaim = name };
            }

            if (Get(parse, _skew, "PROXIMA_OIDC_CLOCK_SKEW") is { } skew)
            {
                jwt = jwt with
                {
                    ClockSkew = double.TryParse(skew, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
                        ? TimeSpan.FromSeconds(seconds)
                        : throw new FormatException($"--oidc-clock-skew / PROXIMA_OIDC_CLOCK_SKEW: '{skew}' is not a number of seconds"),
                };
            }

            return jwt;
        }

        private static string? Get(ParseResult parse, Option<string?> option, string variable) => parse.GetValue(option) ?? Env(variable);
    }

    /// <summary>
    /// <c>--workers-namespace</c> …: worker discovery by DNS (AWS: the CDK sets PROXIMA_WORKERS_NAMESPACE and
    /// PROXIMA_WORKER_REGIONS). Regions named by <c>--worker</c> keep their static endpoints.
    /// </summary>
    private sealed class DiscoveryOptions : OptionGroup
    {
        private readonly Option<string?> _namespace = new("--workers-namespace") { Description = "Discover workers by DNS: SRV (or A + --workers-port) of worker-REGION.NAMESPACE [PROXIMA_WORKERS_NAMESPACE]" };
        private readonly Option<string[]> _regions = new("--discover-region") { Description = "A worker region to discover (repeat) [PROXIMA_WORKER_REGIONS, comma-separated]" };
        private readonly Option<string?> _server = new("--workers-dns-server") { Description = "DNS server IP:PORT to ask (default: /etc/resolv.conf) [PROXIMA_WORKERS_DNS_SERVER]" };
        private readonly Option<int?> _port = new("--workers-port") { Description = "Worker port for names with A records only (default 7443) [PROXIMA_WORKERS_PORT]" };
        private readonly Option<double?> _refresh = new("--discovery-refresh") { Description = "Seconds between DNS re-resolutions (default 15)" };
        private readonly Option<bool> _loadBalanced = new("--load-balanced-pools")
        {
            Description = "Each discovered region address is a load balancer in front of a pool whose workers find each other by DNS (proxima worker --peers-dns): a reduction goes as one unit to any worker, which coordinates the pool and merges in-region, not one share per balancer address [PROXIMA_WORKERS_LOAD_BALANCED=1]",
        };

        protected override Option[] All => [_namespace, _regions, _server, _port, _refresh, _loadBalanced];

        /// <summary>The discovery options, or null without a namespace.</summary>
        public WorkerDiscoveryOptions? Read(ParseResult parse)
        {
            var ns = parse.GetValue(_namespace) ?? Env("PROXIMA_WORKERS_NAMESPACE");
            var loadBalanced = parse.GetValue(_loadBalanced) || Env("PROXIMA_WORKERS_LOAD_BALANCED") is "1" or "true";
            if (ns is null)
            {
                return loadBalanced
                    ? throw new FormatException("--load-balanced-pools (PROXIMA_WORKERS_LOAD_BALANCED) is about discovered regions: it needs --workers-namespace (or PROXIMA_WORKERS_NAMESPACE)")
                    : null;
            }

            var regions = parse.GetValue(_regions) is { Length: > 0 } r ? r
                : (Env("PROXIMA_WORKER_REGIONS") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (regions.Length == 0)
            {
                throw new FormatException("--workers-namespace needs the regions to discover: --discover-region R (repeat) or PROXIMA_WORKER_REGIONS=a,b");
            }

            var options = new WorkerDiscoveryOptions { Namespace = ns, Regions = regions };
            if ((parse.GetValue(_server) ?? Env("PROXIMA_WORKERS_DNS_SERVER")) is { } server)
            {
                options = options with { Servers = [DnsServer(server, "--workers-dns-server / PROXIMA_WORKERS_DNS_SERVER")] };
            }

            var port = parse.GetValue(_port);
            port ??= PortFromEnvironment("PROXIMA_WORKERS_PORT");

            if (port is not null)
            {
                options = options with { DefaultPort = port.Value };
            }

            if (parse.GetValue(_refresh) is { } seconds)
            {
                options = options with { Refresh = TimeSpan.FromSeconds(seconds) };
            }

            return options with { LoadBalanced = loadBalanced };
        }

    }

    /// <summary>
    /// <c>--peers-dns</c> …: a worker finds its own pool by DNS, for units the router sends through a load balancer
    /// (AWS: the CDK sets PROXIMA_PEERS_DNS to the Cloud Map name of the region's worker tasks and PROXIMA_PEERS_PORT).
    /// </summary>
    private sealed class PeerDiscoveryOptions : OptionGroup
    {
        private readonly Option<string?> _name = new("--peers-dns") { Description = "DNS name whose SRV or A records are this worker's pool (itself included, and excluded by its own addresses): the peers of units that ask to discover them [PROXIMA_PEERS_DNS]" };
        private readonly Option<int?> _port = new("--peers-port") { Description = "Peer port for A records (default: this worker's port) [PROXIMA_PEERS_PORT]" };
        private readonly Option<string?> _server = new("--peers-dns-server") { Description = "DNS server IP:PORT to ask (default: /etc/resolv.conf) [PROXIMA_PEERS_DNS_SERVER]" };
        private readonly Option<double?> _refresh = new("--peers-refresh") { Description = "Seconds between re-resolutions of the peers (default 10) [PROXIMA_PEERS_REFRESH]" };

        protected override Option[] All => [_name, _port, _server, _refresh];

        /// <summary>The options with peer discovery set, unchanged without a name.</summary>
        public WorkerOptions Apply(ParseResult parse, WorkerOptions options)
        {
            var name = parse.GetValue(_name) ?? Env("PROXIMA_PEERS_DNS");
            if (name is null)
            {
                return options;
            }

            options = options with { PeersDns = name };
            var port = parse.GetValue(_port);
            port ??= PortFromEnvironment("PROXIMA_PEERS_PORT");

            if (port is not null)
            {
                options = options with { PeersPort = port };
            }

            if ((parse.GetValue(_server) ?? Env("PROXIMA_PEERS_DNS_SERVER")) is { } server)
            {
                options = options with { PeersDnsServers = [DnsServer(server, "--peers-dns-server / PROXIMA_PEERS_DNS_SERVER")] };
            }

            var refresh = parse.GetValue(_refresh);
            if (refresh is null && Env("PROXIMA_PEERS_REFRESH") is { } envRefresh)
            {
                refresh = double.TryParse(envRefresh, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var r) ? r
                    : throw new FormatException($"PROXIMA_PEERS_REFRESH: '{envRefresh}' is not a number of seconds");
            }

            return refresh is { } seconds ? options with { PeersRefresh = TimeSpan.FromSeconds(seconds) } : options;
        }
    }

    /// <summary>A set of router options that fall back to environment variables (the AWS task definitions set those).</summary>
    private abstract class OptionGroup
    {
        protected abstract Option[] All { get; }

        public void AddTo(Command command)
        {
            foreach (var option in All)
            {
                command.Options.Add(option);
            }
        }

        protected static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;

        /// <summary>A DNS server given as IP:PORT (IP alone: port 53).</summary>
        protected static System.Net.IPEndPoint DnsServer(string text, string what) =>
            System.Net.IPEndPoint.TryParse(text, out var ep) ? (ep.Port == 0 ? new System.Net.IPEndPoint(ep.Address, 53) : ep)
            : throw new FormatException($"{what}: '{text}' is not IP:PORT");

        /// <summary>A port from an environment variable, or null when it is not set.</summary>
        protected static int? PortFromEnvironment(string variable) =>
            Env(variable) is not { } text ? null
            : int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var port) ? port
            : throw new FormatException($"{variable}: '{text}' is not a port");
    }

    /// <summary>
    /// The mutual-TLS material of a service: each option, else its environment variable (the AWS task
    /// definitions inject PEM contents from Secrets Manager as PROXIMA_TLS_CERT/KEY/CA). All three or none;
    /// loaded once here so a bad PEM stops the start with a message naming the option or variable.
    /// Null (after printing the error) when the material is incomplete or unreadable.
    /// </summary>
    private static async Task<(string? Certificate, string? Key, string? Ca)?> ReadTlsAsync(ParseResult parse, Option<string?> certificate, Option<string?> key, Option<string?> ca)
    {
        (string? Value, string Name) Read(Option<string?> option, string variable) =>
            parse.GetValue(option) is { } v ? (v, option.Name)
            : Environment.GetEnvironmentVariable(variable) is { Length: > 0 } e ? (e, variable)
            : (null, option.Name);

        var (c, k, a) = (Read(certificate, "PROXIMA_TLS_CERT"), Read(key, "PROXIMA_TLS_KEY"), Read(ca, "PROXIMA_TLS_CA"));
        if (c.Value is null && k.Value is null && a.Value is null)
        {
            return (null, null, null);
        }

        if (c.Value is null || k.Value is null || a.Value is null)
        {
            await Console.Error.WriteLineAsync($"error: mutual TLS needs all of {c.Name}, {k.Name} and {a.Name} (or PROXIMA_TLS_CERT/KEY/CA)");
            return null;
        }

        try
        {
            WorkerCertificates.Check(c.Value, k.Value, a.Value, c.Name, k.Name, a.Name);
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}");
            return null;
        }

        return (c.Value, k.Value, a.Value);
    }

    private static int? IntFromEnvironment(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } text
            ? int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : throw new Proxima.Catalog.InvalidConfigurationException($"{variable}: '{text}' is not a whole number")
            : null;

    private static long? LongFromEnvironment(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } text
            ? long.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0 ? n : throw new Proxima.Catalog.InvalidConfigurationException($"{variable}: '{text}' is not a positive whole number")
            : null;

    /// <summary>Fault injection (tests, benchmarks): PROXIMA_FAULT_DELAY_MS, PROXIMA_FAULT_FRACTION, PROXIMA_FAULT_WORKER, PROXIMA_FAULT_DATASET, PROXIMA_FAULT_SHARES_ONLY.</summary>
    private static WorkerOptions WithFaultsFromEnvironment(WorkerOptions options)
    {
        var delay = Environment.GetEnvironmentVariable("PROXIMA_FAULT_DELAY_MS");
        var only = Environment.GetEnvironmentVariable("PROXIMA_FAULT_WORKER")?.Split(',', StringSplitOptions.TrimEntries);
        if (delay is null || (only is not null && !only.Contains(options.Name)))
        {
            return options;
        }

        var fraction = Environment.GetEnvironmentVariable("PROXIMA_FAULT_FRACTION");
        return options with
        {
            FaultDelay = TimeSpan.FromMilliseconds(double.Parse(delay, System.Globalization.CultureInfo.InvariantCulture)),
            FaultFraction = fraction is null ? 1.0 : double.Parse(fraction, System.Globalization.CultureInfo.InvariantCulture),
            FaultDatasets = Environment.GetEnvironmentVariable("PROXIMA_FAULT_DATASET")?.Split(',', StringSplitOptions.TrimEntries),
            FaultSharesOnly = Environment.GetEnvironmentVariable("PROXIMA_FAULT_SHARES_ONLY") is "1" or "true",
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
