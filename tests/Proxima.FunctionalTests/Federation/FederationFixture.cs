using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Proxima.Tests.Infrastructure;

namespace Proxima.FunctionalTests.Federation;

/// <summary>
/// A real <c>proxima up</c> with three regions and pools of 2, 3 and 1 workers, holding one dataset
/// (<c>split/t</c>) split by time across all three, written by xarray, plus an ACL-restricted dataset.
/// Subclasses choose the link latency.
/// </summary>
public abstract class FederationFixtureBase : IAsyncLifetime
{
    public const string TeamToken = "team-token-0123456789abcdef";
    public const string OtherToken = "other-token-0123456789abcdef";

    private readonly TempDirectory _temp = new();
    private ProximaProcess? _up;

    public static readonly (string Region, int Workers)[] Regions = [("us-east-1", 2), ("us-west-2", 3), ("ap-southeast-2", 1)];

    /// <summary>Clients of the load test: each has its own token (the per-client concurrency limit is per token).</summary>
    public const int LoadClients = 32;

    public static readonly (string Region, int Start, int End)[] Parts = [("us-east-1", 0, 30), ("us-west-2", 30, 54), ("ap-southeast-2", 54, 72)];

    protected abstract double LatencyMs { get; }

    /// <summary>The process topology: regions and their pool sizes.</summary>
    protected virtual IReadOnlyList<(string Region, int Workers)> Topology => Regions;

    /// <summary>Environment of <c>proxima up</c> (fault injection for its workers).</summary>
    protected virtual IReadOnlyDictionary<string, string>? Environment => null;

    public string DataRoot => _temp.Combine("data");

    public string State => _temp.Combine("state");

    public string WholeStore => _temp.Combine("whole.zarr");

    /// <summary>
    /// The command line of a second <c>proxima router</c> on this federation's state (catalog, admin token), for
    /// tests that need a router with other options; with <paramref name="mutualTls"/> it presents the state's
    /// router certificate to the workers and trusts the state's CA.
    /// </summary>
    public List<string> SecondRouterArgs(bool mutualTls)
    {
        List<string> args = ["router", "--port", "0", "--state", State, "--token-file", Path.Combine(State, "token")];
        if (mutualTls)
        {
            var certs = Path.Combine(State, "certs");
            args.AddRange(["--worker-client-cert", Path.Combine(certs, "router.crt"), "--worker-client-key", Path.Combine(certs, "router.key"),
                "--worker-ca", Path.Combine(certs, "ca.crt")]);
        }

        return args;
    }

    /// <summary>A path in the fixture's temporary directory (deleted with it).</summary>
    protected string TempPath(string name) => _temp.Combine(name);

    public Uri RouterUrl { get; private set; } = null!;

    public Uri RouterGrpcUrl { get; private set; } = null!;

    public string Token { get; private set; } = "";

    public JsonElement RunFile { get; private set; }

    internal ProximaProcess Up => _up!;

    /// <summary>The load test's token of client <paramref name="i"/> (in STATE/tokens.json, groups <c>*</c>).</summary>
    public static string LoadToken(int i) => $"load-client-{i:00}-0123456789abcdef";

    /// <summary>Writes the datasets under <see cref="DataRoot"/> (region R's in DataRoot/R) before the federation starts.</summary>
    protected virtual Task WriteDataAsync() =>
        Python.RunAsync(Script("make_split_data.py"), [DataRoot, WholeStore, .. Parts.Select(p => $"{p.Region}:{p.Start}:{p.End}")]);

    protected static string Script(string name) => Path.Combine(RepoPaths.Root, "tests", "Proxima.FunctionalTests", "Federation", name);

