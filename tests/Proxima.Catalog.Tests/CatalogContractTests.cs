namespace Proxima.Catalog.Tests;

/// <summary>Behaviour every ICatalog backend must have. Runs on SQLite always, on OpenSearch when PROXIMA_OPENSEARCH_URL is set.</summary>
public sealed class CatalogContractTests
{
    public static IEnumerable<object[]> BackendNames => Backends.All();

    [Theory, MemberData(nameof(BackendNames))]
    public async Task Uncommitted_generation_is_invisible_and_commit_switches(string backend)
    {
        using var dir = new TempDir();
        await using var catalog = await Backends.CreateAsync(backend, dir);
        await using (var g = await catalog.BeginGenerationAsync("us-east-1", "run1"))
        {
            await g.UpsertAsync([Docs.Make("a/one", "us-east-1"), Docs.Make("a/two", "us-east-1")]);
            Assert.Empty((await catalog.SearchAsync(new DatasetQuery())).Items);
            Assert.Empty(await catalog.GetDatasetAsync("a/one"));
            await g.CommitAsync(Docs.Report("us-east-1", "run1"));
        }

        var page = await catalog.SearchAsync(new DatasetQuery());
        Assert.Equal(2, page.NumberMatched);
        Assert.Equal(["a/one", "a/two"], page.Items.Select(d => d.Id));
        Assert.All(page.Items, d => Assert.Equal("run1", d.SyncRun));
        var regions = await catalog.ListRegionsAsync();
        Assert.Equal("us-east-1", Assert.Single(regions).Region);
        Assert.Equal(2, regions[0].Datasets);
        Assert.Equal("run1", regions[0].LiveRun);
    }

    [Theory, MemberData(nameof(BackendNames))]
    public async Task Abort_keeps_previous_generation_and_removals_apply_only_on_commit(string backend)
    {
        using var dir = new TempDir();
        await using var catalog = await Backends.CreateAsync(backend, dir);
        await using (var g = await catalog.BeginGenerationAsync("r1", "run1"))
        {
            await g.UpsertAsync([Docs.Make("x", "r1"), Docs.Make("y", "r1")]);
            await g.CommitAsync(Docs.Report("r1", "run1"));
        }

        await using (var g = await catalog.BeginGenerationAsync("r1", "run2"))
        {
            await g.RemoveAsync(["x"]);
            await g.UpsertAsync([Docs.Make("z", "r1"), Docs.Make("y", "r1", fingerprint: "fp2")]);
            await g.AbortAsync(Docs.Report("r1", "run2", "aborted"));
        }

        var ids = (await catalog.SearchAsync(new DatasetQuery())).Items.Select(d => d.Id + ":" + d.Fingerprint);
        Assert.Equal(["x:fp1", "y:fp1"], ids);
        Assert.Equal("aborted", (await catalog.GetLastReportAsync("r1"))!.Status);

        await using (var g = await catalog.BeginGenerationAsync("r1", "run3"))
        {
            await g.RemoveAsync(["x"]);
            await g.UpsertAsync([Docs.Make("z", "r1"), Docs.Make("y", "r1", fingerprint: "fp2")]);
            await g.CommitAsync(Docs.Report("r1", "run3"));
        }

        ids = (await catalog.SearchAsync(new DatasetQuery())).Items.Select(d => d.Id + ":" + d.Fingerprint);
        Assert.Equal(["y:fp2", "z:fp1"], ids);
        var fps = await catalog.GetFingerprintsAsync("r1");
        Assert.Equal(["y", "z"], fps.Select(f => f.Id));
        Assert.Equal("committed", (await catalog.GetLastReportAsync("r1"))!.Status);
    }

