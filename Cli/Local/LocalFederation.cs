using System.Net;
using Microsoft.Extensions.Logging;

namespace Proxima.Cli.Local;

/// <summary>Options of <c>proxima up</c>: one router and a worker pool per region, on loopback.</summary>
internal sealed record LocalFederationOptions
{
    public required string ConfigPath { get; init; }

    public required string DataRoot { get; init; }

    public required StateDirectory State { get; init; }

    /// <summary>Router HTTP port (0 = any free port).</summary>
    public int RouterPort { get; init; }

    public LinkSettings Link { get; init; } = new();

    /// <summary>Connect the router straight to the workers, with no link emulator (for overhead benchmarks).</summary>
    public bool Direct { get; init; }

    /// <summary>Extra arguments for the router process (benchmarks: <c>--no-hedging</c>).</summary>
    public IReadOnlyList<string> RouterArguments { get; init; } = [];
}

/// <summary>
/// A running local federation: worker processes per region, a link emulator in front of each
/// (the cross-region network), and the router process that reaches workers only through the links.
/// </summary>
internal sealed class LocalFederation : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(15);

    private readonly List<ChildProcess> _workers = [];
    private readonly List<LinkEmulator> _links = [];
    private readonly ILogger _logger;
    private ChildProcess? _router;
    private volatile bool _stopping;
    private readonly Dictionary<string, string> _metricsUrls = new(StringComparer.Ordinal);

    private LocalFederation(FederationFile federation, LocalFederationOptions options, ILogger logger)
    {
        Federation = federation;
        Options = options;
        _logger = logger;
    }

    public FederationFile Federation { get; }

    public LocalFederationOptions Options { get; }

    public IReadOnlyList<LinkEmulator> Links => _links;

    public RunningFederation? Running { get; private set; }

    /// <summary><c>STATE/token</c>: the local admin bearer token (one line, mode 0600), new at every start.</summary>
    public string TokenPath => Path.Combine(Options.State.Root, "token");

    /// <summary><c>STATE/tokens.json</c>: optional further tokens with ACL groups (see TokenAuthenticator).</summary>
    public string TokensFilePath => Path.Combine(Options.State.Root, "tokens.json");

    /// <summary><c>STATE/certs/</c>: the local CA and the worker/router certificates for mutual TLS (new at every start).</summary>
    public string CertificatesDirectory => Path.Combine(Options.State.Root, "certs");

    /// <summary><c>STATE/metrics.json</c>: each worker's Prometheus <c>/metrics</c> URL by worker name.</summary>
    public string MetricsFilePath => Path.Combine(Options.State.Root, "metrics.json");

    /// <summary>Each worker's <c>/metrics</c> URL by worker name (<c>worker-REGION-INDEX</c>).</summary>
    public IReadOnlyDictionary<string, string> WorkerMetricsUrls => _metricsUrls;

    private static void WriteToken(string path)
    {
        var temp = path + ".tmp";
        File.Delete(temp);
        // Create with 0600 from the start: the token must never be readable by others, not even briefly.
        var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temp, fileOptions))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(QueryRouter.Security.TokenAuthenticator.NewToken());
            writer.Write('\n');
        }

        File.Move(temp, path, overwrite: true);
    }

    public static async Task<LocalFederation> StartAsync(LocalFederationOptions options, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var federation = FederationFile.Load(options.ConfigPath);
        options.State.Create();
        var logger = loggers.CreateLogger("Proxima.Up");
        var local = new LocalFederation(federation, options, logger);
        try
        {
            await local.StartCoreAsync(loggers, cancellationToken);
            return local;
        }
        catch
        {
            await local.DisposeAsync();
            throw;
        }
    }

    private async Task StartCoreAsync(ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var state = Options.State;
        var certs = CertificatesDirectory;
        RegionalWorker.WorkerCertificates.GenerateLocal(certs);
        var starting = new List<(WorkerRegion Region, int Index, ChildProcess Child)>();
        foreach (var region in Federation.Workers)
        {
            var regionRoot = Path.Combine(Path.GetFullPath(Options.DataRoot), region.Region);
            Directory.CreateDirectory(regionRoot);
            for (var i = 0; i < region.Workers; i++)
            {
                var name = $"worker-{region.Region}-{i}";
                var child = ChildProcess.Start(name,
                    ["worker", "--region", region.Region, "--data-root", regionRoot, "--port", "0", "--metrics-port", "0", "--name", name, "--supervised",
                     "--metadata-cache", state.MetadataCacheFor(region.Region),
                     "--tls-cert", Path.Combine(certs, "worker.crt"), "--tls-key", Path.Combine(certs, "worker.key"), "--client-ca", Path.Combine(certs, "ca.crt")],
                    Path.Combine(state.LogsDirectory, name + ".log"), _logger);
                _workers.Add(child);
                starting.Add((region, i, child));
            }
        }

        var running = new List<RunningWorker>();
        WriteToken(TokenPath);
        var routerArgs = new List<string> { "router", "--port", Options.RouterPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--state", state.Root, "--supervised", "--token-file", TokenPath,
            "--worker-client-cert", Path.Combine(certs, "router.crt"), "--worker-client-key", Path.Combine(certs, "router.key"), "--worker-ca", Path.Combine(certs, "ca.crt") };
        routerArgs.AddRange(Options.RouterArguments);
        if (File.Exists(TokensFilePath))
        {
            routerArgs.Add("--tokens-file");
            routerArgs.Add(TokensFilePath);
        }

        foreach (var (region, index, child) in starting)
        {
            var ready = await child.WaitReadyAsync(StartTimeout, cancellationToken);
            var url = new Uri(ready.GetProperty("url").GetString()!);
            var linkUrl = url.ToString().TrimEnd('/');
            var scheme = url.Scheme;
            if (!Options.Direct)
            {
                var link = new LinkEmulator($"{Federation.Client.Region}->{region.Region}#{index}",
                    new IPEndPoint(IPAddress.Loopback, url.Port), Options.Link, loggers.CreateLogger("Proxima.Link"));
                _links.Add(link);
                linkUrl = $"{scheme}://127.0.0.1:{link.LocalEndPoint.Port}";
            }

            running.Add(new RunningWorker(region.Region, index, url.ToString(), linkUrl, child.Pid));
            if (ready.TryGetProperty("metricsUrl", out var metricsUrl) && metricsUrl.GetString() is { } m)
            {
                _metricsUrls[$"worker-{region.Region}-{index}"] = m;
            }

            // The router goes through the link; a coordinator reaches its pool peers at their own port (in-region).
            routerArgs.Add("--worker");
            routerArgs.Add(Options.Direct ? $"{region.Region}={linkUrl}" : $"{region.Region}={linkUrl},{url.ToString().TrimEnd('/')}");
        }

        _router = ChildProcess.Start("router", routerArgs, Path.Combine(state.LogsDirectory, "router.log"), _logger);
        var routerReady = await _router.WaitReadyAsync(StartTimeout, cancellationToken);
        Running = new RunningFederation
        {
            ConfigPath = Path.GetFullPath(Options.ConfigPath),
            DataRoot = Path.GetFullPath(Options.DataRoot),
            RouterUrl = routerReady.GetProperty("url").GetString()!,
            RouterGrpcUrl = routerReady.GetProperty("grpcUrl").GetString()!,
            SupervisorPid = Environment.ProcessId,
            RouterPid = _router.Pid,
            Workers = running,
        };
        state.WriteRunFile(Running);
        File.WriteAllText(MetricsFilePath, System.Text.Json.JsonSerializer.Serialize(_metricsUrls));
    }

    /// <summary>
    /// Completes when the router exits on its own (a crash). A worker that dies does not stop the
    /// federation: the router retries its units on the rest of the pool or reports the region (503 /
    /// partial), as a region losing tasks in AWS would.
    /// </summary>
    public async Task<ChildProcess> WhenAnyServiceExits()
    {
        foreach (var worker in _workers)
        {
            var w = worker;
            _ = w.Exited.ContinueWith(_ =>
            {
                if (!_stopping)
                {
                    SupervisorLog.ChildDied(_logger, w.Name, w.ExitCode);
                }
            }, TaskScheduler.Default);
        }

        await _router!.Exited;
        return _router;
    }

    public async ValueTask DisposeAsync()
    {
        // Router first (it holds the client connections), then the links, then the workers.
        _stopping = true;
        if (_router is not null)
        {
            await _router.StopAsync(StopGrace);
            await _router.DisposeAsync();
        }

        foreach (var link in _links)
        {
            await link.DisposeAsync();
        }

        await Task.WhenAll(_workers.Select(w => w.StopAsync(StopGrace)));
        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }

        if (Running is not null && File.Exists(Options.State.RunFilePath))
        {
            Options.State.DeleteRunFile();
        }
    }
}
