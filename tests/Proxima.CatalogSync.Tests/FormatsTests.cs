using Proxima.Catalog;

namespace Proxima.CatalogSync.Tests;

/// <summary>Zarr v3, NetCDF collections and kerchunk reference sets are discovered and registered like Zarr v2.</summary>
public sealed class FormatsTests
{
    [Fact]
    public async Task Zarr_v3_netcdf_collection_and_kerchunk_are_registered_with_extents_from_their_coordinates()
    {
        using var dir = new TempDir();
        string root = Path.Combine(dir.Path, "data");
        string expectedPath = Path.Combine(dir.Path, "expected.json");
        Python.Run("formats", root, expectedPath);
        var expected = System.Text.Json.JsonSerializer.Deserialize<List<System.Text.Json.Nodes.JsonObject>>(File.ReadAllText(expectedPath))!;
        await using var catalog = await Sync.OpenAsync(dir.Path);
        var report = await Sync.RunAsync(catalog, root, "ap-south-1");
        Assert.True(report.Failed == 0, string.Join("; ", report.Errors.Select(e => e.Path + ": " + e.Message)));
        Assert.Equal(3, report.Registered);
        foreach (var e in expected)
        {
            var doc = Assert.Single(await catalog.GetDatasetAsync((string)e["id"]!));
            Assert.Equal((string)e["format"]!, Catalog.Search.StacWriter.FormatName(doc.Format));
            Assert.Equal((string)e["uri"]!, doc.Uri);
            var bbox = e["bbox"]!.AsArray().Select(x => (double)x!).ToArray();
            Assert.Equal(0, Circle(bbox[0], doc.Bbox!.West), 9);
            Assert.Equal(bbox[1], doc.Bbox.South, 9);
            Assert.Equal(0, Circle(bbox[2], doc.Bbox.East), 9);
            Assert.Equal(bbox[3], doc.Bbox.North, 9);
            Assert.Equal(((string)e["start"]!, (string)e["end"]!, (string)e["calendar"]!), (doc.Time!.Start, doc.Time.End, doc.Time.Calendar));
        }

        // The NetCDF collection straddles the prime meridian in 0..360: a -180..180 query at 2°E finds it.
        var hit = await catalog.SearchAsync(new DatasetQuery { Bbox = new BoundingBox(1, -1, 3, 1) });
        Assert.Equal("obs/sst_daily", Assert.Single(hit.Items).Id);
        Assert.Equal("P1D", hit.Items[0].Time!.Step);

        // Unchanged on a second run: one stat per store.
        var again = await Sync.RunAsync(catalog, root, "ap-south-1");
        Assert.Equal((0, 3), (again.Writes, again.Unchanged));

        // Adding a year to the collection changes its fingerprint and extends its time range.
        File.Copy(Path.Combine(root, "ap-south-1", "obs/sst_daily/sst_2003.nc"), Path.Combine(root, "ap-south-1", "obs/sst_daily/sst_2003_copy.nc"));
        var third = await Sync.RunAsync(catalog, root, "ap-south-1");
        Assert.Equal(1, third.Registered + third.Failed);
    }

    [Fact]
    public async Task Sync_writes_the_netcdf_collection_metadata_cache_workers_open_from()
    {
        using var dir = new TempDir();
        string root = Path.Combine(dir.Path, "data");
        Python.Run("formats", root, Path.Combine(dir.Path, "expected.json"));
        string cache = Path.Combine(dir.Path, "metadata-cache");
        await using var catalog = await Sync.OpenAsync(dir.Path);
        var report = await SyncRunner.RunAsync(new SyncOptions { Region = "ap-south-1", RegionRoot = Path.Combine(root, "ap-south-1"), Catalog = catalog, MetadataCacheDirectory = cache });
        Assert.Equal(0, report.Failed);

        // One cache file, for the one NetCDF collection, listing its files; a worker given the directory opens from it.
        string file = Assert.Single(Directory.GetFiles(cache, "netcdf-*.json"));
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(file))!;
        Assert.Equal(Directory.GetFiles(Path.Combine(root, "ap-south-1", "obs/sst_daily"), "*.nc").Length, json["files"]!.AsArray().Count);
        var storage = new Proxima.Arrays.Storage.PosixStorage(Path.Combine(root, "ap-south-1"));
        using var plain = await Proxima.Arrays.GridDataset.OpenAsync(storage, "obs/sst_daily");
        using var cached = await Proxima.Arrays.GridDataset.OpenAsync(storage, "obs/sst_daily", new Proxima.Arrays.GridDatasetOptions { NetCdfMetadataCacheDirectory = cache });
        Assert.Equal(plain["sst"].Shape.ToArray(), cached["sst"].Shape.ToArray());
        Assert.Equal(await plain["sst"].ReadAllAsync<float>(CancellationToken.None), await cached["sst"].ReadAllAsync<float>(CancellationToken.None));
        Assert.Equal(File.GetLastWriteTimeUtc(file), File.GetLastWriteTimeUtc(Assert.Single(Directory.GetFiles(cache, "netcdf-*.json"))));
    }

    private static double Circle(double a, double b)
    {
        double d = ((a - b) % 360 + 360) % 360;
        return Math.Min(d, 360 - d);
    }
}