    [Theory, MemberData(nameof(BackendNames))]
    public async Task Dataset_split_across_regions_returns_all_parts_ordered_by_time(string backend)
    {
        using var dir = new TempDir();
        await using var catalog = await Backends.CreateAsync(backend, dir);
        await using (var g = await catalog.BeginGenerationAsync("us-west-2", "run1"))
        {
            await g.UpsertAsync([Docs.Make("era5/t2m", "us-west-2", start: "2001-01-01T00:00:00", end: "2001-12-31T23:00:00")]);
            await g.CommitAsync(Docs.Report("us-west-2", "run1"));
        }

        await using (var g = await catalog.BeginGenerationAsync("us-east-1", "run1"))
        {
            await g.UpsertAsync([Docs.Make("era5/t2m", "us-east-1", start: "2000-01-01T00:00:00", end: "2000-12-31T23:00:00")]);
            await g.CommitAsync(Docs.Report("us-east-1", "run1"));
        }

        var parts = await catalog.GetDatasetAsync("era5/t2m");
        Assert.Equal(["us-east-1", "us-west-2"], parts.Select(p => p.Region));
        Assert.Equal("2001-01-01T00:00:00", parts[1].Time!.Start);

        // A datetime search finds only the part holding that year.
        var hit = await catalog.SearchAsync(new DatasetQuery { TimeStartKey = TimeKey.Parse("2001-06-01", TimeKey.Bound.Start), TimeEndKey = TimeKey.Parse("2001-06-02", TimeKey.Bound.End) });
        Assert.Equal("us-west-2", Assert.Single(hit.Items).Region);
        Assert.Equal(2, (await catalog.ListRegionsAsync()).Count);
    }

    [Theory, MemberData(nameof(BackendNames))]
    public async Task Variable_text_region_and_acl_filters(string backend)
    {
        using var dir = new TempDir();
        await using var catalog = await Backends.CreateAsync(backend, dir);
        await using (var g = await catalog.BeginGenerationAsync("r1", "run1"))
        {
            await g.UpsertAsync([
                Docs.Make("reanalysis/era5/t2m", "r1", vars: [("t2m", "air_temperature")]),
                Docs.Make("reanalysis/era5/tp", "r1", vars: [("tp", "precipitation_amount")]),
                Docs.Make("cmip6/ukesm/tas", "r1", acl: ["cmip"], vars: [("tas", "air_temperature"), ("pr", "precipitation_flux")]),
            ]);
            await g.CommitAsync(Docs.Report("r1", "run1"));
        }

        async Task<string[]> Ids(DatasetQuery q) => (await catalog.SearchAsync(q)).Items.Select(d => d.Id).ToArray();
        Assert.Equal(["cmip6/ukesm/tas", "reanalysis/era5/t2m"], await Ids(new DatasetQuery { Variable = "air_temperature" }));
        Assert.Equal(["reanalysis/era5/tp"], await Ids(new DatasetQuery { Variable = "TP" }));
        Assert.Equal(["cmip6/ukesm/tas"], await Ids(new DatasetQuery { Variable = "pr" }));
        Assert.Equal(["reanalysis/era5/t2m", "reanalysis/era5/tp"], await Ids(new DatasetQuery { Text = "era5" }));
        Assert.Equal(["reanalysis/era5/tp"], await Ids(new DatasetQuery { Text = "precip reanalysis" }));
        Assert.Equal(["cmip6/ukesm/tas"], await Ids(new DatasetQuery { Text = "ukesm" }));
        Assert.Empty(await Ids(new DatasetQuery { Region = "r2" }));
        Assert.Equal(["reanalysis/era5/t2m", "reanalysis/era5/tp"], await Ids(new DatasetQuery { Groups = [] }));
        Assert.Equal(3, (await Ids(new DatasetQuery { Groups = ["cmip", "other"] })).Length);
    }

