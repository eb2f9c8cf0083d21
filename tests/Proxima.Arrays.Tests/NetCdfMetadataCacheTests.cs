using Proxima.Arrays.NetCdf;
using Proxima.Arrays.Storage;
using Proxima.Arrays.Tests.Infrastructure;
using Xunit;

namespace Proxima.Arrays.Tests;

/// <summary>
/// The per-sync metadata cache of NetCDF collections: an unchanged collection opens without opening its files,
/// a changed file invalidates the cache, and every way of opening reads what xarray.open_mfdataset reads.
/// </summary>
public sealed class NetCdfMetadataCacheTests : IClassFixture<NetCdfReference>
{
    private readonly NetCdfReference _ref;

    public NetCdfMetadataCacheTests(NetCdfReference reference)
    {
        _ref = reference;
    }

    private static int OpenFiles(GridDataset ds) => ds.Owned.OfType<NetCdfFileSlot>().Count(s => s.IsOpen);

    /// <summary>A private copy of the reference collection (tests change files) and a cache directory beside it.</summary>
    private (TempDir Dir, string Collection, GridDatasetOptions Options) CopyCollection()
    {
        var dir = new TempDir();
        string coll = Path.Combine(dir.Path, "data", "coll");
        Directory.CreateDirectory(coll);
        foreach (string f in Directory.GetFiles(Path.Combine(_ref.Root, _ref.Cases["collection"].Path)))
        {
            File.Copy(f, Path.Combine(coll, Path.GetFileName(f)));
        }

        return (dir, coll, new GridDatasetOptions { NetCdfMetadataCacheDirectory = Path.Combine(dir.Path, "cache") });
    }

