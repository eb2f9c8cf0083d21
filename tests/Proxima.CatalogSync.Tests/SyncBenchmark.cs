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
    private static double Circle(double a, double b)
    {
        double d = ((a - b) % 360 + 360) % 360;
        return Math.Min(d, 360 - d);
    }

    private static bool Overlaps(double[] d, Proxima.Catalog.BoundingBox q)
    {
        if (d[3] < q.South || q.North < d[1])
        {
            return false;
        }

        static double Arc(double w, double e) => e >= w ? e - w : e - w + 360;
        static double Mod(double x) => ((x % 360) + 360) % 360;
        double wa = Arc(d[0], d[2]), wb = Arc(q.West, q.East);
        return wa >= 360 || wb >= 360 || Mod(q.West - d[0]) <= wa || Mod(d[0] - q.West) <= wb;
    }

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

        // Every document against the generator's expectations, and bbox+datetime searches against brute force.
        var expected = Python.ReadExpected(Path.Combine(root, "r1.0.expected.json"));
        expected.AddRange(Python.ReadExpected(Path.Combine(root, "r2.5000.expected.json")));
        var all = (await Sync.AllAsync(catalog)).ToDictionary(d => d.Id);
        Assert.Equal(10000, all.Count);
        foreach (var e in expected)
        {
            var d = all[e.Id];
            Assert.True(Circle(e.Bbox[0], d.Bbox!.West) < 1e-9 && Math.Abs(e.Bbox[1] - d.Bbox.South) < 1e-9 && Circle(e.Bbox[2], d.Bbox.East) < 1e-9 && Math.Abs(e.Bbox[3] - d.Bbox.North) < 1e-9, e.Id);
            Assert.Equal((e.Start, e.End), (d.Time!.Start, d.Time.End));
        }

        var rng = new Random(3);
        var times = new List<double>();
        for (int q = 0; q < 300; q++)
        {
            double qw = rng.NextDouble() * 360 - (rng.Next(2) == 0 ? 180 : 0);
            double qe = qw + 5 + rng.NextDouble() * 60;
            qe = qe > 180 && qw <= 180 && rng.Next(2) == 0 ? qe - 360 : qe > 360 ? qe - 360 : qe;
            double qs = -90 + rng.NextDouble() * 140, qn = Math.Min(90, qs + 10 + rng.NextDouble() * 40);
            var box = new Proxima.Catalog.BoundingBox(qw, qs, qe, qn);
            int y = 1950 + rng.Next(100);
            string a = $"{y}-01-01T00:00:00", b = $"{y + rng.Next(3)}-12-31T23:59:59";
            var want = expected.Where(e => Overlaps(e.Bbox, box) && string.CompareOrdinal(e.End, a) >= 0 && string.CompareOrdinal(e.Start, b) <= 0)
                .Select(e => e.Id).OrderBy(x => x, StringComparer.Ordinal).ToList();
            long t0 = Stopwatch.GetTimestamp();
            var got = await catalog.SearchAsync(new Proxima.Catalog.DatasetQuery
            {
                Bbox = box,
                TimeStartKey = Proxima.Catalog.TimeKey.Parse(a, Proxima.Catalog.TimeKey.Bound.Start),
                TimeEndKey = Proxima.Catalog.TimeKey.Parse(b, Proxima.Catalog.TimeKey.Bound.End),
                Limit = Proxima.Catalog.DatasetQuery.MaxLimit,
            });
            times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            Assert.True(want.SequenceEqual(got.Items.Select(d => d.Id)), $"{box} {a}/{b}: expected {want.Count}, got {got.Items.Count}");
        }

        times.Sort();
        output.WriteLine($"300 bbox+datetime searches equal brute force over 10000 expected documents; p50 {times[150]:0.00} ms");

        sw.Restart();
        var again = await Task.WhenAll(Sync.RunAsync(catalog, root, "r1"), Sync.RunAsync(catalog, root, "r2"));
        output.WriteLine($"unchanged re-sync: {again.Sum(r => r.Unchanged)} unchanged, {again.Sum(r => r.Writes)} writes in {sw.Elapsed.TotalSeconds:0.00} s");
        Assert.Equal(0, again.Sum(r => r.Writes));
    }
}