    [Theory, MemberData(nameof(BackendNames))]
    public async Task Paging_returns_every_match_once_in_order(string backend)
    {
        using var dir = new TempDir();
        await using var catalog = await Backends.CreateAsync(backend, dir);
        foreach (string region in new[] { "r1", "r2" })
        {
            await using var g = await catalog.BeginGenerationAsync(region, "run1");
            await g.UpsertAsync(Enumerable.Range(0, 23).Select(i => Docs.Make($"ds/{i:00}", region)).ToList());
            await g.CommitAsync(Docs.Report(region, "run1"));
        }

        var seen = new List<string>();
        string? token = null;
        int pages = 0;
        do
        {
            var page = await catalog.SearchAsync(new DatasetQuery { Limit = 10, PageToken = token });
            Assert.Equal(46, page.NumberMatched);
            seen.AddRange(page.Items.Select(d => d.Id + "@" + d.Region));
            token = page.NextToken;
            pages++;
        }
        while (token is not null);

        Assert.Equal(5, pages);
        var expected = Enumerable.Range(0, 23).SelectMany(i => new[] { $"ds/{i:00}@r1", $"ds/{i:00}@r2" }).ToList();
        Assert.Equal(expected, seen);
    }

    [Theory, MemberData(nameof(BackendNames))]
    public async Task Invalid_documents_are_refused_naming_the_dataset(string backend)
    {
        using var dir = new TempDir();
        await using var catalog = await Backends.CreateAsync(backend, dir);
        await using var g = await catalog.BeginGenerationAsync("r1", "run1");
        var e = await Assert.ThrowsAsync<ArgumentException>(() => g.UpsertAsync([Docs.Make("bad/time", "r1", start: "2001-01-01", end: "2000-01-01")]));
        Assert.Contains("'bad/time'", e.Message, StringComparison.Ordinal);
        e = await Assert.ThrowsAsync<ArgumentException>(() => g.UpsertAsync([Docs.Make("bad/iso", "r1", start: "yesterday")]));
        Assert.Contains("time.start 'yesterday'", e.Message, StringComparison.Ordinal);
        e = await Assert.ThrowsAsync<ArgumentException>(() => g.UpsertAsync([Docs.Make("x", "r2")]));
        Assert.Contains("region 'r2'", e.Message, StringComparison.Ordinal);
    }

    [Theory, MemberData(nameof(BackendNames))]
    public async Task Second_writer_for_same_region_is_refused_while_first_is_open(string backend)
    {
        using var dir = new TempDir();
        await using var catalog = await Backends.CreateAsync(backend, dir);
        await using var g = await catalog.BeginGenerationAsync("r1", "run1");
        await Assert.ThrowsAsync<CatalogBusyException>(() => catalog.BeginGenerationAsync("r1", "run2"));
        await using var other = await catalog.BeginGenerationAsync("r2", "run1"); // other regions are independent
        await g.AbortAsync(null);
        await using var again = await catalog.BeginGenerationAsync("r1", "run3");
    }

