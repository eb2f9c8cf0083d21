using Proxima.Catalog;

namespace Proxima.CatalogSync.Tests;

public sealed class SyncRunnerTests(TreeFixture tree) : IClassFixture<TreeFixture>
{
    [Fact]
    public async Task Sync_registers_every_dataset_with_bbox_time_and_variables_as_xarray_reads_them()
    {
        using var dir = new TempDir();
        string data = tree.CopyTo(dir.Path);
        await using var catalog = await Sync.OpenAsync(dir.Path);
        var progress = new List<SyncProgress>();
        var reports = new List<SyncReport>();
        foreach (string region in new[] { "us-east-1", "us-west-2", "eu-west-1" })
        {
            reports.Add(await Sync.RunAsync(catalog, data, region, new SyncProgressRecorder(progress)));
        }

        Assert.All(reports, r => Assert.Equal("committed", r.Status));
        Assert.Equal(3, reports[0].Registered);
        var west = reports[1];
        Assert.Equal(3, west.Found);
        Assert.Equal(2, west.Registered);
        Assert.Equal(1, west.Failed);
        var err = Assert.Single(west.Errors);
        Assert.Equal("broken/bad.zarr", err.Path);
        Assert.Contains(".zarray", err.Message, StringComparison.Ordinal);
        Assert.Contains(progress, p => p.Phase == "done" && p.Region == "us-west-2" && p.Failed == 1);

        foreach (var e in tree.Expected)
        {
            var doc = Assert.Single(await catalog.GetDatasetAsync(e.Id), d => d.Region == e.Region);
            Assert.Equal(e.Uri, doc.Uri);
            Assert.Equal(DatasetFormat.ZarrV2, doc.Format);
            Assert.Equal(e.Bbox[0], doc.Bbox!.West, 9);
            Assert.Equal(e.Bbox[1], doc.Bbox.South, 9);
            Assert.Equal(e.Bbox[2], doc.Bbox.East, 9);
            Assert.Equal(e.Bbox[3], doc.Bbox.North, 9);
            Assert.Equal(e.Start, doc.Time!.Start);
            Assert.Equal(e.End, doc.Time.End);
            Assert.Equal(e.Calendar, doc.Time.Calendar);
            Assert.Equal(e.Variables!.Keys.Order(), doc.Variables.Select(v => v.Name).Order());
            foreach (var v in doc.Variables)
            {
                var ev = e.Variables[v.Name];
                Assert.Equal(ev.Dims, v.Dims);
                Assert.Equal(ev.Shape, v.Shape);
                Assert.Equal(ev.Dtype, v.Dtype);
                Assert.Equal(ev.Units, v.Units);
                Assert.Equal(ev.Standard_name, v.StandardName);
            }

            Assert.True(doc.Bytes > 0);
            Assert.True(doc.Chunks >= 1);
        }

        var era5 = (await catalog.GetDatasetAsync("reanalysis/era5/t2m")).Single();
        Assert.Equal("PT1H", era5.Time!.Step);
        Assert.Equal(2, era5.Chunks); // 48 hours in chunks of 24
        Assert.Equal("ERA5 2m temperature", era5.Attrs["title"]);
        var lat = era5.Dimensions.Single(d => d.Name == "lat");
        Assert.Equal(("y", 90.0, -90.0, -10.0), (lat.Axis, lat.First, lat.Last, lat.Step));
        Assert.Equal("P1D", (await catalog.GetDatasetAsync("CMIP6/noleap/pr")).Single().Time!.Step);
        Assert.Equal("P1M", (await catalog.GetDatasetAsync("ocean/pacific/sst")).Single().Time!.Step);
    }

    [Fact]
    public async Task Dataset_split_across_regions_by_proxima_id_has_one_part_per_region()
    {
        using var dir = new TempDir();
        string data = tree.CopyTo(dir.Path);
        await using var catalog = await Sync.OpenAsync(dir.Path);
        await Sync.RunAsync(catalog, data, "us-west-2");
        await Sync.RunAsync(catalog, data, "eu-west-1");
        var parts = await catalog.GetDatasetAsync("cmip6/ukesm1/tas");
        Assert.Equal(["us-west-2", "eu-west-1"], parts.Select(p => p.Region));
        Assert.Equal(["2015-2016", "2017-2018"], parts.Select(p => p.Part));
        Assert.Equal("2015-01-30T00:00:00", parts[0].Time!.Start);
        Assert.Equal("2016-12-30T00:00:00", parts[0].Time!.End);
        Assert.Equal("360_day", parts[0].Time!.Calendar);
        Assert.Equal("P1M", parts[0].Time!.Step);
        Assert.True(parts[0].Time!.EndKey < parts[1].Time!.StartKey);

        // 0..360 global grid found by a -180..180 query on the far side of the antimeridian.
        var hit = await catalog.SearchAsync(new DatasetQuery { Bbox = new BoundingBox(-170, 0, -160, 10), Variable = "tas" });
        Assert.Equal(2, hit.NumberMatched);
    }

    [Fact]
    public async Task Second_sync_writes_nothing_and_keeps_identical_documents()
    {
        using var dir = new TempDir();
        string data = tree.CopyTo(dir.Path);
        await using var catalog = await Sync.OpenAsync(dir.Path);
        var first = await Sync.RunAsync(catalog, data, "us-east-1");
        var before = (await Sync.AllAsync(catalog)).Select(CatalogJson.Serialize).ToList();
        var second = await Sync.RunAsync(catalog, data, "us-east-1");
        var after = (await Sync.AllAsync(catalog)).Select(CatalogJson.Serialize).ToList();
        Assert.Equal(3, first.Writes);
        Assert.Equal("unchanged", second.Status);
        Assert.Equal(0, second.Writes);
        Assert.Equal(3, second.Unchanged);
        Assert.Equal(before, after);
        Assert.Equal(second.RunId, (await catalog.GetLastReportAsync("us-east-1"))!.RunId);
    }

