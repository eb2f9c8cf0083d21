using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Proxima.Arrays;
using Proxima.Arrays.Storage;
using Proxima.Compute.Execution;
using Proxima.Compute.Query;
using Xunit.Abstractions;

namespace Proxima.Compute.Tests.Bench;

/// <summary>
/// Query-shape timings next to xarray: groupby/resample on the ~1 GB ERA5-like store of <see cref="BenchmarkTests"/>
/// vs xarray+Dask, and 4-city point series vs <c>.sel(method="nearest").load()</c> (opt-in: <c>PROXIMA_BENCH=1</c>;
/// <c>PROXIMA_BENCH_DIR</c> keeps the stores, default /tmp/proxima-bench; <c>PROXIMA_BENCH_CLUSTER=0</c> skips the
/// 2-process LocalCluster run; <c>PROXIMA_BENCH_GROUPS</c> picks groupings (<c>kind:key[:mean]</c>), <c>PROXIMA_BENCH_POINTS</c> point stores). Not a pass/fail test of speed: each
/// checks our answer equals the peer's and prints both figures and the ratio with the load average.
/// </summary>
[Collection(BenchmarkCollection.Name)]
public sealed class QueryBenchmarks(ITestOutputHelper output)
{
    private const string Cities = """[{"name":"Sydney","lat":-33.87,"lon":151.21},{"name":"London","lat":51.5,"lon":0.12},{"name":"New York","lat":40.71,"lon":-74.01},{"name":"Tokyo","lat":35.68,"lon":139.69}]""";

    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "Bench", "query_bench.py");

    private static readonly string StoreScript = Path.Combine(AppContext.BaseDirectory, "Bench", "bench.py");

    /// <summary>Timed rounds of each groupby/resample query, the best counted, on both sides
    /// (<c>PROXIMA_BENCH_GROUP_ROUNDS</c>, default 5: with 3, runs a minute apart on this host swung 1.8-3.8x).</summary>
    private static int GroupRounds => int.TryParse(Environment.GetEnvironmentVariable("PROXIMA_BENCH_GROUP_ROUNDS"), out var n) && n > 0 ? n : 5;

    private static bool Cluster => Environment.GetEnvironmentVariable("PROXIMA_BENCH_CLUSTER") != "0";

    private static string Dir
    {
        get
        {
            var dir = BenchEnvironment.Dir;
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    private static async Task<JsonElement> Python(params string[] args) => await Run(Script, args);

    private static async Task<JsonElement> Run(string script, string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3", [script, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["PROXIMA_BENCH_GROUP_ROUNDS"] = GroupRounds.ToString(CultureInfo.InvariantCulture);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var textTask = p.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(300));
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            return JsonDocument.Parse("{\"seconds\": -1}").RootElement.Clone();
        }

        var text = await textTask;
        Assert.True(p.ExitCode == 0, await err);
        var last = text.Trim().Split('\n')[^1];
        return JsonDocument.Parse(last).RootElement.Clone();
    }

    private static async Task<GridDataset> Store(string name)
    {
        if (name == "era5_bench")
        {
            await Run(StoreScript, ["gen", Dir, Environment.GetEnvironmentVariable("PROXIMA_BENCH_NT") ?? "1008"]);
        }
        else
        {
            await Python("gen", Dir, name);
        }

        return await GridDataset.OpenAsync(new PosixStorage(Dir), name + ".zarr");
    }

    private static async Task<(double Seconds, QueryResult Result)> Ours(GridDataset ds, string json, int rounds = 3)
    {
        var spec = QuerySpecParser.Parse(json);
        var best = double.MaxValue;

        // Untimed runs first, as a worker that has served a few queries: the first query of a fresh test host ran 2-3x
        // slower in all of its rounds (tiering of the kernels' generic instantiations). One warm-up run was not enough:
        // the climatology, measured first, took 0.299 s after it, and 0.221-0.233 s measured after another query
        // (Dec 4 21:49, load 1.4-1.6). Three runs reach the steady state.
        PartialResult? r = null;
        for (var i = 0; i < 3; i++)
        {
            r = await QueryExecutor.ExecuteAsync(ds, "b", spec, options: new ExecutionOptions { MaxChunksInFlight = 2 });
        }

        for (var i = 0; i < rounds; i++)
        {
            var sw = Stopwatch.StartNew();
            r = await QueryExecutor.ExecuteAsync(ds, "b", spec, options: new ExecutionOptions { MaxChunksInFlight = 2 });
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }

        return (best, QueryFinalizer.Finalize(r!, spec));
    }

    private void Report(string line) => BenchEnvironment.Report(output, line);

    /// <summary>
    /// The monthly climatology (<c>groupby time.month</c>, mean alone: the issue's goal, ≥ 3x), then mean and std of it
    /// and of the other groupings/resamples, each vs xarray+Dask threaded (and the 2-process LocalCluster for the month).
    /// </summary>
    [Fact]
    public async Task Groupby_and_resample_against_xarray_dask()
    {
        if (!BenchEnvironment.Enabled)
        {
            return;
        }

        using var ds = await Store("era5_bench");
        var which = Environment.GetEnvironmentVariable("PROXIMA_BENCH_GROUPS") ?? "groupby:time.month:mean,groupby:time.month,groupby:time.season,groupby:time.dayofyear,groupby:time.hour,resample:1D,resample:1MS,resample:1YS";
        foreach (var item in which.Split(','))
        {
            var parts = item.Split(':');
            var (kind, key) = (parts[0], parts[1]);
            var meanOnly = parts.Length > 2 && parts[2] == "mean";
            var ops = meanOnly ? "\"mean\"" : "\"mean\",\"std\"";
            var (ours, result) = await Ours(ds, $$$"""{"datasets":["b"],"variable":"t2m","reduce":{"dims":["time"],"ops":[{{{ops}}}],"{{{kind}}}":"{{{key}}}"}}""", rounds: GroupRounds);
            string[] args = meanOnly ? ["group", Dir, "threaded", kind, key, "mean"] : ["group", Dir, "threaded", kind, key];
            var threaded = await Python(args);
            var t = threaded.GetProperty("seconds").GetDouble();
            Assert.Equal(threaded.GetProperty("first_mean").GetDouble(), result.Data[0].Value[0], 1e-3);
            if (!meanOnly)
            {
                Assert.Equal(threaded.GetProperty("first_std").GetDouble(), result.Data[1].Value[0], 1e-3);
            }

            Assert.Equal(threaded.GetProperty("cells").GetInt64(), result.Data[0].Value.Length);
            var line = $"{kind} {key} {(meanOnly ? "mean" : "mean+std")} ({result.Shape[0]} groups): proxima {ours:F3} s, xarray+dask threaded {t:F3} s -> {t / ours:F2}x";
            if (Cluster && key == "time.month")
            {
                string[] clusterArgs = meanOnly ? ["group", Dir, "cluster", kind, key, "mean"] : ["group", Dir, "cluster", kind, key];
                var cluster = await Python(clusterArgs);
                var c = cluster.GetProperty("seconds").GetDouble();
                line += c > 0 ? $"; LocalCluster(2 procs) {c:F3} s -> {Math.Min(t, c) / ours:F2}x the faster" : "; LocalCluster gave up after 300 s";
            }

            Report(line + (meanOnly ? " (the monthly climatology; goal >= 3x)" : string.Empty) + $" (load {BenchEnvironment.Load()})");
        }
    }

    /// <summary>
    /// 4-city hourly series over 10 years on a grid chunked like ERA5 (24 × lat × lon, scaled down) and on one
    /// chunked for time series (time-contiguous), vs xarray's <c>.sel(method="nearest").load()</c>; bytes read.
    /// </summary>
    [Fact]
    public async Task Point_series_against_xarray_sel_nearest()
    {
        if (!BenchEnvironment.Enabled)
        {
            return;
        }

        foreach (var name in (Environment.GetEnvironmentVariable("PROXIMA_BENCH_POINTS") ?? "points_era5_chunks,points_time_chunks").Split(','))
        {
            using var ds = await Store(name);
            // Best of 15 (a ~30 ms query on a shared 2-core machine needs many tries to get both cores at once).
            var (ours, result) = await Ours(ds, $$$"""{"datasets":["b"],"variable":"t2m","points":{{{Cities}}}}""", rounds: 15);
            var spec = QuerySpecParser.Parse($$$"""{"datasets":["b"],"variable":"t2m","points":{{{Cities}}}}""");
            var bytes = (await QueryExecutor.ExecuteAsync(ds, "b", spec)).BytesRead;
            var planning = double.MaxValue;
            var executing = double.MaxValue;
            for (var i = 0; i < 10; i++)
            {
                var sw = Stopwatch.StartNew();
                var plan = await QueryExecutor.PlanAsync(ds, "b", spec);
                planning = Math.Min(planning, sw.Elapsed.TotalSeconds);
                sw.Restart();
                await QueryExecutor.ExecuteAsync(plan, options: new ExecutionOptions { MaxChunksInFlight = 2 });
                executing = Math.Min(executing, sw.Elapsed.TotalSeconds);
            }

            // Where the reading goes, summed over chunks (so over both threads): storage read + decode, then the gather.
            var timings = new ExecutionTimings();
            await QueryExecutor.ExecuteAsync(ds, "b", spec, options: new ExecutionOptions { MaxChunksInFlight = 2, Timings = timings });
            var xp = await Python("points", Dir, name);
            var x = xp.GetProperty("seconds").GetDouble();
            Assert.Equal(xp.GetProperty("n").GetInt32(), result.Data[0].Value.Length);
            Assert.Equal(xp.GetProperty("sum").GetDouble(), Sum(result.Data[0].Value), 1e-6 * Math.Abs(xp.GetProperty("sum").GetDouble()));
            var chunk = string.Join("x", ds["t2m"].ChunkShape);
            Report(string.Create(CultureInfo.InvariantCulture, $"4-city point series, {result.Data[0].Value.Length} values, chunks {chunk}: proxima {ours * 1000:F1} ms (planning {planning * 1000:F1} ms + reading {executing * 1000:F1} ms, of which chunk read+decode {timings.Read.TotalMilliseconds:F1} ms and gather {timings.Gather.TotalMilliseconds:F1} ms summed over both threads; {bytes / 1e6:F2} MB read), xarray .sel(nearest).load() {x * 1000:F1} ms ({xp.GetProperty("bytes").GetInt64() / 1e6:F2} MB of chunks) -> {x / ours:F2}x (load {BenchEnvironment.Load()})"));
        }
    }

    private static double Sum(double[] v)
    {
        var s = 0.0;
        foreach (var x in v)
        {
            s += x;
        }

        return s;
    }
}
