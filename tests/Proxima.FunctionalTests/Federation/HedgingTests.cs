using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Proxima.Tests.Infrastructure;

namespace Proxima.FunctionalTests.Federation;

/// <summary>
/// One region with a pool of 2 workers; worker-us-east-1-0 delays every 20th of its work units (5%) by 1 s.
/// Holds a small dataset, <c>hedge/t</c> (8 chunks), and xarray's mean over time of it.
/// </summary>
public sealed class HedgingFederationFixture : FederationFixtureBase
{
    protected override double LatencyMs => 2;

    protected override IReadOnlyList<(string Region, int Workers)> Topology { get; } = [("us-east-1", 2)];

    protected override IReadOnlyDictionary<string, string>? Environment { get; } = new Dictionary<string, string>
    {
        ["PROXIMA_FAULT_DELAY_MS"] = "1000",
        ["PROXIMA_FAULT_FRACTION"] = "0.05",
        ["PROXIMA_FAULT_WORKER"] = "worker-us-east-1-0",
    };

    /// <summary>xarray's mean over time of <c>hedge/t</c>, row-major.</summary>
    public JsonElement Mean { get; private set; }

    protected override async Task WriteDataAsync()
    {
        var output = await Python.RunCodeAsync("""
            import sys, json, numpy as np, pandas as pd, xarray as xr
            t = (280 + np.random.default_rng(2).standard_normal((96, 32, 64))).astype("float32")
            ds = xr.Dataset({"t": (("time", "lat", "lon"), t)}, coords={"time": pd.date_range("2000-01-01", periods=96, freq="h"),
                            "lat": np.linspace(60, -60, 32), "lon": np.arange(64.0)})
            ds.to_zarr(sys.argv[1], mode="w", encoding={"t": {"chunks": (12, 32, 64)}})
            print(json.dumps([float(x) for x in ds.t.astype("float64").mean("time").values.ravel()]))
            """, Path.Combine(DataRoot, "us-east-1", "hedge", "t.zarr"));
        using var doc = JsonDocument.Parse(output);
        Mean = doc.RootElement.Clone();
    }
}

/// <summary>
/// Hedging (issue 6): the same 200 sequential queries through a router with hedging off and one with it on
/// (both second routers on the same two workers, mTLS): with hedging, p99 is at least 3× better and hedges
/// cost at most 10% extra work units; every answer is xarray's. The router's hedge budget (5% of units plus
/// a burst of 10) bounds the extra units by construction; what this test shows is that the budget still
/// leaves enough hedges for the real stragglers when the machine is loaded (a CI run at high load saw 52
/// hedges, 13%, before there was a budget).
/// </summary>
[Collection(HedgingCollection.Name)]
public sealed class HedgingTests(HedgingFederationFixture federation) : IClassFixture<HedgingFederationFixture>
{
    private const int Queries = 200;

    private const string Query = """{ "datasets": ["hedge/t"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean"] } }""";

    [Fact]
    public async Task With_hedging_p99_is_3x_better_for_at_most_10_percent_extra_units_and_answers_stay_exact()
    {
        var off = await RunAsync(hedging: false);
        var on = await RunAsync(hedging: true);
        var report = string.Create(CultureInfo.InvariantCulture,
            $"hedging off: p50 {off.P50:0.0} ms, p99 {off.P99:0.0} ms, {off.Units} units; on: p50 {on.P50:0.0} ms, p99 {on.P99:0.0} ms, {on.Units} units, {on.Hedges} hedges, {on.Denied} denied by the 5% hedge budget, {on.ShareHedges} peer shares hedged in-region by coordinators (off: {off.ShareHedges})");
        Console.WriteLine(report);

        // Worker 0 gets about half of the 400 units and delays every 20th: the unhedged p99 is a delayed one.
        Assert.True(off.P99 >= 1000, report);
        Assert.True(off.P99 >= 3 * on.P99, $"p99 improved only {off.P99 / on.P99:0.0}x: {report}");
        Assert.True(on.Hedges > 0, report);
        Assert.True(on.Units - off.Units <= 0.10 * off.Units, $"hedging cost {100.0 * (on.Units - off.Units) / off.Units:0.0}% extra units: {report}");
    }