    public async Task InitializeAsync()
    {
        await WriteDataAsync();
        var config = _temp.Combine("variables.json");
        var workers = string.Join(",\n", Topology.Select((r, i) =>
            $$"""{ "region": "{{r.Region}}", "cidr": "10.{{i + 1}}.0.0/16", "dataset": "s3://dataset-{{i}}", "lustreFileSystemPath": "d{{i}}", "workers": {{r.Workers}} }"""));
        await File.WriteAllTextAsync(config, $$"""{ "client": { "region": "eu-west-2", "cidr": "10.0.0.0/16" }, "workers": [ {{workers}} ] }""");
        Directory.CreateDirectory(State);
        var loadTokens = string.Concat(Enumerable.Range(0, LoadClients).Select(i => $$""", { "token": "{{LoadToken(i)}}", "name": "load-{{i}}", "groups": ["*"] }"""));
        await File.WriteAllTextAsync(Path.Combine(State, "tokens.json"), $$"""
            { "tokens": [ { "token": "{{TeamToken}}", "name": "team", "groups": ["era5-team"] },
                          { "token": "{{OtherToken}}", "name": "other", "groups": ["other"] }{{loadTokens}} ] }
            """);
        _up = ProximaProcess.Start(Environment, "up", "--config", config, "--data-root", DataRoot, "--state", State, "--port", "0",
            "--latency-ms", LatencyMs.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bandwidth-mbit", "0");
        RouterUrl = new Uri((await _up.WaitForLineAsync("Router: ", TimeSpan.FromSeconds(120))).TrimEnd('/') + "/");
        RouterGrpcUrl = new Uri(await _up.WaitForLineAsync("Router gRPC: ", TimeSpan.FromSeconds(120)));
        Token = (await File.ReadAllTextAsync(await _up.WaitForLineAsync("Token: ", TimeSpan.FromSeconds(120)))).Trim();
        await _up.WaitForLineAsync("State: ", TimeSpan.FromSeconds(120));
        using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(State, "federation.json")));
        RunFile = doc.RootElement.Clone();
    }

    public int RouterPid => RunFile.GetProperty("routerPid").GetInt32();

    /// <summary>Worker pids of a region, from the run file.</summary>
    public List<int> WorkerPids(string region) =>
        RunFile.GetProperty("workers").EnumerateArray()
            .Where(w => w.GetProperty("region").GetString() == region)
            .Select(w => w.GetProperty("pid").GetInt32()).ToList();

    /// <summary>Worker /metrics URLs of a region (from STATE/metrics.json).</summary>
    public List<Uri> WorkerMetricsUrls(string region)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(State, "metrics.json")));
        return doc.RootElement.EnumerateObject()
            .Where(p => p.Name.StartsWith($"worker-{region}-", StringComparison.Ordinal))
            .Select(p => new Uri(p.Value.GetString()!)).ToList();
    }

    /// <summary>A value of one of a worker's metrics (worker name: <c>worker-REGION-INDEX</c>).</summary>
    public async Task<long> WorkerMetricAsync(string worker, string series)
    {
        using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(State, "metrics.json")));
        using var http = new HttpClient();
        return PrometheusText.Value(await http.GetStringAsync(doc.RootElement.GetProperty(worker).GetString()), series);
    }

    /// <summary>Worker URLs (direct, not through the link) of a region.</summary>
    public List<Uri> WorkerUrls(string region) =>
        RunFile.GetProperty("workers").EnumerateArray()
            .Where(w => w.GetProperty("region").GetString() == region)
            .Select(w => new Uri(w.GetProperty("url").GetString()!)).ToList();

    public async Task<(System.Net.HttpStatusCode Status, JsonElement Body, string Text)> QueryAsync(string json, string? token = "")
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(90) };
        return await QueryAsync(http, json, token, CancellationToken.None);
    }

    /// <summary>Posts a query on a caller's client (many queries, one connection pool); token "" = the admin token, null = none.</summary>
    public Task<(System.Net.HttpStatusCode Status, JsonElement Body, string Text)> QueryAsync(HttpClient http, string json, string? token, CancellationToken cancellationToken) =>
        QueryAsync(http, RouterUrl, json, token, cancellationToken);

    /// <summary>Posts a query to another router on this federation (one started with <see cref="SecondRouterArgs"/>).</summary>
    public async Task<(System.Net.HttpStatusCode Status, JsonElement Body, string Text)> QueryAsync(HttpClient http, Uri router, string json, string? token, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(router, "v1/query")) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Length == 0 ? Token : token);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonElement body = default;
        if (text.StartsWith('{'))
        {
            using var doc = JsonDocument.Parse(text);
            body = doc.RootElement.Clone();
        }

        return (response.StatusCode, body, text);
    }

    public async Task<string> RouterMetricsAsync()
    {
        using var http = new HttpClient();
        return await http.GetStringAsync(new Uri(RouterUrl, "metrics"));
    }

    /// <summary>xarray's answer on the whole (unsplit) dataset.</summary>
    public async Task<JsonElement> XarrayAsync(string timeStart, string timeEnd)
    {
        var output = await Python.RunCodeAsync("""
            import sys, json, numpy as np, xarray as xr
            ds = xr.open_zarr(sys.argv[1]).sel(time=slice(sys.argv[2], sys.argv[3]))
            t = ds.t.astype("float64")
            out = {}
            for op in ["mean", "std", "min", "max", "sum", "count"]:
                v = getattr(t, op)("time").values.ravel()
                out[op] = [None if np.isnan(x) else float(x) for x in v]
            print(json.dumps(out))
            """, WholeStore, timeStart, timeEnd);
        using var doc = JsonDocument.Parse(output);
        return doc.RootElement.Clone();
    }

    public async Task DisposeAsync()
    {
        if (_up is not null)
        {
            await _up.DisposeAsync();
        }

        _temp.Dispose();
    }
}

