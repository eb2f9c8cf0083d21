using System.Diagnostics;
using Proxima.Catalog;

namespace Proxima.CatalogSync.Tests;

/// <summary>Hundreds of small zarr-python stores in two regions: completeness vs expected, brute-force search, deltas, crash safety.</summary>
public sealed class ScaleAndCrashTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int PerRegion = 250;

    private static (string Root, List<Expected> Expected) Generate(string dir, int perRegion)
    {
        string root = Path.Combine(dir, "data");
        Python.Run("many", root, "r1", perRegion.ToString(), "11", "0");
        Python.Run("many", root, "r2", perRegion.ToString(), "12", perRegion.ToString());
        var exp = Python.ReadExpected(Path.Combine(root, "r1.0.expected.json"));
        exp.AddRange(Python.ReadExpected(Path.Combine(root, $"r2.{perRegion}.expected.json")));
        return (root, exp);
    }

    [Fact]
    public async Task Two_regions_register_completely_and_bbox_datetime_search_equals_brute_force()
    {
        using var dir = new TempDir();
        var (root, expected) = Generate(dir.Path, PerRegion);
        await using var catalog = await Sync.OpenAsync(dir.Path);
        foreach (string region in new[] { "r1", "r2" })
        {
            var r = await Sync.RunAsync(catalog, root, region);
            Assert.Equal(("committed", PerRegion, PerRegion, 0), (r.Status, r.Found, r.Registered, r.Failed));
        }

        var all = (await Sync.AllAsync(catalog)).ToDictionary(d => d.Id);
        Assert.Equal(expected.Count, all.Count);
        foreach (var e in expected)
        {
            var d = all[e.Id];
            Assert.Equal(e.Region, d.Region);
            // Longitudes may be re-expressed in the other convention (-180.2 == 179.8); compare on the circle.
            Assert.Equal(0, Mod360Diff(e.Bbox[0], d.Bbox!.West), 9);
            Assert.Equal(e.Bbox[1], d.Bbox.South, 9);
            Assert.Equal(0, Mod360Diff(e.Bbox[2], d.Bbox.East), 9);
            Assert.Equal(e.Bbox[3], d.Bbox.North, 9);
            Assert.Equal((e.Start, e.End), (d.Time!.Start, d.Time.End));
        }

        var rng = new Random(99);
        for (int q = 0; q < 150; q++)
        {
            double qw = rng.Next(2) == 0 ? -180 + rng.NextDouble() * 360 : rng.NextDouble() * 360;
            double qe = qw + 5 + rng.NextDouble() * 80;
            if (qe > 180 && qw <= 180 && rng.Next(2) == 0)
            {
                qe -= 360; // -180..180 query across the antimeridian
            }
            else if (qe > 360)
            {
                qe -= 360;
            }

            double qs = -90 + rng.NextDouble() * 140, qn = Math.Min(90, qs + 10 + rng.NextDouble() * 60);
            var box = new BoundingBox(qw, qs, qe, qn);
            int y = 1950 + rng.Next(100);
            string a = $"{y}-03-01T00:00:00Z", b = $"{y + rng.Next(4)}-08-31T23:59:59Z";
            var expectedIds = expected.Where(e => Overlaps(e.Bbox, box) && string.CompareOrdinal(e.End, a[..19]) >= 0 && string.CompareOrdinal(e.Start, b[..19]) <= 0)
                .Select(e => e.Id).OrderBy(x => x, StringComparer.Ordinal).ToList();
            var got = await catalog.SearchAsync(new DatasetQuery
            {
                Bbox = box,
                TimeStartKey = TimeKey.Parse(a, TimeKey.Bound.Start),
                TimeEndKey = TimeKey.Parse(b, TimeKey.Bound.End),
                Limit = DatasetQuery.MaxLimit,
            });
            Assert.True(expectedIds.SequenceEqual(got.Items.Select(d => d.Id)), $"{box} {a}/{b}: expected {expectedIds.Count} got {got.Items.Count}");
        }
    }

    private static double Mod360Diff(double a, double b)
    {
        double d = ((a - b) % 360 + 360) % 360;
        return Math.Min(d, 360 - d);
    }

    // Independent of BoundingBox: longitudes as arcs on a circle.
    private static bool Overlaps(double[] d, BoundingBox q)
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

    [Fact]
    public async Task Deleting_25_and_adding_5_is_reflected_after_one_run_and_a_rerun_writes_nothing()
    {
        using var dir = new TempDir();
        string root = Path.Combine(dir.Path, "data");
        Python.Run("many", root, "r1", "120", "5", "0");
        await using var catalog = await Sync.OpenAsync(dir.Path);
        await Sync.RunAsync(catalog, root, "r1");
        var rerun = await Sync.RunAsync(catalog, root, "r1");
        Assert.Equal(("unchanged", 0, 120), (rerun.Status, rerun.Writes, rerun.Unchanged));

        var ids = (await Sync.AllAsync(catalog)).Select(d => d.Id).ToList();
        var deleted = ids.OrderBy(_ => Guid.NewGuid()).Take(25).ToHashSet();
        foreach (string id in deleted)
        {
            Directory.Delete(Path.Combine(root, "r1", id + ".zarr"), recursive: true);
        }

        Python.Run("many", root, "r1", "5", "6", "5000");
        var r = await Sync.RunAsync(catalog, root, "r1");
        Assert.Equal(("committed", 100, 5, 95, 25), (r.Status, r.Found, r.Registered, r.Unchanged, r.Removed));
        var now = (await Sync.AllAsync(catalog)).Select(d => d.Id).ToHashSet();
        Assert.Equal(100, now.Count);
        Assert.Empty(now.Intersect(deleted));
        Assert.Equal(5, now.Count(id => id.StartsWith("set", StringComparison.Ordinal) && int.Parse(id[^5..]) >= 5000));
    }

    [Fact]
    public async Task Killing_the_sync_process_at_20_points_always_leaves_a_complete_generation_and_the_next_run_converges()
    {
        using var dir = new TempDir();
        string rootA = Path.Combine(dir.Path, "a");
        Python.Run("many", rootA, "r1", "100", "21", "0");
        string db = Path.Combine(dir.Path, "catalog.db");
        Assert.Equal(0, await RunChildAsync(db, Path.Combine(rootA, "r1"), killAfterLines: null));
        HashSet<string> genA;
        await using (var c = await Sync.OpenAsync(dir.Path))
        {
            genA = (await Sync.AllAsync(c)).Select(d => d.Id + "|" + d.Fingerprint).ToHashSet();
        }

        // Version B of the tree (a copy with unchanged mtimes): 25 deleted, 5 added, 10 changed.
        string rootB = Path.Combine(dir.Path, "b");
        foreach (string f in Directory.EnumerateFiles(rootA, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(rootB, Path.GetRelativePath(rootA, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
            File.SetLastWriteTimeUtc(target, File.GetLastWriteTimeUtc(f));
        }

        var rng = new Random(5);
        var stores = Directory.GetDirectories(Path.Combine(rootB, "r1"), "*.zarr", SearchOption.AllDirectories).Order().ToList();
        foreach (var s in stores.OrderBy(_ => rng.Next()).Take(25).ToList())
        {
            Directory.Delete(s, recursive: true);
            stores.Remove(s);
        }

        foreach (var s in stores.Take(10))
        {
            // Change the attributes as zarr-python would: .zattrs plus the consolidated copy in .zmetadata.
            string attrs = Path.Combine(s, ".zattrs");
            File.WriteAllText(attrs, """{"title": "changed"}""");
            File.SetLastWriteTimeUtc(attrs, DateTime.UtcNow.AddMinutes(5));
            string zmeta = Path.Combine(s, ".zmetadata");
            var meta = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(zmeta))!;
            meta["metadata"]![".zattrs"] = new System.Text.Json.Nodes.JsonObject { ["title"] = "changed" };
            File.WriteAllText(zmeta, meta.ToJsonString());
        }

        Python.Run("many", rootB, "r1", "5", "22", "9000");
        Assert.Equal(0, await RunChildAsync(db, Path.Combine(rootB, "r1"), killAfterLines: null));
        HashSet<string> genB;
        await using (var c = await Sync.OpenAsync(dir.Path))
        {
            genB = (await Sync.AllAsync(c)).Select(d => d.Id + "|" + d.Fingerprint).ToHashSet();
        }

        Assert.Equal(80, genB.Count);

        // Each kill interrupts a real switch: the child syncs towards whichever version the catalog does not hold.
        var seen = new List<string>();
        var points = new List<int>();
        bool isB = true;
        // 20 kills during the run (every fifth at the commit phase), then 2 right after the child reports its
        // result: whether a mid-run kill lands before or after the switch depends on timing, these two always
        // land after it, so a completed switch is exercised on every run.
        for (int i = 0; i < 22; i++)
        {
            int killAfter = i >= 20 ? -2 : i % 5 == 4 ? -1 : rng.Next(0, 12);
            points.Add(killAfter);
            await RunChildAsync(db, Path.Combine(isB ? rootA : rootB, "r1"), killAfter);
            await using var c = await Sync.OpenAsync(dir.Path);
            var state = (await Sync.AllAsync(c)).Select(d => d.Id + "|" + d.Fingerprint).ToHashSet();
            var fps = (await c.GetFingerprintsAsync("r1")).Select(f => f.Id + "|" + f.Fingerprint).ToHashSet();
            bool a = state.SetEquals(genA), b = state.SetEquals(genB);
            Assert.True(a || b, $"kill {i} after {killAfter} lines: catalog holds {state.Count} datasets, neither generation A (100) nor B (80)");
            Assert.True(fps.SetEquals(state), "fingerprints and search disagree");
            seen.Add(a ? "A" : "B");
            isB = b;
        }

        output.WriteLine("generation live after each kill: " + string.Join("", seen) + " (kill after lines: " + string.Join(",", points) + "; -1 = at the commit phase, -2 = after the result)");

        // The next run converges on what is on disk: 0 missing, 0 stale.
        Assert.Equal(0, await RunChildAsync(db, Path.Combine(rootB, "r1"), killAfterLines: null));
        await using (var c = await Sync.OpenAsync(dir.Path))
        {
            var final = await Sync.AllAsync(c);
            var onDisk = Directory.GetDirectories(Path.Combine(rootB, "r1"), "*.zarr", SearchOption.AllDirectories)
                .Select(p => Path.GetRelativePath(Path.Combine(rootB, "r1"), p)[..^5]).ToHashSet();
            Assert.True(onDisk.SetEquals(final.Select(d => d.Id)), "0 missing, 0 stale");
            Assert.True(final.Select(d => d.Id + "|" + d.Fingerprint).ToHashSet().SetEquals(genB));
            Assert.Equal(10, final.Count(d => d.Attrs.TryGetValue("title", out var t) && t == "changed"));
            var again = await Sync.RunAsync(c, rootB, "r1");
            Assert.Equal(0, again.Writes);
        }

        Assert.Contains("A", seen);
    }

    [Fact]
    public async Task Readers_during_a_sync_see_the_old_or_the_new_generation_never_a_mix()
    {
        using var dir = new TempDir();
        string root = Path.Combine(dir.Path, "data");
        Python.Run("many", root, "r1", "80", "31", "0");
        await using var catalog = await Sync.OpenAsync(dir.Path);
        await Sync.RunAsync(catalog, root, "r1");
        var a = (await Sync.AllAsync(catalog)).Select(d => d.Id).ToHashSet();
        var deleted = a.Order().Where((_, i) => i % 4 == 0).ToList();
        foreach (string id in deleted)
        {
            Directory.Delete(Path.Combine(root, "r1", id + ".zarr"), recursive: true);
        }

        Python.Run("many", root, "r1", "10", "32", "7000");
        var b = a.Except(deleted).Concat(Python.ReadExpected(Path.Combine(root, "r1.7000.expected.json")).Select(e => e.Id)).ToHashSet();

        var sync = SyncRunner.RunAsync(new SyncOptions { Region = "r1", RegionRoot = Path.Combine(root, "r1"), Catalog = catalog, BatchSize = 2, Parallelism = 2 });
        int sawA = 0, sawB = 0;
        while (true)
        {
            bool done = sync.IsCompleted;
            var ids = (await catalog.SearchAsync(new DatasetQuery { Limit = DatasetQuery.MaxLimit })).Items.Select(d => d.Id).ToHashSet();
            var fps = (await catalog.GetFingerprintsAsync("r1")).Select(f => f.Id).ToHashSet();
            Assert.True(ids.SetEquals(a) || ids.SetEquals(b), $"search saw {ids.Count} datasets: a mix of generations");
            Assert.True(fps.SetEquals(a) || fps.SetEquals(b), $"fingerprints saw {fps.Count} datasets: a mix of generations");
            if (ids.SetEquals(a))
            {
                sawA++;
            }
            else
            {
                sawB++;
            }

            if (done)
            {
                break;
            }
        }

        Assert.Equal("committed", (await sync).Status);
        Assert.True(sawB > 0);
        Assert.True(sawA > 0, "the reader never ran before the switch; the check did not exercise a running sync");
    }

    /// <summary>Runs SyncChild; when <paramref name="killAfterLines"/> is set, kills it (SIGKILL) after that many progress lines
    /// (-1: at the commit phase; -2: when it prints its result, after the switch and before it exits).</summary>
    private static async Task<int> RunChildAsync(string db, string regionRoot, int? killAfterLines)
    {
        // Artifacts layout: artifacts/bin/<project>/<configuration>/ — the child sits next to this test assembly's folder.
        string configuration = Path.GetFileName(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory));
        string child = Path.Combine(AppContext.BaseDirectory, "..", "..", "SyncChild", configuration, "SyncChild.dll");
        Assert.True(File.Exists(child), $"SyncChild not built at {child}");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in new[] { child, db, "r1", regionRoot })
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        int lines = 0;
        while (await p.StandardOutput.ReadLineAsync() is { } line)
        {
            if (killAfterLines is { } k && k switch
                {
                    -2 => line.StartsWith("report ", StringComparison.Ordinal),
                    -1 => line.Contains(" commit:", StringComparison.Ordinal),
                    _ => lines++ >= k,
                })
            {
                p.Kill(entireProcessTree: true);
                break;
            }
        }

        await p.WaitForExitAsync();
        if (killAfterLines is null && p.ExitCode != 0)
        {
            throw new InvalidOperationException("SyncChild failed: " + await stderr);
        }

        return p.ExitCode;
    }
}
