using System.Diagnostics;
using Proxima.Catalog.Sqlite;
using Xunit.Abstractions;

namespace Proxima.Catalog.Tests;

/// <summary>Runs only with PROXIMA_BENCH=1 (numbers for the README, not a timed test).</summary>
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

public sealed class SearchBenchmark(ITestOutputHelper output)
{
    [BenchFact]
    public async Task Sqlite_bbox_datetime_search_over_100000_entries()
    {
        using var dir = new TempDir();
        string? keep = Environment.GetEnvironmentVariable("PROXIMA_BENCH_DB");
        bool reuse = keep is not null && File.Exists(keep);
        await using var catalog = await SqliteCatalog.OpenAsync(keep ?? Path.Combine(dir.Path, "catalog.db"));
        var rng = new Random(42);
        var sw = Stopwatch.StartNew();
        foreach (string region in reuse ? [] : new[] { "r1", "r2", "r3", "r4" })
        {
            await using var g = await catalog.BeginGenerationAsync(region, "run1");
            for (int batch = 0; batch < 25; batch++)
            {
                var docs = new List<DatasetDocument>(1000);
                for (int i = 0; i < 1000; i++)
                {
                    double w = -180 + rng.NextDouble() * 350, s = -80 + rng.NextDouble() * 150;
                    int y = 1950 + rng.Next(70);
                    docs.Add(Docs.Make($"ds/{region}/{batch:00}/{i:0000}", region, new BoundingBox(w, s, Math.Min(180, w + rng.NextDouble() * 10), Math.Min(90, s + rng.NextDouble() * 10)),
                        $"{y}-01-01T00:00:00", $"{y + rng.Next(3)}-12-31T00:00:00"));
                }

                await g.UpsertAsync(docs);
            }

            await g.CommitAsync(Docs.Report(region, "run1"));
        }

        output.WriteLine($"insert 100000 docs: {sw.Elapsed.TotalSeconds:0.0} s");
        var times = new List<double>();
        long matched = 0;
        for (int q = 0; q < 600; q++)
        {
            double w = -180 + rng.NextDouble() * 340, s = -80 + rng.NextDouble() * 140;
            int y = 1950 + rng.Next(70);
            var query = new DatasetQuery
            {
                Bbox = new BoundingBox(w, s, w + 20, Math.Min(90, s + 20)),
                TimeStartKey = TimeKey.Parse($"{y}-01-01", TimeKey.Bound.Start),
                TimeEndKey = TimeKey.Parse($"{y}-06-30", TimeKey.Bound.End),
                Limit = 10,
            };
            long t0 = Stopwatch.GetTimestamp();
            var page = await catalog.SearchAsync(query);
            double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (q >= 100)
            {
                times.Add(ms);
                matched += page.NumberMatched;
            }
        }

        times.Sort();
        output.WriteLine($"search bbox(20x20 deg)+datetime(6 months), limit 10, 500 queries: p50 {times[times.Count / 2]:0.00} ms, p99 {times[(int)(times.Count * 0.99)]:0.00} ms, mean matched {matched / 500.0:0}");
    }
}