    [Theory, MemberData(nameof(BackendNames))]
    public async Task Bbox_and_datetime_search_matches_brute_force_including_antimeridian_and_0_360(string backend)
    {
        using var dir = new TempDir();
        await using var catalog = await Backends.CreateAsync(backend, dir);
        var rng = new Random(1234);
        var docs = new List<DatasetDocument>();
        for (int i = 0; i < 1500; i++)
        {
            bool zeroTo360 = rng.Next(3) == 0;
            double width = rng.Next(10) == 0 ? 360 : rng.NextDouble() * 60;
            double west = width >= 360 ? (zeroTo360 ? 0 : -180) : zeroTo360 ? rng.NextDouble() * (360 - width) : -180 + rng.NextDouble() * 360;
            double east = west + width;
            if (!zeroTo360 && east > 180)
            {
                east -= 360; // crosses the antimeridian: west > east
            }

            double s = -90 + rng.NextDouble() * 150, n = Math.Min(90, s + rng.NextDouble() * 40);
            int y0 = 1950 + rng.Next(100), y1 = y0 + 1 + rng.Next(4);
            string cal = rng.Next(4) == 0 ? "360_day" : "standard";
            string endDay = cal == "360_day" ? "30" : "28";
            docs.Add(Docs.Make($"ds/{i:0000}", i % 2 == 0 ? "r1" : "r2", new BoundingBox(west, s, east, n),
                $"{y0:0000}-{rng.Next(1, 13):00}-01T00:00:00", $"{y1:0000}-02-{endDay}T18:00:00", cal));
        }

        for (int i = 0; i < 40; i++)
        {
            // Datasets without lat/lon or without time: never matched by a bbox / datetime filter respectively.
            var d = Docs.Make($"nb/{i:00}", "r1", start: i % 2 == 0 ? null : "2000-01-01T00:00:00");
            docs.Add(i % 4 < 2 ? d with { Bbox = null } : d);
        }

        foreach (var grp in docs.GroupBy(d => d.Region))
        {
            await using var g = await catalog.BeginGenerationAsync(grp.Key, "run1");
            foreach (var chunk in grp.Chunk(500))
            {
                await g.UpsertAsync(chunk);
            }

            await g.CommitAsync(Docs.Report(grp.Key, "run1"));
        }

        for (int q = 0; q < 120; q++)
        {
            double qw = rng.Next(2) == 0 ? -180 + rng.NextDouble() * 360 : rng.NextDouble() * 360;
            double qe = qw + rng.NextDouble() * 90;
            if (qw <= 180 && qe > 180 && rng.Next(2) == 0)
            {
                qe -= 360; // -180..180 query crossing the antimeridian
            }
            else if (qe > 360)
            {
                qe -= 360;
            }

            double qs = -90 + rng.NextDouble() * 150, qn = Math.Min(90, qs + rng.NextDouble() * 50);
            var box = new BoundingBox(qw, qs, qe, qn);
            bool timeOnly = q % 10 == 9;
            int ya = 1950 + rng.Next(110);
            long? ts = rng.Next(5) == 0 ? null : TimeKey.Parse($"{ya}-03-01", TimeKey.Bound.Start);
            long? te = rng.Next(5) == 0 ? null : TimeKey.Parse($"{ya + rng.Next(3)}-02-29", TimeKey.Bound.End);
            var expected = docs.Where(d => (timeOnly || (d.Bbox is not null && BruteForce.Overlaps(d.Bbox, box))) && (d.Time is null ? ts is null && te is null : BruteForce.TimeOverlaps(d.Time, ts, te)))
                .Select(d => d.Id).OrderBy(x => x, StringComparer.Ordinal).ToList();
            var got = await catalog.SearchAsync(new DatasetQuery { Bbox = timeOnly ? null : box, TimeStartKey = ts, TimeEndKey = te, Limit = DatasetQuery.MaxLimit });
            Assert.True(expected.SequenceEqual(got.Items.Select(d => d.Id)), $"query {box} {ts}..{te}: expected {expected.Count}, got {got.Items.Count}");
            Assert.Equal(expected.Count, got.NumberMatched);
        }
    }
}

/// <summary>An independent overlap check: longitudes as arcs on a circle, times as calendar-component tuples.</summary>
internal static class BruteForce
{
    public static bool Overlaps(BoundingBox a, BoundingBox b)
    {
        if (a.North < b.South || b.North < a.South)
        {
            return false;
        }

        double wa = Arc(a.West, a.East), wb = Arc(b.West, b.East);
        if (wa >= 360 || wb >= 360)
        {
            return true;
        }

        return Mod(b.West - a.West) <= wa || Mod(a.West - b.West) <= wb;
    }

    private static double Arc(double w, double e) => e >= w ? e - w : e - w + 360;

    private static double Mod(double x) => ((x % 360) + 360) % 360;

    public static bool TimeOverlaps(TimeExtent t, long? qStart, long? qEnd)
    {
        // Compare via clamped Gregorian instants computed with DateTime, independently of TimeKey's arithmetic.
        long start = Instant(t.Start), end = Instant(t.End);
        return (qStart is null || end >= qStart) && (qEnd is null || start <= qEnd);
    }

    private static long Instant(string iso)
    {
        int y = int.Parse(iso[..4]), m = int.Parse(iso[5..7]), d = int.Parse(iso[8..10]);
        d = Math.Min(d, DateTime.DaysInMonth(y, m));
        var dt = new DateTime(y, m, d, int.Parse(iso[11..13]), int.Parse(iso[14..16]), int.Parse(iso[17..19]), DateTimeKind.Utc);
        return (long)(dt - DateTime.UnixEpoch).TotalMilliseconds;
    }
}