/// <summary>
/// Fast links (2 ms): correctness, security, limits, metrics, deadlines. Workers delay every unit of
/// <c>slow/t</c> by 30 s (cancellably), so deadline and cancellation tests have something to stop.
/// </summary>
public sealed class FederationFixture : FederationFixtureBase
{
    protected override double LatencyMs => 2;

    protected override IReadOnlyDictionary<string, string>? Environment { get; } = new Dictionary<string, string>
    {
        ["PROXIMA_FAULT_DELAY_MS"] = "30000",
        ["PROXIMA_FAULT_DATASET"] = "slow/t",
    };
}

/// <summary>
/// A separate federation whose workers the tests kill. Two workers hold their units of <c>big/t</c> and
/// <c>edge/t</c> (60 s, cancellably) so a kill lands while a unit is in flight: worker-us-west-2-0 holds
/// <c>big/t</c> (us-east-1 + us-west-2) and worker-ap-southeast-2-0 holds <c>edge/t</c> (us-east-1 +
/// ap-southeast-2); neither holds the other's dataset because it has no part of it.
/// </summary>
public sealed class FailureFederationFixture : FederationFixtureBase
{
    protected override double LatencyMs => 2;

    protected override IReadOnlyDictionary<string, string>? Environment { get; } = new Dictionary<string, string>
    {
        ["PROXIMA_FAULT_DELAY_MS"] = "60000",
        ["PROXIMA_FAULT_WORKER"] = "worker-us-west-2-0,worker-ap-southeast-2-0",
        ["PROXIMA_FAULT_DATASET"] = "big/t,edge/t",
    };

    /// <summary>xarray's answers (per op, over time) for <c>big/t</c>, <c>edge/t</c>, and <c>"edge/t us-east-1"</c> (its us-east-1 part alone).</summary>
    public JsonElement Answers { get; private set; }

    protected override async Task WriteDataAsync()
    {
        await base.WriteDataAsync();
        var answers = TempPath("failure-answers.json");
        await Python.RunAsync(Script("make_failure_data.py"), [DataRoot, answers]);
        using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(answers));
        Answers = doc.RootElement.Clone();
    }
}

/// <summary>Reads Prometheus text exposition (what <c>/metrics</c> of the router and workers answer).</summary>
internal static class PrometheusText
{
    /// <summary>The value of one series (name with labels, e.g. <c>x_total{region="a"}</c>); 0 when absent.</summary>
    public static long Value(string metrics, string series)
    {
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return long.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    /// <summary>The sum of every series of a metric (<c>name</c> or <c>name{labels}</c>); 0 when absent.</summary>
    public static long Sum(string metrics, string name)
    {
        long total = 0;
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith(name, StringComparison.Ordinal) && line.Length > name.Length && line[name.Length] is ' ' or '{')
            {
                total += long.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return total;
    }
}

/// <summary>Waits on a condition the processes expose (metrics, /proc), polling, with a bound; never a bare sleep.</summary>
internal static class Poll
{
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? bound = null)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var limit = bound ?? TimeSpan.FromSeconds(10);
        while (!await condition())
        {
            Assert.True(sw.Elapsed < limit, $"timed out after {limit.TotalSeconds:0} s waiting for {what}");
            await Task.Delay(10);
        }
    }
}

/// <summary>One three-region federation shared by the correctness, security and metrics tests (startup is the cost).</summary>
[CollectionDefinition(Name)]
public sealed class FederationCollection : ICollectionFixture<FederationFixture>
{
    public const string Name = "three-region federation";
}
