using System.Text.Json;
using Proxima.Tests.Infrastructure;

namespace Proxima.Client.Tests;

/// <summary>The C# SDK against a real router (gRPC for queries, HTTP for search and the JSON API).</summary>
[Collection("federation")]
public sealed class SdkFederationTests(FederationFixture federation)
{
    private ProximaQuery Era5MeanStd(ProximaClient client) =>
        client.Query(FederationFixture.Era5).Variable("t2m").BBox(110, -50, 180, 0).ToCelsius().Mean("time").Std("time");

    [Fact]
    public async Task Grpc_results_of_a_built_query_equal_the_json_api_for_the_same_spec()
    {
        using var client = federation.CreateClient();
        Assert.NotNull(client.GrpcUrl);
        var query = Era5MeanStd(client);
        var grpc = (await query.ExecuteAsync()).Single();
        var json = (await client.QueryJsonAsync(query.ToJson())).Single();

        Assert.Equal(json.Dims, grpc.Dims);
        Assert.Equal(json.Shape, grpc.Shape);
        Assert.Equal(["latitude", "longitude"], grpc.Dims);
        Assert.Equal("degC", grpc.Units);
        Assert.Equal(json.Coord("latitude").Values, grpc.Coord("latitude").Values);
        Assert.Equal(json.Coord("longitude").Values, grpc.Coord("longitude").Values);
        foreach (var op in new[] { "mean", "std" })
        {
            var a = json[op].ToArray();
            var b = grpc[op].ToArray();
            Assert.Equal(a.Length, b.Length);
            for (var i = 0; i < a.Length; i++)
            {
                // Partials merge in completion order: the last bits may differ between two runs.
                Assert.True(Math.Abs(a[i] - b[i]) <= 1e-12 * Math.Abs(a[i]) + 1e-12, $"{op}[{i}]: {a[i]:R} vs {b[i]:R}");
            }
        }
    }