    /// <summary>Opens the collection once (writing its cache), then rewrites the cache file through <paramref name="edit"/>.</summary>
    private static async Task EditCacheAsync(PosixStorage storage, GridDatasetOptions options, Action<System.Text.Json.Nodes.JsonNode> edit)
    {
        using (await GridDataset.OpenAsync(storage, "coll", options))
        {
        }

        string cacheFile = CollectionMetadataCache.PathFor(options.NetCdfMetadataCacheDirectory!, storage.Describe("coll"));
        var json = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(cacheFile))!;
        edit(json);
        await File.WriteAllTextAsync(cacheFile, json.ToJsonString());
    }

    private async Task AssertMatches(GridDataset ds, ExpectedCase expected)
    {
        foreach (ExpectedVariable v in expected.Variables.Values)
        {
            await Compare.AssertVariableMatches(ds, v, expected.Name);
        }

        Assert.Equal(expected.Variables["time"].Times, (await ds["time"].ReadTimesAsync(CancellationToken.None)).Select(t => t.ToString()));
    }

    [Fact]
    public async Task Cached_collection_opens_without_opening_files_and_reads_equal_to_xarray()
    {
        (TempDir dir, string _, GridDatasetOptions options) = CopyCollection();
        using (dir)
        {
            var storage = new PosixStorage(Path.Combine(dir.Path, "data"));
            using (GridDataset cold = await GridDataset.OpenAsync(storage, "coll", options))
            {
                Assert.Equal(4, OpenFiles(cold));
                await AssertMatches(cold, _ref.Cases["collection"]);
            }

            Assert.Single(Directory.GetFiles(options.NetCdfMetadataCacheDirectory!, "*.json"));
            using GridDataset cached = await GridDataset.OpenAsync(storage, "coll", options);
            Assert.Equal(DatasetFormat.NetCdfCollection, cached.Format);
            Assert.Equal(0, OpenFiles(cached));
            Assert.Equal("netcdf4 test", cached.Attributes["title"].AsString());
            Assert.Equal([48L, 17, 12], cached["t2m"].Shape.ToArray());
            Assert.Equal(4, cached["t2m"].ChunkShape[0]);

            // Chunks are read through the cached chunk indexes: no file is opened with libnetcdf at all.
            float[] step = await cached["t2m"].ReadRegionAsync<float>([30, 0, 0], [1, 17, 12], CancellationToken.None);
            ExpectedVariable t2m = _ref.Cases["collection"].Variables["t2m"];
            Compare.Equal(t2m.Values.AsSpan(30 * 17 * 12, 17 * 12), step.Select(x => (double)x).ToArray(), "t2m[30]");
            await AssertMatches(cached, _ref.Cases["collection"]);
            Assert.Equal(0, OpenFiles(cached));

            // Through libnetcdf, one time step of the third file opens that file only.
            using GridDataset viaLib = await GridDataset.OpenAsync(storage, "coll", options with { NetCdfDirectReads = false });
            step = await viaLib["t2m"].ReadRegionAsync<float>([30, 0, 0], [1, 17, 12], CancellationToken.None);
            Assert.Equal(1, OpenFiles(viaLib));
            Compare.Equal(t2m.Values.AsSpan(30 * 17 * 12, 17 * 12), step.Select(x => (double)x).ToArray(), "t2m[30]");
        }
    }

    /// <summary>A chunk index pointing past the end of its file (a hostile or stale cache) is a typed error naming the file and variable.</summary>
    [Fact]
    public async Task A_chunk_index_pointing_past_the_end_of_the_file_is_a_typed_error()
    {
        (TempDir dir, string coll, GridDatasetOptions options) = CopyCollection();
        using (dir)
        {
            var storage = new PosixStorage(Path.Combine(dir.Path, "data"));
            await EditCacheAsync(storage, options, json =>
            {
                System.Text.Json.Nodes.JsonNode index = json["files"]![2]!["parts"]!["t2m"]!["index"]!;
                index["offsets"]![1] = (long)index["fileSize"]! - 100;
                index["sizes"]![1] = 5000;
            });

            using GridDataset cached = await GridDataset.OpenAsync(storage, "coll", options);
            Assert.Equal(0, OpenFiles(cached));
            string third = Path.GetFileName(Directory.GetFiles(coll).Order(StringComparer.Ordinal).ElementAt(2));
            ChunkDecodeException e = await Assert.ThrowsAsync<ChunkDecodeException>(async () => await cached["t2m"].ReadAllAsync<float>(CancellationToken.None));
            Assert.Contains(third + ":t2m", e.Message, StringComparison.Ordinal);
            Assert.Contains("outside the", e.Message, StringComparison.Ordinal);
        }
    }

    /// <summary>A cached chunk index that does not fit the variable (wrong chunk count) is not trusted: the files are opened again.</summary>
    [Fact]
    public async Task A_chunk_index_that_does_not_fit_its_variable_makes_the_cache_unused()
    {
        (TempDir dir, string _, GridDatasetOptions options) = CopyCollection();
        using (dir)
        {
            var storage = new PosixStorage(Path.Combine(dir.Path, "data"));
            await EditCacheAsync(storage, options, json => json["files"]![1]!["parts"]!["t2m"]!["index"]!["offsets"]!.AsArray().RemoveAt(0));
            using GridDataset ds = await GridDataset.OpenAsync(storage, "coll", options);
            Assert.Equal(4, OpenFiles(ds));
            await AssertMatches(ds, _ref.Cases["collection"]);
        }
    }

    [Fact]
    public async Task A_changed_file_invalidates_the_cache_and_the_collection_reads_its_new_contents()
    {
        (TempDir dir, string coll, GridDatasetOptions options) = CopyCollection();
        using (dir)
        {
            var storage = new PosixStorage(Path.Combine(dir.Path, "data"));
            using (GridDataset first = await GridDataset.OpenAsync(storage, "coll", options))
            {
                Assert.Equal(48, first["t2m"].Shape[0]);
            }

            string expectedDir = Path.Combine(dir.Path, "expected");
            Python.Run("change_collection.py", expectedDir, coll);
            ExpectedCase changed = ReferenceSet.Load(expectedDir)["changed"];

            using (GridDataset reopened = await GridDataset.OpenAsync(storage, "coll", options))
            {
                Assert.Equal(4, OpenFiles(reopened));
                Assert.Equal(49, reopened["t2m"].Shape[0]);
                await AssertMatches(reopened, changed);
            }

            // The rewritten cache describes the changed files.
            using GridDataset cached = await GridDataset.OpenAsync(storage, "coll", options);
            Assert.Equal(0, OpenFiles(cached));
            await AssertMatches(cached, changed);
        }
    }

    [Fact]
    public async Task A_file_replaced_after_a_cached_open_is_a_typed_error_not_stale_data()
    {
        (TempDir dir, string coll, GridDatasetOptions options) = CopyCollection();
        using (dir)
        {
            var storage = new PosixStorage(Path.Combine(dir.Path, "data"));
            using (await GridDataset.OpenAsync(storage, "coll", options))
            {
            }

            using GridDataset cached = await GridDataset.OpenAsync(storage, "coll", options);
            string last = Directory.GetFiles(coll).Order(StringComparer.Ordinal).Last();
            File.SetLastWriteTimeUtc(last, File.GetLastWriteTimeUtc(last).AddSeconds(5));
            ArrayFormatException e = await Assert.ThrowsAsync<ArrayFormatException>(async () =>
                await cached["t2m"].ReadRegionAsync<float>([47, 0, 0], [1, 17, 12], CancellationToken.None));
            Assert.Contains(Path.GetFileName(last), e.Message, StringComparison.Ordinal);
            Assert.Contains("changed since the collection was opened", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_corrupt_cache_file_is_ignored_and_rewritten()
    {
        (TempDir dir, string _, GridDatasetOptions options) = CopyCollection();
        using (dir)
        {
            var storage = new PosixStorage(Path.Combine(dir.Path, "data"));
            string cacheFile = CollectionMetadataCache.PathFor(options.NetCdfMetadataCacheDirectory!, storage.Describe("coll"));
            Directory.CreateDirectory(options.NetCdfMetadataCacheDirectory!);
            await File.WriteAllTextAsync(cacheFile, "{\"version\": 1, \"files\": [tru");
            using (GridDataset ds = await GridDataset.OpenAsync(storage, "coll", options))
            {
                Assert.Equal(4, OpenFiles(ds));
                await AssertMatches(ds, _ref.Cases["collection"]);
            }

            using GridDataset cached = await GridDataset.OpenAsync(storage, "coll", options);
            Assert.Equal(0, OpenFiles(cached));
        }
    }

    [Theory]
    [InlineData("parts")]
    [InlineData("variables")]
    public async Task A_cache_whose_fingerprints_match_but_whose_contents_do_not_fit_is_not_used(string broken)
    {
        (TempDir dir, string _, GridDatasetOptions options) = CopyCollection();
        using (dir)
        {
            var storage = new PosixStorage(Path.Combine(dir.Path, "data"));
            using (await GridDataset.OpenAsync(storage, "coll", options))
            {
            }

            string cacheFile = CollectionMetadataCache.PathFor(options.NetCdfMetadataCacheDirectory!, storage.Describe("coll"));
            var json = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(cacheFile))!;
            if (broken == "parts")
            {
                json["files"]![2]!["parts"] = new System.Text.Json.Nodes.JsonObject();
            }
            else
            {
                json["variables"] = null;
            }

            await File.WriteAllTextAsync(cacheFile, json.ToJsonString());
            using GridDataset ds = await GridDataset.OpenAsync(storage, "coll", options);
            Assert.Equal(4, OpenFiles(ds));
            await AssertMatches(ds, _ref.Cases["collection"]);
        }
    }
}