    private sealed record Run(double P50, double P99, long Units, long Hedges, long Denied, long ShareHedges);

    private async Task<Run> RunAsync(bool hedging)
    {
        var args = federation.SecondRouterArgs(mutualTls: true);
        if (!hedging)
        {
            args.Add("--no-hedging");
        }

        foreach (var w in federation.RunFile.GetProperty("workers").EnumerateArray())
        {
            args.AddRange(["--worker", $"{w.GetProperty("region").GetString()}={w.GetProperty("url").GetString()}"]);
        }

        await using var router = ProximaProcess.Start([.. args]);
        using var ready = JsonDocument.Parse(await router.WaitForLineAsync("PROXIMA-READY ", TimeSpan.FromSeconds(60)));
        using var http = new HttpClient { BaseAddress = new Uri(ready.RootElement.GetProperty("url").GetString()!), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", federation.Token);

        // Warm-up: JIT, connections, and the pool's latency sample the hedge threshold (p95) comes from.
        for (var i = 0; i < 30; i++)
        {
            await QueryAsync(http);
        }

        var (unitsBefore, hedgesBefore, deniedBefore) = await CountersAsync(http);
        var shareHedgesBefore = await ShareHedgesAsync();
        var ms = new double[Queries];
        for (var i = 0; i < Queries; i++)
        {
            var sw = Stopwatch.StartNew();
            await QueryAsync(http);
            ms[i] = sw.Elapsed.TotalMilliseconds;
        }

        var (units, hedges, denied) = await CountersAsync(http);
        Array.Sort(ms);
        return new Run(ms[Queries / 2], ms[(int)Math.Ceiling(Queries * 0.99) - 1], units - unitsBefore, hedges - hedgesBefore, denied - deniedBefore, await ShareHedgesAsync() - shareHedgesBefore);
    }

    private async Task QueryAsync(HttpClient http)
    {
        using var response = await http.PostAsync(new Uri("v1/query", UriKind.Relative), new StringContent(Query, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var doc = JsonDocument.Parse(text);
        SplitDatasetTests.AssertClose(federation.Mean, doc.RootElement.GetProperty("results")[0].GetProperty("data").GetProperty("mean"), 1e-6, "mean of hedge/t");
    }

    /// <summary>Peer shares the pool's coordinators started again in-region (a map's unit goes to one coordinator).</summary>
    private async Task<long> ShareHedgesAsync()
    {
        using var http = new HttpClient();
        long total = 0;
        foreach (var url in federation.WorkerMetricsUrls("us-east-1"))
        {
            total += PrometheusText.Value(await http.GetStringAsync(url), "proxima_worker_share_hedges_total{outcome=\"started\"}");
        }

        return total;
    }

    /// <summary>The router's work units, hedges and hedges its budget denied so far, summed over its label sets.</summary>
    private static async Task<(long Units, long Hedges, long Denied)> CountersAsync(HttpClient http)
    {
        long units = 0, hedges = 0, denied = 0;
        foreach (var line in (await http.GetStringAsync(new Uri("metrics", UriKind.Relative))).Split('\n'))
        {
            if (line.StartsWith("proxima_router_work_units_total{", StringComparison.Ordinal))
            {
                units += long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("proxima_router_hedges_total{", StringComparison.Ordinal))
            {
                hedges += long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("proxima_router_hedges_denied_total{", StringComparison.Ordinal))
            {
                denied += long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return (units, hedges, denied);
    }
}

/// <summary>
/// Latency percentiles measure the machine as much as the router: this collection runs alone, after the
/// parallel ones (a duel's twenty routers next to it once cut the p99 gain from 40x to 2.7x at load 40).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HedgingCollection
{
    public const string Name = "hedging (alone)";
}