    [Fact]
    public async Task Sdk_results_equal_xarray_on_the_same_zarr_store()
    {
        using var client = federation.CreateClient();
        var result = (await Era5MeanStd(client).ExecuteAsync()).Single();
        var reference = await Python.RunCodeAsync("""
            import json, sys, xarray as xr
            ds = xr.open_zarr(sys.argv[1])
            t = ds.t2m.sel(latitude=slice(0, -50), longitude=slice(110, 180)) - 273.15
            print(json.dumps({"mean": t.mean("time").values.ravel().tolist(), "std": t.std("time").values.ravel().tolist(),
                              "lat": t.latitude.values.tolist(), "lon": t.longitude.values.tolist()}))
            """, federation.Era5Store);
        using var doc = JsonDocument.Parse(reference);
        Assert.Equal(doc.RootElement.GetProperty("lat").EnumerateArray().Select(v => v.GetDouble()), result.Coord("latitude").Values!);
        Assert.Equal(doc.RootElement.GetProperty("lon").EnumerateArray().Select(v => v.GetDouble()), result.Coord("longitude").Values!);
        foreach (var op in new[] { "mean", "std" })
        {
            var expected = doc.RootElement.GetProperty(op).EnumerateArray().Select(v => v.GetDouble()).ToArray();
            var actual = result[op].ToArray();
            Assert.Equal(expected.Length, actual.Length);
            for (var i = 0; i < expected.Length; i++)
            {
                // float32 data: xarray reduces in float32, the service in float64 (DESIGN.md: 1e-5 for float32 std).
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * Math.Max(1, Math.Abs(expected[i])), $"{op}[{i}]: xarray {expected[i]:R}, proxima {actual[i]:R}");
            }
        }
    }

    [Fact]
    public async Task SaveNetCdf_writes_a_file_xarray_opens_with_the_typed_results_values()
    {
        using var client = federation.CreateClient();
        var result = (await Era5MeanStd(client).ExecuteAsync()).Single();
        var dir = Directory.CreateTempSubdirectory("proxima-sdk-nc-");
        try
        {
            var path = Path.Combine(dir.FullName, "era5.nc");
            await Era5MeanStd(client).SaveNetCdfAsync(path);
            var opened = await Python.RunCodeAsync("""
                import json, sys, xarray as xr
                ds = xr.open_dataset(sys.argv[1])
                print(json.dumps({"mean": ds.t2m_mean.values.ravel().tolist(), "units": ds.t2m_mean.attrs.get("units")}))
                """, path);
            using var doc = JsonDocument.Parse(opened);
            Assert.Equal("degC", doc.RootElement.GetProperty("units").GetString());
            var expected = result["mean"].ToArray();
            var actual = doc.RootElement.GetProperty("mean").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.Equal(expected.Length, actual.Length);
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-12 * Math.Max(1, Math.Abs(expected[i])), $"mean[{i}]: {expected[i]:R} vs {actual[i]:R}");
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task SaveAsync_streams_progress_and_writes_the_routers_csv_byte_for_byte()
    {
        using var client = federation.CreateClient();
        var dir = Directory.CreateTempSubdirectory("proxima-sdk-csv-");
        try
        {
            var path = Path.Combine(dir.FullName, "era5.csv");
            var reports = new List<QueryProgress>();
            await Era5MeanStd(client).SaveAsync(path, new SynchronousProgress(reports.Add));
            Assert.Equal(100.0, reports[^1].Percent);
            Assert.Contains(reports, r => r.ChunksTotal > 0);

            // The same spec through POST /v1/query: the file is the router's CSV, not a re-serialisation.
            var http = await client.PostRawAsync(Era5MeanStd(client).Format("csv").ToJson());
            var lines = await File.ReadAllLinesAsync(path);
            var expected = System.Text.Encoding.UTF8.GetString(http).TrimEnd('\n').Split('\n');
            Assert.Equal(expected[0], lines[0]);
            Assert.Equal(expected.Length, lines.Length);
            for (var i = 1; i < lines.Length; i++)
            {
                // Partials merge in completion order: the last bits of a value may differ between two runs.
                var a = expected[i].Split(',');
                var b = lines[i].Split(',');
                Assert.Equal(a[..4], b[..4]);
                for (var c = 4; c < a.Length; c++)
                {
                    var x = double.Parse(a[c], System.Globalization.CultureInfo.InvariantCulture);
                    var y = double.Parse(b[c], System.Globalization.CultureInfo.InvariantCulture);
                    Assert.True(Math.Abs(x - y) <= 1e-12 * Math.Max(1, Math.Abs(x)), $"line {i} column {c}: {x:R} vs {y:R}");
                }
            }

            await Assert.ThrowsAsync<ArgumentException>(() => Era5MeanStd(client).SaveAsync(Path.Combine(dir.FullName, "era5.xlsx")));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Progress_is_reported_monotonically_up_to_100_percent()
    {
        using var client = federation.CreateClient();
        var reports = new List<QueryProgress>();
        var progress = new SynchronousProgress(reports.Add);
        await client.Query(FederationFixture.Era5, FederationFixture.Cmip6).Variable("air_temperature").BBox(110, -45, 155, -10).Mean("time").ExecuteAsync(progress);
        Assert.True(reports.Count >= 2, $"{reports.Count} reports");
        for (var i = 1; i < reports.Count; i++)
        {
            Assert.True(reports[i].Fraction >= reports[i - 1].Fraction, $"report {i}: {reports[i - 1].Fraction} -> {reports[i].Fraction}");
            Assert.True(reports[i].ChunksDone >= reports[i - 1].ChunksDone);
        }

        Assert.Equal(1.0, reports[^1].Fraction);
        Assert.Equal(100.0, reports[^1].Percent);

        // Every chunk of both datasets counts (ERA5: 10 daily chunks, CMIP6: 86 yearly ones): the router reports
        // once both regions' units have said how many they have, so one region's 100% is not the query's.
        Assert.All(reports, r => Assert.True(r.ChunksTotal is 0 or 96, $"{r.ChunksDone}/{r.ChunksTotal}"));
        Assert.Equal(96, reports[^1].ChunksDone);
    }

    [Fact]
    public async Task A_query_of_many_chunks_reports_intermediate_progress_between_0_and_100_percent()
    {
        // 86 chunks over a 2 ms link: progress events are coalesced while a write is in flight, so how many
        // arrive depends on the machine's load; a run that saw none is repeated (at most 3, all reported).
        using var client = federation.CreateClient();
        var attempts = new List<string>();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var reports = new List<QueryProgress>();
            await client.Query(FederationFixture.Cmip6).Variable("tas").Mean("time").ExecuteAsync(new SynchronousProgress(reports.Add));
            Assert.Equal(1.0, reports[^1].Fraction);
            if (reports.Exists(r => r.Fraction is > 0 and < 1))
            {
                return;
            }

            attempts.Add(string.Join(", ", reports.Select(r => $"{r.ChunksDone}/{r.ChunksTotal}")));
        }

        Assert.Fail("no intermediate progress in 3 runs: " + string.Join(" | ", attempts));
    }

    [Fact]
    public async Task Cancelling_at_the_first_progress_event_throws_operation_cancelled_and_the_client_stays_usable()
    {
        using var client = federation.CreateClient();
        using var cts = new CancellationTokenSource();
        var intermediate = 0;
        var progress = new SynchronousProgress(p =>
        {
            if (p.Fraction < 1)
            {
                intermediate++;
                cts.Cancel();
            }
        });
        var query = client.Query(FederationFixture.Era5, FederationFixture.Cmip6).Variable("air_temperature");
        try
        {
            await query.ExecuteAsync(progress, cts.Token);
            // The router coalesces progress; a query that finishes within one interval sends none.
            Assert.Equal(0, intermediate);
        }
        catch (OperationCanceledException)
        {
            Assert.Equal(1, intermediate);
        }

        var again = await client.Query(FederationFixture.Era5).Variable("t2m").BBox(0, -5, 5, 0).Max("time").ExecuteAsync();
        Assert.Equal([2, 2], again.Single().Shape);
    }

    [Fact]
    public async Task A_bad_query_is_a_query_exception_carrying_code_and_field()
    {
        using var client = federation.CreateClient();
        var grpc = await Assert.ThrowsAsync<ProximaQueryException>(() => client.Query("no/such/dataset").Variable("t2m").ExecuteAsync());
        Assert.Equal("unknown_dataset", grpc.Code);
        Assert.Equal("datasets[0]", grpc.Field);
        Assert.Equal(400, grpc.HttpStatus);

        var http = await Assert.ThrowsAsync<ProximaQueryException>(() => client.QueryJsonAsync("""{"datasets":["reanalysis/era5/t2m"],"variable":"t2m","reduce":{"dims":["time"],"ops":["median"]}}"""));
        Assert.StartsWith("reduce.ops", http.Field);
        Assert.NotNull(http.Code);
    }

    [Fact]
    public async Task A_wrong_token_is_an_authentication_exception_when_the_router_enforces_tokens()
    {
        if (federation.Token is null)
        {
            // The router of this build does not write STATE/token yet; AuthTests covers the mapping on real servers.
            return;
        }

        using var client = new ProximaClient(new ProximaClientOptions { RouterUrl = federation.RouterUrl, GrpcUrl = federation.GrpcUrl, Token = "wrong" });
        await Assert.ThrowsAsync<ProximaAuthenticationException>(() => client.Query(FederationFixture.Era5).Variable("t2m").Mean("time").ExecuteAsync());
        await Assert.ThrowsAsync<ProximaAuthenticationException>(() => client.SearchAsync(new CatalogSearch()));
    }

    [Fact]
    public async Task An_empty_time_selection_is_an_empty_result_with_size_0_time()
    {
        using var client = federation.CreateClient();
        var r = (await client.Query(FederationFixture.Era5).Variable("t2m").Time("2001-01-01", "2001-01-02").BBox(140, -40, 145, -35).ExecuteAsync()).Single();
        var values = r["values"];
        Assert.Equal(["time", "latitude", "longitude"], values.Dims);
        Assert.Equal([0, 2, 2], values.Shape);
        Assert.Equal(0, r.Coord("time").Length);
        Assert.Equal(0, r.ToTable().Rows.Count);
    }

    [Fact]
    public async Task Cmip6_times_come_back_in_the_360_day_calendar()
    {
        using var client = federation.CreateClient();
        var r = (await client.Query(FederationFixture.Cmip6).Variable("tas").Time("2090-01-01", "2090-12-30").Point("Sydney", -33.87, 151.21).ExecuteAsync()).Single();
        var time = r.Coord("time");
        Assert.Equal("360_day", time.Calendar);
        Assert.Equal(12, time.Length);
        Assert.Equal(new CalendarDateTime(2090, 1, 16, 0, 0, 0, "360_day"), time.Times![0]);
        Assert.Equal(["point", "time"], r.Dims);
        Assert.Equal(12, r.ToTable().Rows.Count);
    }

    [Fact]
    public async Task Catalog_search_by_bbox_and_time_returns_typed_items()
    {
        using var client = federation.CreateClient();
        var items = await client.SearchAsync(new CatalogSearch().BBox(150, -35, 152, -33).Time("2000-01-01", "2000-12-31"));
        var era5 = Assert.Single(items);
        Assert.Equal(FederationFixture.Era5, era5.Id);
        Assert.Equal("us-east-1", era5.Region);
        Assert.Equal("proleptic_gregorian", era5.Calendar);
        var t2m = Assert.Single(era5.Variables);
        Assert.Equal(("t2m", "air_temperature", "K"), (t2m.Name, t2m.StandardName, t2m.Units));
        Assert.Equal(["time", "latitude", "longitude"], t2m.Dims);

        var future = await client.SearchAsync(new CatalogSearch().Time("2090-01-01", "2100-12-30"));
        Assert.Equal([FederationFixture.Cmip6], future.Select(i => i.Id));
        var bad = await Assert.ThrowsAsync<ProximaQueryException>(() => client.SearchAsync(new CatalogSearch().Limit(100000)));
        Assert.Equal("limit", bad.Field);
    }

    [Fact]
    public async Task Without_a_grpc_address_queries_go_over_http_with_the_same_answer()
    {
        using var client = new ProximaClient(federation.RouterUrl, federation.Token);
        Assert.Null(client.GrpcUrl);
        var reports = new List<QueryProgress>();
        var r = (await client.Query(FederationFixture.Era5).Variable("t2m").BBox(0, -5, 5, 0).Max("time").ExecuteAsync(new SynchronousProgress(reports.Add))).Single();
        Assert.Equal([2, 2], r.Shape);
        Assert.Equal(1.0, reports[^1].Fraction);
    }

    private sealed class SynchronousProgress(Action<QueryProgress> report) : IProgress<QueryProgress>
    {
        public void Report(QueryProgress value) => report(value);
    }
}
