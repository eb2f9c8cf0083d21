using System.Diagnostics;
using System.Text.Json;
using Proxima.Arrays;
using Proxima.Arrays.Storage;
using Proxima.Compute.Execution;
using Proxima.Compute.Query;
using Xunit.Abstractions;

namespace Proxima.Compute.Tests.Bench;

/// <summary>
/// Side-by-side timings against xarray+Dask and libblosc on a ~1 GB ERA5-like store (opt-in: set
/// <c>PROXIMA_BENCH=1</c>; <c>PROXIMA_BENCH_DIR</c> keeps the store between runs, default /tmp/proxima-bench).
/// Not a pass/fail test of speed: it checks our answer equals Dask's and prints the figures.
/// </summary>
public sealed class BenchmarkTests(ITestOutputHelper output)
{
    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "Bench", "bench.py");

    private static async Task<JsonElement> Python(params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3", [Script, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true };
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

    private void Report(string line)
    {
        output.WriteLine(line);
        Console.WriteLine("[bench] " + line);
    }

    [Fact]
    public async Task Mean_std_over_time_climatology_and_points_against_xarray_dask()
    {
        if (Environment.GetEnvironmentVariable("PROXIMA_BENCH") != "1")
        {
            return;
        }

        var dir = Environment.GetEnvironmentVariable("PROXIMA_BENCH_DIR") ?? "/tmp/proxima-bench";
        Directory.CreateDirectory(dir);
        await Python("gen", dir, Environment.GetEnvironmentVariable("PROXIMA_BENCH_NT") ?? "1008");
        using var ds = await GridDataset.OpenAsync(new PosixStorage(dir), "era5_bench.zarr");
        var v = ds["t2m"];
        var decodedBytes = v.ElementCount * 4;

        async Task<(double Seconds, PartialResult Result)> Ours(string json)
        {
            var spec = QuerySpecParser.Parse(json);
            var best = double.MaxValue;
            PartialResult? r = null;
            for (var i = 0; i < 3; i++)
            {
                var sw = Stopwatch.StartNew();
                r = await QueryExecutor.ExecuteAsync(ds, "era5_bench", spec, options: new ExecutionOptions { MaxChunksInFlight = 2 });
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }

            return (best, r!);
        }

        var (ours, result) = await Ours("""{"datasets":["b"],"variable":"t2m","reduce":{"dims":["time"],"ops":["mean","std"]}}""");
        var peakMb = Process.GetCurrentProcess().PeakWorkingSet64 / 1e6;
        Report($"proxima mean+std over time: {ours:F3} s ({decodedBytes / 1e9 / ours:F2} GB/s decoded), peak working set {peakMb:F0} MB (test host)");
        var blosc = await Python("run", dir, "blosc");
        Report($"libblosc raw decompress: {blosc.GetProperty("seconds").GetDouble():F3} s");
        var threaded = await Python("run", dir, "threaded");
        Report($"xarray+dask threaded: {threaded.GetProperty("seconds").GetDouble():F3} s");
        var cluster = await Python("run", dir, "cluster");
        Report($"xarray+dask LocalCluster(2 processes): {cluster.GetProperty("seconds").GetDouble():F3} s (-1 = gave up after 300 s)");
        var final = QueryFinalizer.Finalize(result, QuerySpecParser.Parse("""{"datasets":["b"],"variable":"t2m","reduce":{"dims":["time"],"ops":["mean","std"]}}"""));
        Assert.Equal(threaded.GetProperty("first_mean").GetDouble(), final.Data[0].Value[0], 1e-3);
        var clusterS = cluster.GetProperty("seconds").GetDouble();
        var dask = clusterS > 0 ? Math.Min(threaded.GetProperty("seconds").GetDouble(), clusterS) : threaded.GetProperty("seconds").GetDouble();
        Report($"mean+std over time, {decodedBytes / 1e9:F2} GB decoded float32 ({blosc.GetProperty("compressed").GetInt64() / 1e9:F2} GB Blosc-lz4, {blosc.GetProperty("chunks").GetInt32()} chunks), 2 cores:");
        Report($"  proxima        {ours:F3} s  ({decodedBytes / 1e9 / ours:F2} GB/s decoded)  peak working set {peakMb:F0} MB (test host)");
        Report($"  xarray+dask threaded {threaded.GetProperty("seconds").GetDouble():F3} s, LocalCluster(2 procs) {cluster.GetProperty("seconds").GetDouble():F3} s  -> proxima is {dask / ours:F2}x faster than the faster");
        Report($"  libblosc raw decompress (numcodecs, 2 threads) {blosc.GetProperty("seconds").GetDouble():F3} s  -> proxima / raw = {ours / blosc.GetProperty("seconds").GetDouble():F2}");

        var (oursClim, _) = await Ours("""{"datasets":["b"],"variable":"t2m","reduce":{"dims":["time"],"ops":["mean"],"groupby":"time.month"}}""");
        var climT = await Python("run", dir, "climatology_threaded");
        Report($"monthly climatology: proxima {oursClim:F3} s, xarray+dask threaded {climT.GetProperty("seconds").GetDouble():F3} s -> {climT.GetProperty("seconds").GetDouble() / oursClim:F2}x");

        var (oursPts, pts) = await Ours("""{"datasets":["b"],"variable":"t2m","points":[{"lat":-33.87,"lon":151.21},{"lat":51.5,"lon":-0.12},{"lat":40.71,"lon":-74.01},{"lat":35.68,"lon":139.69}]}""");
        var xp = await Python("run", dir, "points");
        Assert.Equal(xp.GetProperty("n").GetInt32(), pts.Values!.Length);
        Report($"4-city point series ({pts.Values.Length} values): proxima {oursPts * 1000:F1} ms, xarray .sel(nearest).load() {xp.GetProperty("seconds").GetDouble() * 1000:F1} ms -> {xp.GetProperty("seconds").GetDouble() / oursPts:F2}x");
    }
}
