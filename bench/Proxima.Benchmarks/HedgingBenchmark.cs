using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using Proxima.Cli.Local;

namespace Proxima.Benchmarks;

/// <summary>
/// Hedging: a pool of 2 workers where one delays 5% of its units by 1 s (fault injection). The same
/// sequential run of N small queries with hedging off and on: p50/p99 and the extra work units hedging
/// cost (issue 6 goal: p99 ≥ 3× better, extra units ≤ 10%). Usage: <c>hedging [queries=200]</c>.
/// </summary>
internal static class HedgingBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var queries = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200;
        var root = Directory.CreateTempSubdirectory("proxima-bench-hedge-").FullName;
        try
        {
            var data = Path.Combine(root, "data");
            var start = new ProcessStartInfo("/usr/bin/python3") { UseShellExecute = false };
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("""
                import sys, numpy as np, pandas as pd, xarray as xr
                t = (280 + np.random.default_rng(2).standard_normal((96, 32, 64))).astype("float32")
                xr.Dataset({"t": (("time", "lat", "lon"), t)}, coords={"time": pd.date_range("2000-01-01", periods=96, freq="h"),
                           "lat": np.linspace(60, -60, 32), "lon": np.arange(64.0)}).to_zarr(sys.argv[1], mode="w", encoding={"t": {"chunks": (12, 32, 64)}})
                """);
            start.ArgumentList.Add(Path.Combine(data, "us-east-1", "h", "t.zarr"));
            using (var p = Process.Start(start)!)
            {
                await p.WaitForExitAsync();
            }

            // One worker of the pool (worker-us-east-1-0) delays 5% of its units by 1 s.
            Environment.SetEnvironmentVariable("PROXIMA_FAULT_DELAY_MS", "1000");
            Environment.SetEnvironmentVariable("PROXIMA_FAULT_FRACTION", "0.05");
            Environment.SetEnvironmentVariable("PROXIMA_FAULT_WORKER", "worker-us-east-1-0");
            Console.WriteLine($"hedging: {queries} sequential mean-over-time queries, pool of 2, worker 0 delays 5% of units by 1 s; link 2 ms; {Environment.ProcessorCount} cores");
            Console.WriteLine($"{"hedging",8} {"p50 ms",8} {"p99 ms",8} {"max ms",8} {"units",7} {"hedges",7}");
            var off = await RunOnceAsync(root, data, queries, hedging: false);
            var on = await RunOnceAsync(root, data, queries, hedging: true);
            Print("off", off);
            Print("on", on);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"p99 improvement {off.P99 / on.P99:0.0}x (goal >= 3x); extra work units {100.0 * (on.Units - off.Units) / off.Units:0.0}% (goal <= 10%)"));
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private sealed record Run(double P50, double P99, double Max, long Units, long Hedges);

    private static void Print(string name, Run r) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,8} {r.P50,8:0.0} {r.P99,8:0.0} {r.Max,8:0.0} {r.Units,7} {r.Hedges,7}"));

    private static async Task<Run> RunOnceAsync(string root, string data, int queries, bool hedging)
    {
        var config = Path.Combine(root, "variables.json");
        await File.WriteAllTextAsync(config, """
            { "client": { "region": "eu-west-2", "cidr": "10.0.0.0/16" },
              "workers": [ { "region": "us-east-1", "cidr": "10.1.0.0/16", "dataset": "s3://hedging-bench", "lustreFileSystemPath": "h", "workers": 2 } ] }
            """);
        using var loggers = ConsoleLogging.Create(LogLevel.Warning);
        var state = new StateDirectory(Path.Combine(root, hedging ? "state-on" : "state-off"));
        await using var federation = await LocalFederation.StartAsync(new LocalFederationOptions
        {
            ConfigPath = config,
            DataRoot = data,
            State = state,
            Link = new LinkSettings { Latency = TimeSpan.FromMilliseconds(2), BitsPerSecond = 0 },
            RouterArguments = hedging ? [] : ["--no-hedging"],
        }, loggers, CancellationToken.None);
        await CatalogSyncRunner.SyncRegionAsync(state, "us-east-1", Path.Combine(data, "us-east-1"), loggers, progress: null, CancellationToken.None);
        using var http = new HttpClient { BaseAddress = new Uri(federation.Running!.RouterUrl) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(federation.TokenPath)).Trim());
        const string Query = """{ "datasets": ["h/t"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean"] } }""";
        for (var i = 0; i < 30; i++)
        {
            await PostAsync(http, Query); // warm-up, and the pool's latency sample for p95
        }

        var (unitsBefore, hedgesBefore) = await CountersAsync(http);
        var times = new double[queries];
        for (var i = 0; i < queries; i++)
        {
            var sw = Stopwatch.StartNew();
            await PostAsync(http, Query);
            times[i] = sw.Elapsed.TotalMilliseconds;
        }

        var (units, hedges) = await CountersAsync(http);
        Array.Sort(times);
        return new Run(times[queries / 2], times[(int)Math.Min(queries - 1, Math.Ceiling(queries * 0.99) - 1)], times[^1], units - unitsBefore, hedges - hedgesBefore);
    }

    private static async Task PostAsync(HttpClient http, string query)
    {
        using var response = await http.PostAsync("v1/query", new StringContent(query, Encoding.UTF8, "application/json"));
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"query failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    private static async Task<(long Units, long Hedges)> CountersAsync(HttpClient http)
    {
        long units = 0, hedges = 0;
        foreach (var line in (await http.GetStringAsync("metrics")).Split('\n'))
        {
            if (line.StartsWith("proxima_router_work_units_total{", StringComparison.Ordinal))
            {
                units += long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("proxima_router_hedges_total{", StringComparison.Ordinal))
            {
                hedges += long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return (units, hedges);
    }
}
