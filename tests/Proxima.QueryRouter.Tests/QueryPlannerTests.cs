using System.Text;
using Proxima.Catalog;
using Proxima.Catalog.Sqlite;
using Proxima.Compute.Query;
using Proxima.Protocol.V1;
using Proxima.QueryRouter.Dispatch;
using Proxima.QueryRouter.Http;
using Proxima.QueryRouter.Planning;

namespace Proxima.QueryRouter.Tests;

public sealed class QueryPlannerTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("proxima-planner-").FullName;
    private SqliteCatalog _catalog = null!;

    public async Task InitializeAsync()
    {
        _catalog = await SqliteCatalog.OpenAsync(Path.Combine(_dir, "catalog.db"));
        await AddAsync("us-east-1", Document("reanalysis/era5/t2m", "us-east-1", "t2m", "2000-01-01T00:00:00", "2000-12-31T23:00:00"));
        await AddAsync("us-west-2", Document("cmip6/tas", "us-west-2", "tas", "2015-01-16T00:00:00", "2100-12-16T00:00:00"));
        // One dataset split across two regions by time.
        await AddAsync("us-east-1", Document("split/t", "us-east-1", "t", "2000-01-01T00:00:00", "2000-06-30T23:00:00"));
        await AddAsync("us-west-2", Document("split/t", "us-west-2", "t", "2000-07-01T00:00:00", "2000-12-31T23:00:00"));
        await AddAsync("us-east-1", Document("map/x", "us-east-1", "x", "2000-01-01T00:00:00", "2000-01-10T00:00:00") with
        {
            Variables = [new VariableInfo { Name = "x", Dims = ["time", "lat", "lon"], Shape = [10, 60, 80], Units = "K" }],
        });
        await AddAsync("us-east-1", Document("shaped/x", "us-east-1", "x", "2000-01-01T00:00:00", "2000-01-10T00:00:00") with
        {
            Variables = [new VariableInfo { Name = "x", Dims = ["time", "lat", "lon"], Shape = [10, 4, 8], Units = "K" }],
        });
    }

    public async Task DisposeAsync()
    {
        await _catalog.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Each_dataset_goes_to_the_region_that_holds_it()
    {
        var plan = await PlanAsync("""{ "datasets": ["reanalysis/era5/t2m", "cmip6/tas"], "variable": "air_temperature" }""");
        Assert.Equal(2, plan.Datasets.Count);
        Assert.Equal("us-east-1", Assert.Single(plan.Datasets[0].Units).Region);
        Assert.Equal("us-west-2", Assert.Single(plan.Datasets[1].Units).Region);
    }

    [Fact]
    public async Task A_variable_can_be_named_by_its_standard_name_and_each_unit_carries_the_real_name()
    {
        var plan = await PlanAsync("""{ "datasets": ["reanalysis/era5/t2m", "cmip6/tas"], "variable": "air_temperature" }""");
        var first = QuerySpecParser.Parse(plan.Datasets[0].Units[0].Message.SpecJson.Span);
        var second = QuerySpecParser.Parse(plan.Datasets[1].Units[0].Message.SpecJson.Span);
        Assert.Equal("t2m", first.Variable);
        Assert.Equal("tas", second.Variable);
    }

    [Fact]
    public async Task A_dataset_split_across_regions_gets_one_unit_per_part()
    {
        var plan = await PlanAsync("""{ "datasets": ["split/t"], "variable": "t" }""");
        Assert.Equal(["us-east-1", "us-west-2"], plan.Datasets[0].Units.Select(u => u.Region).Order());
        Assert.Equal(2, plan.Datasets[0].Units.Select(u => u.Message.UnitId).Distinct().Count());
    }

    [Fact]
    public async Task Parts_of_a_split_dataset_outside_the_time_range_are_not_asked()
    {
        var plan = await PlanAsync("""{ "datasets": ["split/t"], "variable": "t", "select": { "time": ["2000-08-01", "2000-09-01"] } }""");
        Assert.Equal("us-west-2", Assert.Single(plan.Datasets[0].Units).Region);
        var both = await PlanAsync("""{ "datasets": ["split/t"], "variable": "t", "select": { "time": ["2000-06-30T12:00:00", "2000-07-01"] } }""");
        Assert.Equal(2, both.Datasets[0].Units.Count);
    }

    [Fact]
    public async Task Unknown_dataset_is_a_400_naming_its_index()
    {
        var error = await Assert.ThrowsAsync<QueryError>(() => PlanAsync("""{ "datasets": ["cmip6/tas", "nope"], "variable": "tas" }"""));
        Assert.Equal(400, error.HttpStatus);
        Assert.Equal("unknown_dataset", error.Code);
        Assert.Equal("datasets[1]", error.Field);
    }

    [Fact]
    public async Task Unknown_variable_is_a_400_listing_what_exists()
    {
        var error = await Assert.ThrowsAsync<QueryError>(() => PlanAsync("""{ "datasets": ["cmip6/tas"], "variable": "pr" }"""));
        Assert.Equal("unknown_variable", error.Code);
        Assert.Equal("variable", error.Field);
        Assert.Contains("tas", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_region_without_workers_is_a_503_naming_it()
    {
        var planner = new QueryPlanner(_catalog, new FakePools(("us-east-1", 1, 0)));
        var json = Encoding.UTF8.GetBytes("""{ "datasets": ["cmip6/tas"], "variable": "tas" }""");
        var error = await Assert.ThrowsAsync<QueryError>(() => planner.PlanAsync("q", QuerySpecParser.Parse(json), json, CancellationToken.None));
        Assert.Equal(503, error.HttpStatus);
        Assert.Equal("us-west-2", error.Region);
    }

    [Fact]
    public async Task A_part_on_a_pool_is_split_into_contiguous_chunk_ranges_covering_it_once()
    {
        var planner = new QueryPlanner(_catalog, new FakePools(("us-east-1", 3, 10)), new RouterOptions { CatalogPath = "x", Workers = new Dictionary<string, IReadOnlyList<Uri>>(), UnitsPerWorker = 2 });
        var bytes = Encoding.UTF8.GetBytes("""{ "datasets": ["reanalysis/era5/t2m"], "variable": "t2m" }""");
        var plan = await planner.PlanAsync("q", QuerySpecParser.Parse(bytes), bytes, CancellationToken.None);
        var units = plan.Datasets[0].Units;
        Assert.Equal(6, units.Count);
        long next = 0;
        foreach (var u in units)
        {
            Assert.False(u.Message.AllChunks);
            Assert.Equal(next, u.Message.ChunkStart);
            Assert.True(u.Message.ChunkEnd > u.Message.ChunkStart);
            next = u.Message.ChunkEnd;
        }

        Assert.Equal(10, next);
        Assert.Equal(6, units.Select(u => u.Message.UnitId).Distinct().Count());
    }

    [Fact]
    public async Task A_part_on_a_pool_is_cut_into_shares_per_worker_with_no_plan_round_trip()
    {
        // shaped/x's catalog shape bounds its answer within the limit: nothing to ask a worker before the units.
        var pools = new FakePools(("us-east-1", 3, 10));
        var planner = new QueryPlanner(_catalog, pools, Limits(1000) with { UnitsPerWorker = 2 });
        var bytes = Encoding.UTF8.GetBytes("""{ "datasets": ["shaped/x"], "variable": "x" }""");
        var plan = await planner.PlanAsync("q", QuerySpecParser.Parse(bytes), bytes, CancellationToken.None);
        Assert.Equal(0, pools.PlanCalls);
        var units = plan.Datasets[0].Units;
        Assert.Equal([0, 1, 2, 3, 4, 5], units.Select(u => u.Message.ShareIndex));
        Assert.All(units, u => Assert.True(!u.Message.AllChunks && u.Message.ShareCount == 6 && u.ChunkCount == -1));
        Assert.Equal(6, units.Select(u => u.Message.UnitId).Distinct().Count());

        // However many chunks the worker plans, the shares cover them contiguously, once; a share with no
        // chunk (fewer chunks than shares) is empty, except share 0 of an empty selection.
        foreach (var chunks in new long[] { 0, 1, 4, 6, 10, 1001 })
        {
            long next = 0;
            var empty = 0;
            foreach (var u in units)
            {
                var (start, end) = Shared.WorkShares.Range(chunks, u.Message.ShareIndex, u.Message.ShareCount);
                Assert.Equal(next, start);
                next = end;
                empty += Shared.WorkShares.IsEmpty(chunks, u.Message.ShareIndex, u.Message.ShareCount) ? 1 : 0;
                Assert.True(u.Covers(new PartialResult { Stats = new UnitStats { Chunks = end - start, ChunksTotal = chunks } }));
                Assert.False(u.Covers(new PartialResult { Stats = new UnitStats { Chunks = end - start + 1, ChunksTotal = chunks } }));
            }

            Assert.Equal(chunks, next);
            Assert.Equal(chunks == 0 ? 5 : Math.Max(0, 6 - chunks), empty);
        }
    }

    /// <summary>
    /// A map partial over 64 KiB (60 x 80 cells x 40 bytes = 192,000) on a pool of 3 goes as ONE unit to a
    /// coordinator (the pool's shares merged in-region); a scalar or a small map keeps a share per worker,
    /// and a pool of one worker gets the plain unit.
    /// </summary>
    [Fact]
    public async Task A_map_on_a_pool_goes_to_one_coordinator_and_small_answers_keep_a_share_per_worker()
    {
        var pools = new FakePools(("us-east-1", 3, 10));
        var planner = new QueryPlanner(_catalog, pools, Limits(long.MaxValue / 4) with { UnitsPerWorker = 2 });
        async Task<IReadOnlyList<PlannedUnit>> UnitsAsync(string json, QueryPlanner? other = null)
        {
            var bytes = Encoding.UTF8.GetBytes(json);
            return (await (other ?? planner).PlanAsync("q", QuerySpecParser.Parse(bytes), bytes, CancellationToken.None)).Datasets[0].Units;
        }

        var map = Assert.Single(await UnitsAsync("""{ "datasets": ["map/x"], "variable": "x", "reduce": { "dims": ["time"], "ops": ["mean", "std"] } }"""));
        Assert.True(map.Coordinated);
        Assert.Equal(6, map.Message.CoordinateShares);
        Assert.True(map.Message.AllChunks);
        Assert.Equal(0, map.Message.ShareCount);
        Assert.Equal("q/0/0", map.Message.UnitId);
        Assert.True(map.Covers(new PartialResult { Stats = new UnitStats { Chunks = 10, ChunksTotal = 10 } }));
        Assert.False(map.Covers(new PartialResult { Stats = new UnitStats { Chunks = 9, ChunksTotal = 10 } }));

        var scalar = await UnitsAsync("""{ "datasets": ["map/x"], "variable": "x", "reduce": { "dims": ["time", "lat", "lon"], "ops": ["mean"] } }""");
        Assert.Equal(6, scalar.Count);
        Assert.All(scalar, u => Assert.True(!u.Coordinated && u.Message.ShareCount == 6));
        Assert.Equal(6, (await UnitsAsync("""{ "datasets": ["shaped/x"], "variable": "x", "reduce": { "dims": ["time"], "ops": ["mean"] } }""")).Count);
        Assert.Equal(6, (await UnitsAsync("""{ "datasets": ["map/x"], "variable": "x" }""")).Count);
        Assert.Equal(0, pools.PlanCalls);

        var single = new QueryPlanner(_catalog, new FakePools(("us-east-1", 1, 10)), Limits(long.MaxValue / 4));
        Assert.False(Assert.Single(await UnitsAsync("""{ "datasets": ["map/x"], "variable": "x", "reduce": { "dims": ["time"], "ops": ["mean"] } }""", single)).Coordinated);
    }

    /// <summary>
    /// A discovered region behind a load balancer (<c>--load-balanced-pools</c>): every reduction, map or scalar, whatever
    /// the number of balancer addresses, goes as ONE unit asking its coordinator to discover its peers, UnitsPerWorker
    /// shares per worker it finds; values keep one share per address; a static region (local mode) is planned as before,
    /// and so is everything with region-local merge off.
    /// </summary>
    [Fact]
    public async Task A_load_balanced_region_gets_one_discovering_unit_per_reduction_and_static_regions_are_unchanged()
    {
        var pools = new FakePools(("us-east-1", 3, 10));
        var discovered = Limits(long.MaxValue / 4) with
        {
            UnitsPerWorker = 2,
            Discovery = new WorkerDiscoveryOptions { Namespace = "workers.proxima.internal", Regions = ["us-east-1"], LoadBalanced = true },
        };
        async Task<IReadOnlyList<PlannedUnit>> UnitsAsync(string json, RouterOptions options, FakePools? other = null)
        {
            var bytes = Encoding.UTF8.GetBytes(json);
            return (await new QueryPlanner(_catalog, other ?? pools, options).PlanAsync("q", QuerySpecParser.Parse(bytes), bytes, CancellationToken.None)).Datasets[0].Units;
        }

        const string Map = """{ "datasets": ["map/x"], "variable": "x", "reduce": { "dims": ["time"], "ops": ["mean", "std"] } }""";
        const string Scalar = """{ "datasets": ["map/x"], "variable": "x", "reduce": { "dims": ["time", "lat", "lon"], "ops": ["mean"] } }""";
        foreach (var (json, size) in new[] { (Map, 3), (Scalar, 3), (Map, 1) })
        {
            var unit = Assert.Single(await UnitsAsync(json, discovered, new FakePools(("us-east-1", size, 10))));
            Assert.True(unit.Coordinated);
            Assert.True(unit.Message.DiscoverPeers);
            Assert.Equal(2, unit.Message.CoordinateShares);
            Assert.True(unit.Message.AllChunks);
            Assert.Empty(unit.Message.Peers);
        }

        var values = await UnitsAsync("""{ "datasets": ["map/x"], "variable": "x" }""", discovered);
        Assert.Equal(6, values.Count);
        Assert.All(values, u => Assert.False(u.Coordinated || u.Message.DiscoverPeers));

        // The same region given statically (local mode), or discovered without the option: the local-mode plan.
        var staticRegion = discovered with { Workers = new Dictionary<string, IReadOnlyList<Uri>> { ["us-east-1"] = [new Uri("https://127.0.0.1:1")] } };
        var notBalanced = discovered with { Discovery = discovered.Discovery! with { LoadBalanced = false } };
        foreach (var options in new[] { staticRegion, notBalanced })
        {
            var map = Assert.Single(await UnitsAsync(Map, options));
            Assert.True(map.Coordinated && !map.Message.DiscoverPeers);
            Assert.Equal(6, map.Message.CoordinateShares);
            Assert.Equal(6, (await UnitsAsync(Scalar, options)).Count);
        }

        // Region-local merge off: one share per balancer address, as before the option.
        var off = await UnitsAsync(Map, discovered with { RegionLocalMerge = false });
        Assert.Equal(6, off.Count);
        Assert.All(off, u => Assert.False(u.Coordinated || u.Message.DiscoverPeers));
    }

    [Fact]
    public async Task A_pool_never_gets_more_units_than_chunks_when_the_count_is_known()
    {
        // No catalog shape: the worker's Plan is asked for the cell limit, and its chunk count cuts ranges.
        var planner = new QueryPlanner(_catalog, new FakePools(("us-east-1", 4, 3)), Limits(long.MaxValue));
        var bytes = Encoding.UTF8.GetBytes("""{ "datasets": ["reanalysis/era5/t2m"], "variable": "t2m" }""");
        var plan = await planner.PlanAsync("q", QuerySpecParser.Parse(bytes), bytes, CancellationToken.None);
        Assert.Equal([(0L, 1L), (1L, 2L), (2L, 3L)], plan.Datasets[0].Units.Select(u => (u.Message.ChunkStart, u.Message.ChunkEnd)));
    }

    [Fact]
    public async Task A_dataset_restricted_to_a_group_is_403_for_a_client_without_it()
    {
        var doc = Document("secret/t", "us-east-1", "t", "2000-01-01T00:00:00", "2000-12-31T23:00:00") with { Acl = ["era5-team"] };
        await AddAsync("us-east-1", doc);
        var planner = new QueryPlanner(_catalog, new FakePools(("us-east-1", 1, 0)));
        var bytes = Encoding.UTF8.GetBytes("""{ "datasets": ["secret/t"], "variable": "t" }""");
        var spec = QuerySpecParser.Parse(bytes);
        var error = await Assert.ThrowsAsync<QueryError>(() => planner.PlanAsync("q", spec, bytes, ["other"], DateTime.UtcNow.AddMinutes(1), CancellationToken.None));
        Assert.Equal(403, error.HttpStatus);
        var plan = await planner.PlanAsync("q", spec, bytes, ["era5-team"], DateTime.UtcNow.AddMinutes(1), CancellationToken.None);
        Assert.Equal(["era5-team"], plan.Datasets[0].Units[0].Message.Groups);
    }

    private Task<QueryPlan> PlanAsync(string json)
    {
        var planner = new QueryPlanner(_catalog, new FakePools(("us-east-1", 1, 0), ("us-west-2", 1, 0)));
        var bytes = Encoding.UTF8.GetBytes(json);
        return planner.PlanAsync("q1", QuerySpecParser.Parse(bytes), bytes, CancellationToken.None);
    }

    private async Task AddAsync(string region, DatasetDocument document)
    {
        var existing = await _catalog.GetFingerprintsAsync(region);
        await using var generation = await _catalog.BeginGenerationAsync(region, Guid.NewGuid().ToString("N"));
        await generation.UpsertAsync([document]);
        await generation.CommitAsync(new SyncReport { Region = region, RunId = generation.RunId, Status = "committed", Found = existing.Count + 1 });
    }

    private static DatasetDocument Document(string id, string region, string variable, string start, string end) => new()
    {
        Id = id,
        Region = region,
        Uri = id + ".zarr",
        Format = DatasetFormat.ZarrV2,
        Fingerprint = "f-" + id,
        Variables = [new VariableInfo { Name = variable, Dims = ["time", "lat", "lon"], StandardName = "air_temperature", Units = "K" }],
        Bbox = new BoundingBox(-180, -90, 180, 90),
        Time = new TimeExtent { Start = start, End = end },
    };

    [Fact]
    public async Task An_answer_over_the_cell_limit_is_refused_at_planning_from_the_workers_plans()
    {
        // No shapes in the catalog: the workers' Plan says 1000 cells per part (no data read).
        var pools = new FakePools(("us-east-1", 1, 0), ("us-west-2", 1, 0)) { OutputCells = 1000 };
        var planner = new QueryPlanner(_catalog, pools, Limits(1500));
        var subset = Encoding.UTF8.GetBytes("""{ "datasets": ["split/t"], "variable": "t" }""");
        var error = await Assert.ThrowsAsync<QueryError>(() => planner.PlanAsync("q1", QuerySpecParser.Parse(subset), subset, [], DateTime.UtcNow.AddMinutes(1), CancellationToken.None));
        Assert.Equal((400, "too_many_cells", "select"), (error.HttpStatus, error.Code, error.Field));
        Assert.Contains("2000 cells", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, pools.PlanCalls);

        // Reduced over all of time, each part gives the whole 1000-cell map: it fits.
        var mean = Encoding.UTF8.GetBytes("""{ "datasets": ["split/t"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean"] } }""");
        var plan = await planner.PlanAsync("q2", QuerySpecParser.Parse(mean), mean, [], DateTime.UtcNow.AddMinutes(1), CancellationToken.None);
        Assert.Equal(2, plan.UnitCount);
        // Two ops count twice.
        var two = Encoding.UTF8.GetBytes("""{ "datasets": ["split/t"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean", "max"] } }""");
        await Assert.ThrowsAsync<QueryError>(() => planner.PlanAsync("q3", QuerySpecParser.Parse(two), two, [], DateTime.UtcNow.AddMinutes(1), CancellationToken.None));
    }

    [Fact]
    public async Task Catalog_shapes_within_the_limit_need_no_plan_round_trip()
    {
        var pools = new FakePools(("us-east-1", 1, 0)) { OutputCells = 320 };
        var json = Encoding.UTF8.GetBytes("""{ "datasets": ["shaped/x"], "variable": "x" }""");
        await new QueryPlanner(_catalog, pools, Limits(320)).PlanAsync("q1", QuerySpecParser.Parse(json), json, [], DateTime.UtcNow.AddMinutes(1), CancellationToken.None);
        Assert.Equal(0, pools.PlanCalls);

        // 10x4x8 may exceed 100: the worker is asked, and its exact count decides.
        await Assert.ThrowsAsync<QueryError>(() => new QueryPlanner(_catalog, pools, Limits(100)).PlanAsync("q2", QuerySpecParser.Parse(json), json, [], DateTime.UtcNow.AddMinutes(1), CancellationToken.None));
        Assert.Equal(1, pools.PlanCalls);
        pools.OutputCells = 32; // e.g. a selection of one time step
        await new QueryPlanner(_catalog, pools, Limits(100)).PlanAsync("q3", QuerySpecParser.Parse(json), json, [], DateTime.UtcNow.AddMinutes(1), CancellationToken.None);
        Assert.Equal(2, pools.PlanCalls);
    }

    [Fact]
    public void The_catalog_bound_drops_only_reduced_dims_and_keeps_grouped_time()
    {
        DatasetDocument[] parts = [Document("b", "r", "x", "2000", "2001") with { Variables = [new VariableInfo { Name = "x", Dims = ["time", "lat", "lon"], Shape = [100, 4, 8] }] }];
        long? Bound(string json) => QueryPlanner.CellBound(parts, "x", QuerySpecParser.Parse(Encoding.UTF8.GetBytes(json)));
        Assert.Equal(3200, Bound("""{ "datasets": ["b"], "variable": "x" }"""));
        Assert.Equal(32, Bound("""{ "datasets": ["b"], "variable": "x", "reduce": { "dims": ["time"], "ops": ["mean"] } }"""));
        Assert.Equal(3200, Bound("""{ "datasets": ["b"], "variable": "x", "reduce": { "dims": ["time"], "ops": ["mean"], "groupby": "time.month" } }"""));
        Assert.Equal(6400, Bound("""{ "datasets": ["b"], "variable": "x", "points": [ { "lat": 1, "lon": 2 }, { "lat": 3, "lon": 4 } ] }"""));
    }

    private static RouterOptions Limits(long maxCells) =>
        new() { CatalogPath = "x", Workers = new Dictionary<string, IReadOnlyList<Uri>>(), MaxOutputCells = maxCells };

    private sealed class FakePools(params (string Region, int Size, long Chunks)[] pools) : IPoolDirectory
    {
        private int _planCalls;

        public long OutputCells { get; set; }

        public int PlanCalls => _planCalls;

        public bool HasRegion(string region) => pools.Any(p => p.Region == region);

        public int PoolSize(string region) => pools.First(p => p.Region == region).Size;

        public Task<UnitPlan> PlanAsync(string region, WorkUnit unit, DateTime deadline, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _planCalls);
            return Task.FromResult(new UnitPlan { ChunkCount = pools.First(p => p.Region == region).Chunks, OutputCells = OutputCells });
        }
    }
}