    [Fact]
    public async Task Changed_metadata_re_registers_only_that_dataset_and_vanished_store_is_removed()
    {
        using var dir = new TempDir();
        string data = tree.CopyTo(dir.Path);
        await using var catalog = await Sync.OpenAsync(dir.Path);
        await Sync.RunAsync(catalog, data, "us-east-1");

        // Rewrite one store's attributes (as xarray would) and delete another store.
        string zattrs = Path.Combine(data, "us-east-1", "obs/europe/precip.zarr", ".zattrs");
        File.WriteAllText(zattrs, """{"title": "European precipitation v2", "proxima_acl": ["europe", "admins"]}""");
        File.SetLastWriteTimeUtc(zattrs, DateTime.UtcNow.AddMinutes(1));
        Directory.Delete(Path.Combine(data, "us-east-1", "ocean/pacific/sst.zarr"), recursive: true);

        var r = await Sync.RunAsync(catalog, data, "us-east-1");
        Assert.Equal((2, 1, 1, 1), (r.Found, r.Registered, r.Unchanged, r.Removed));
        var precip = (await catalog.GetDatasetAsync("obs/europe/precip")).Single();
        Assert.Equal("European precipitation v2", precip.Attrs["title"]);
        Assert.Equal(["europe", "admins"], precip.Acl);
        Assert.Empty(await catalog.GetDatasetAsync("ocean/pacific/sst"));
        Assert.Empty((await catalog.SearchAsync(new DatasetQuery { Groups = ["nobody"], Text = "precipitation" })).Items);
    }

    [Fact]
    public async Task Unreadable_dataset_keeps_its_previous_document()
    {
        using var dir = new TempDir();
        string data = tree.CopyTo(dir.Path);
        await using var catalog = await Sync.OpenAsync(dir.Path);
        await Sync.RunAsync(catalog, data, "us-east-1");
        string zarray = Path.Combine(data, "us-east-1", "reanalysis/era5/t2m.zarr", "t2m", ".zarray");
        File.WriteAllText(zarray, "{ broken");
        File.SetLastWriteTimeUtc(zarray, DateTime.UtcNow.AddMinutes(1));
        // Consolidated metadata still describes the array; break it too so the store really is unreadable.
        string zmeta = Path.Combine(data, "us-east-1", "reanalysis/era5/t2m.zarr", ".zmetadata");
        File.WriteAllText(zmeta, "{ broken");
        var r = await Sync.RunAsync(catalog, data, "us-east-1");
        Assert.Equal(1, r.Failed);
        Assert.Equal(0, r.Removed);
        Assert.Single(await catalog.GetDatasetAsync("reanalysis/era5/t2m"));
    }

    [Fact]
    public async Task Missing_region_root_or_empty_scan_never_empties_the_catalog()
    {
        using var dir = new TempDir();
        string data = tree.CopyTo(dir.Path);
        await using var catalog = await Sync.OpenAsync(dir.Path);
        await Sync.RunAsync(catalog, data, "us-east-1");
        var missing = await SyncRunner.RunAsync(new SyncOptions { Region = "us-east-1", RegionRoot = Path.Combine(dir.Path, "nope"), Catalog = catalog });
        Assert.Equal("failed", missing.Status);
        Assert.Contains("does not exist", missing.Message, StringComparison.Ordinal);
        string empty = Path.Combine(dir.Path, "empty");
        Directory.CreateDirectory(empty);
        var r = await SyncRunner.RunAsync(new SyncOptions { Region = "us-east-1", RegionRoot = empty, Catalog = catalog });
        Assert.Equal("aborted", r.Status);
        Assert.Equal(3, (await Sync.AllAsync(catalog)).Count);
    }
}

internal sealed class SyncProgressRecorder(List<SyncProgress> list) : IProgress<SyncProgress>
{
    public void Report(SyncProgress value)
    {
        lock (list)
        {
            list.Add(value);
        }
    }
}

public sealed class UnreadableDirectoryTests(TreeFixture tree) : IClassFixture<TreeFixture>
{
    [Fact]
    public async Task Directory_that_cannot_be_listed_is_reported_and_its_datasets_are_kept()
    {
        using var dir = new TempDir();
        string data = tree.CopyTo(dir.Path);
        await using var catalog = await Sync.OpenAsync(dir.Path);
        await Sync.RunAsync(catalog, data, "us-east-1");
        Directory.Delete(Path.Combine(data, "us-east-1", "ocean"), recursive: true); // really gone: removed

        // 'obs' fails to list, as a directory with broken permissions or a half-mounted subtree would.
        string obs = Path.Combine(data, "us-east-1", "obs");
        IEnumerable<FileSystemInfo> Lister(string d) => d == obs
            ? throw new UnauthorizedAccessException($"Access to the path '{d}' is denied.")
            : new DirectoryInfo(d).EnumerateFileSystemInfos();
        var r = await SyncRunner.RunAsync(new SyncOptions { Region = "us-east-1", RegionRoot = Path.Combine(data, "us-east-1"), Catalog = catalog, DirectoryLister = Lister });

        Assert.Equal(("committed", 1, 1), (r.Status, r.Removed, r.Failed));
        var err = Assert.Single(r.Errors);
        Assert.Equal("obs/", err.Path);
        Assert.Contains("directory cannot be listed", err.Message, StringComparison.Ordinal);
        Assert.Single(await catalog.GetDatasetAsync("obs/europe/precip"));
        Assert.Empty(await catalog.GetDatasetAsync("ocean/pacific/sst"));
    }
}
