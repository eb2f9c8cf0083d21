using Proxima.Arrays.Storage;
using Proxima.Arrays.Tests.Infrastructure;
using Xunit;

namespace Proxima.Arrays.Tests;

/// <summary>The Zarr v2 and v3 reference stores uploaded to s3rver, then read through <see cref="S3Storage"/>.</summary>
public sealed class S3ReferenceStores : IAsyncLifetime, IDisposable
{
    public S3rver Server { get; } = new();

    public ZarrV2Reference V2 { get; } = new();

    public ZarrV3Reference V3 { get; } = new();

    public NetCdfReference NetCdf { get; } = new();

    public async Task InitializeAsync()
    {
        await Server.UploadDirectoryAsync(V2.Root, "v2ref");
        await Server.UploadDirectoryAsync(V3.Root, "v3ref");
        await Server.UploadDirectoryAsync(NetCdf.Root, "ncref");
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        Server.Dispose();
        V2.Dispose();
        V3.Dispose();
        NetCdf.Dispose();
    }
}

public sealed class S3ConformanceTests : IClassFixture<S3ReferenceStores>
{
    private readonly S3ReferenceStores _f;

    public S3ConformanceTests(S3ReferenceStores fixture)
    {
        _f = fixture;
    }

    [Fact]
    public async Task Every_zarr_v2_reference_store_reads_the_same_from_s3()
    {
        using S3Storage s3 = _f.Server.CreateStorage("v2ref");
        foreach (ExpectedCase c in _f.V2.Cases.Values)
        {
            GridDataset ds = await GridDataset.OpenAsync(s3, c.Path);
            Assert.StartsWith("s3://proxima/v2ref/", ds.Location, StringComparison.Ordinal);
            foreach (ExpectedVariable v in c.Variables.Values)
            {
                await Compare.AssertVariableMatches(ds, v, "s3:" + c.Name);
            }
        }
    }

    [Fact]
    public async Task Every_zarr_v3_reference_store_reads_the_same_from_s3_including_sharded_ranges()
    {
        using S3Storage s3 = _f.Server.CreateStorage("v3ref");
        foreach (ExpectedCase c in _f.V3.Cases.Values)
        {
            GridDataset ds = await GridDataset.OpenAsync(s3, c.Path);
            foreach (ExpectedVariable v in c.Variables.Values)
            {
                await Compare.AssertVariableMatches(ds, v, "s3:" + c.Name);
            }
        }
    }

    [Fact]
    public async Task Every_netcdf_reference_file_and_the_collection_read_the_same_from_s3()
    {
        using S3Storage s3 = _f.Server.CreateStorage("ncref");
        foreach (ExpectedCase c in _f.NetCdf.Cases.Values)
        {
            using GridDataset ds = await GridDataset.OpenAsync(s3, c.Path);
            foreach (ExpectedVariable v in c.Variables.Values)
            {
                await Compare.AssertVariableMatches(ds, v, "s3:" + c.Name);
            }
        }
    }

    /// <summary>
    /// NetCDF data on S3 are ranged GETs of the chunks: a collection opened from its metadata cache reads no
    /// file whole (the cold open, which had to read the files' metadata, downloaded each once).
    /// </summary>
    [Fact]
    public async Task A_cached_netcdf_collection_on_s3_reads_chunks_through_ranged_gets_not_downloads()
    {
        using S3Storage s3 = _f.Server.CreateStorage("ncref");
        var counting = new CountingStorage(s3);
        using var cache = new TempDir();
        var options = new GridDatasetOptions { NetCdfMetadataCacheDirectory = cache.Path };
        ExpectedCase c = _f.NetCdf.Cases["collection"];
        using (await GridDataset.OpenAsync(counting, c.Path, options))
        {
        }

        long fileBytes = 0;
        await foreach (StorageEntry e in s3.ListAsync(c.Path, CancellationToken.None))
        {
            fileBytes += e.Size;
        }

        Assert.Single(Directory.GetFiles(cache.Path, "*.json"));
        counting.Reset();
        using GridDataset ds = await GridDataset.OpenAsync(counting, c.Path, options);
        Assert.Equal(0, counting.WholeReads);
        foreach (ExpectedVariable v in c.Variables.Values)
        {
            await Compare.AssertVariableMatches(ds, v, "s3-cached:" + c.Name);
        }

        Assert.Equal(0, counting.WholeReads);
        Assert.True(counting.RangedReads >= 12, $"{counting.RangedReads} ranged reads");
        Assert.True(counting.Bytes < fileBytes / 2, $"read {counting.Bytes} bytes of {fileBytes}");
    }

    [Fact]
    public async Task Missing_keys_are_null_and_listing_shows_children()
    {
        using S3Storage s3 = _f.Server.CreateStorage("v2ref");
        Assert.Null(await s3.ReadAllBytesAsync("stores/nope/.zarray"));
        Assert.Null(await s3.GetSizeAsync("stores/nope", CancellationToken.None));
        var names = new List<string>();
        await foreach (StorageEntry e in s3.ListAsync("stores/xr_era5.zarr", CancellationToken.None))
        {
            names.Add(e.Name + (e.IsPrefix ? "/" : ""));
        }

        Assert.Contains(".zmetadata", names);
        Assert.Contains("t2m/", names);
        byte[]? range = await s3.ReadRangeAsync("stores/xr_era5.zarr/.zgroup", 1, 5);
        byte[] whole = (await s3.ReadAllBytesAsync("stores/xr_era5.zarr/.zgroup"))!;
        Assert.Equal(whole.AsSpan(1, 5).ToArray(), range);
        using (System.Buffers.IMemoryOwner<byte>? tail = await s3.ReadAsync("stores/xr_era5.zarr/.zgroup", 3, null, 1 << 20, CancellationToken.None))
        {
            Assert.Equal(whole.AsSpan(3).ToArray(), tail!.Memory.ToArray());
        }

        using (System.Buffers.IMemoryOwner<byte>? past = await s3.ReadAsync("stores/xr_era5.zarr/.zgroup", whole.Length + 10, 4, 1 << 20, CancellationToken.None))
        {
            Assert.Equal(0, past!.Memory.Length);
        }
    }

    [Fact]
    public async Task Keys_with_dot_dot_are_refused_before_any_request()
    {
        using S3Storage s3 = _f.Server.CreateStorage("v2ref");
        await Assert.ThrowsAsync<StorageException>(async () => await s3.ReadAllBytesAsync("../v3ref/manifest.json"));
    }
}
