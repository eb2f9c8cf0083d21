using System.Diagnostics;
using Xunit.Abstractions;

namespace Proxima.CatalogSync.Tests;

/// <summary>Runs only with PROXIMA_BENCH=1: 10,000 zarr-python stores over two regions (numbers for the README).</summary>
public sealed class BenchFactAttribute : FactAttribute
{
    public BenchFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("PROXIMA_BENCH") != "1")
        {
            Skip = "benchmark: set PROXIMA_BENCH=1";
        }
    }
}

public sealed class SyncBenchmark(ITestOutputHelper output)
{
    [BenchFact]
    public async Task First_sync_and_unchanged_resync_of_10000_datasets_over_two_regions()
    {
        using var dir = new TempDir();
        string root = Environment.GetEnvironmentVariable("PROXIMA_BENCH_DATA") ?? Path.Combine(dir.Path, "data");
        if (!Directory.Exists(Path.Combine(root, "r2")))
        {
            var gen = Stopwatch.StartNew();
            Python.Run("many", root, "r1", "5000", "1", "0");
            Python.Run("many", root, "r2", "5000", "2", "5000");
            output.WriteLine($"generated 10000 stores with zarr-python in {gen.Elapsed.TotalSeconds:0} s");
        }

        await using var catalog = await Sync.OpenAsync(dir.Path);
        var sw = Stopwatch.StartNew();
        var reports = await Task.WhenAll(Sync.RunAsync(catalog, root, "r1"), Sync.RunAsync(catalog, root, "r2"));
        double first = sw.Elapsed.TotalSeconds;
        output.WriteLine($"first sync: {reports.Sum(r => r.Registered)} registered, {reports.Sum(r => r.Failed)} failed in {first:0.0} s ({reports.Sum(r => r.Found) / first:0}/s)");
        Assert.Equal(10000, reports.Sum(r => r.Registered));

        sw.Restart();
        var again = await Task.WhenAll(Sync.RunAsync(catalog, root, "r1"), Sync.RunAsync(catalog, root, "r2"));
        output.WriteLine($"unchanged re-sync: {again.Sum(r => r.Unchanged)} unchanged, {again.Sum(r => r.Writes)} writes in {sw.Elapsed.TotalSeconds:0.00} s");
        Assert.Equal(0, again.Sum(r => r.Writes));
    }
}
