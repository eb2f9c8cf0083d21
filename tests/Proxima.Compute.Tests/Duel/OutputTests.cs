using System.Text.Json;
using Proxima.Compute.Execution;
using Proxima.Compute.Output;
using Proxima.Compute.Query;
using Proxima.Tests.Infrastructure;

namespace Proxima.Compute.Tests.Duel;

public sealed class OutputTests(DuelFixture fixture) : IClassFixture<DuelFixture>
{
    private async Task<QueryResult> Run(string name)
    {
        var q = fixture.Queries[name];
        var spec = QuerySpecParser.Parse(q.GetProperty("spec").GetRawText());
        var ds = q.GetProperty("dataset").GetString()!;
        return QueryFinalizer.Finalize(await QueryExecutor.ExecuteAsync(fixture.Dataset(ds), ds, spec), spec);
    }

    [Fact]
    public async Task Json_has_the_design_shape_with_nulls_for_nan_and_iso_times()
    {
        var a = await Run("era5_all_nan_day");
        var b = await Run("cmip6_resample_monthly");
        var stats = new QueryStats { BytesCrossRegion = 123, Regions = new Dictionary<string, RegionStats> { ["us-east-1"] = new() { Chunks = 4, BytesRead = 99, Ms = 1.5 } } };
        using var doc = JsonDocument.Parse(ResultWriters.ToJson([a, b], stats));
        var results = doc.RootElement.GetProperty("results");
        Assert.Equal(2, results.GetArrayLength());
        var r0 = results[0];
        foreach (var key in (string[])["dataset", "variable", "dims", "coords", "shape", "data", "attrs", "partial", "missing"])
        {
            Assert.True(r0.TryGetProperty(key, out _), key);
        }

        Assert.Equal("era5", r0.GetProperty("dataset").GetString());
        Assert.Equal(["latitude", "longitude"], r0.GetProperty("dims").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(19 * 36, r0.GetProperty("data").GetProperty("mean").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, r0.GetProperty("data").GetProperty("mean")[(3 * 36) + 5].ValueKind);
        Assert.Equal(0, r0.GetProperty("data").GetProperty("sum")[(3 * 36) + 5].GetDouble());
        Assert.Equal("K", r0.GetProperty("attrs").GetProperty("units").GetString());
        var time = results[1].GetProperty("coords").GetProperty("time");
        Assert.Equal("2015-01-01T00:00:00", time[0].GetString());
        Assert.Equal("2017-12-01T00:00:00", time[time.GetArrayLength() - 1].GetString());
        Assert.Equal("360_day", results[1].GetProperty("attrs").GetProperty("calendar").GetString());
        Assert.Equal(123, doc.RootElement.GetProperty("stats").GetProperty("bytes_cross_region").GetInt64());
        Assert.Equal(4, doc.RootElement.GetProperty("stats").GetProperty("regions").GetProperty("us-east-1").GetProperty("chunks").GetInt32());
    }

    [Fact]
    public void Error_json_names_code_message_and_field()
    {
        var ex = Assert.Throws<QueryValidationException>(() => QuerySpecParser.Parse("""{"datasets":["a"],"variable":"v","select":{"lat":[5,1]}}"""));
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            ErrorWriter.Write(w, ex);
        }

        using var doc = JsonDocument.Parse(ms.ToArray());
        var e = doc.RootElement.GetProperty("error");
        Assert.Equal("invalid_range", e.GetProperty("code").GetString());
        Assert.Equal("select.lat", e.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Unknown_variable_and_dimension_are_validation_errors()
    {
        var ds = fixture.Dataset("era5");
        var e1 = await Assert.ThrowsAsync<QueryValidationException>(() => QueryExecutor.PlanAsync(ds, "era5", QuerySpecParser.Parse("""{"datasets":["era5"],"variable":"nope"}""")));
        Assert.Equal("unknown_variable", e1.Code);
        var e2 = await Assert.ThrowsAsync<QueryValidationException>(() => QueryExecutor.PlanAsync(ds, "era5", QuerySpecParser.Parse("""{"datasets":["era5"],"variable":"t2m","select":{"depth":[1,2]}}""")));
        Assert.Equal("unknown_dimension", e2.Code);
        Assert.Equal("select.depth", e2.Field);
        var e4 = await Assert.ThrowsAsync<QueryValidationException>(() => QueryExecutor.PlanAsync(ds, "era5", QuerySpecParser.Parse("""{"datasets":["era5"],"variable":"t2m","select":{"lat":[12]}}""")));
        Assert.Equal("invalid_value", e4.Code);
        Assert.Equal("select.lat[0]", e4.Field);
    }

    [Fact]
    public async Task Empty_selection_reduces_to_nan_min_max_and_size_0_groups_instead_of_an_error()
    {
        // xarray raises for min/max over a size-0 dim and for groupby/resample of an empty array; Proxima answers
        // as for an all-NaN slice: NaN min/max, and a size-0 group dim.
        var ds = fixture.Dataset("era5");
        var spec = QuerySpecParser.Parse("""{"datasets":["era5"],"variable":"t2m","select":{"time":["2001-01-01","2001-02-01"]},"reduce":{"dims":["time"],"ops":["min","max","count"]}}""");
        var plan = await QueryExecutor.PlanAsync(ds, "era5", spec);
        Assert.Equal(0, plan.ChunkCount);
        var r = QueryFinalizer.Finalize(await QueryExecutor.ExecuteAsync(plan), spec);
        Assert.Equal([19, 36], r.Shape);
        Assert.All(r.Data[0].Value, v => Assert.True(double.IsNaN(v)));
        Assert.All(r.Data[1].Value, v => Assert.True(double.IsNaN(v)));
        Assert.All(r.Data[2].Value, v => Assert.Equal(0, v));
        foreach (var grouping in (string[])["\"groupby\":\"time.month\"", "\"resample\":\"1D\""])
        {
            var g = QuerySpecParser.Parse("{\"datasets\":[\"era5\"],\"variable\":\"t2m\",\"select\":{\"time\":[\"2001-01-01\",\"2001-02-01\"]},\"reduce\":{\"dims\":[\"time\"],\"ops\":[\"mean\"]," + grouping + "}}");
            var gr = QueryFinalizer.Finalize(await QueryExecutor.ExecuteAsync(ds, "era5", g), g);
            Assert.Equal([0, 19, 36], gr.Shape);
            Assert.Empty(gr.Data[0].Value);
        }
    }

    [Fact]
    public async Task Empty_selection_writes_json_csv_and_netcdf_that_pandas_and_xarray_read_as_size_0()
    {
        var values = await Run("era5_empty_time_subset");
        var reduced = await Run("era5_empty_time_reduce_over_time");
        Assert.Equal([0, 4, 36], values.Shape);
        using (var doc = JsonDocument.Parse(ResultWriters.ToJson([values])))
        {
            var r = doc.RootElement.GetProperty("results")[0];
            Assert.Equal([0, 4, 36], r.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
            Assert.Equal(0, r.GetProperty("coords").GetProperty("time").GetArrayLength());
            Assert.Equal(0, r.GetProperty("data").GetProperty("values").GetArrayLength());
        }

        var dir = Path.Combine(fixture.Root, "empty-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "values.csv"), ResultWriters.ToCsv([values]));
        NetCdfResultWriter.Write(Path.Combine(dir, "values.nc"), [values]);
        NetCdfResultWriter.Write(Path.Combine(dir, "both.nc"), [values, reduced with { Dataset = "era5_reduced" }]);
        var script = """
            import sys, numpy as np, pandas as pd, xarray as xr
            root, d = sys.argv[1], sys.argv[2]
            want = xr.open_zarr(root + "/era5.zarr").t2m.sel(time=slice("2001-01-01", "2001-02-01"), latitude=slice(40, 10))
            got = pd.read_csv(d + "/values.csv")
            assert list(got.columns) == ["dataset", "variable", "time", "latitude", "longitude", "values"] and len(got) == 0, got
            nc = xr.open_dataset(d + "/values.nc")
            assert nc.t2m.dims == ("time", "latitude", "longitude") and nc.t2m.shape == want.shape, (nc.t2m.dims, nc.t2m.shape, want.shape)
            assert nc.time.dtype.kind == "M", nc.time.dtype
            np.testing.assert_array_equal(nc.latitude.values, want.latitude.values)
            red = xr.open_dataset(d + "/both.nc", group="era5_reduced")
            full = xr.open_zarr(root + "/era5.zarr").t2m.sel(time=slice("2001-01-01", "2001-02-01")).astype("float64")
            np.testing.assert_array_equal(red.t2m_count.values, full.count("time").values)
            np.testing.assert_array_equal(red.t2m_sum.values, full.sum("time").values)
            assert np.isnan(red.t2m_mean.values).all() and red.t2m_mean.shape == (19, 36)
            print("ok")
            """;
        var output = await Python.RunCodeAsync(script, fixture.Root, dir);
        Assert.Contains("ok", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Csv_loads_with_pandas_into_the_frame_xarray_gives()
    {
        var points = await Run("era5_points_time_series");
        var clim = await Run("cmip6_groupby_month");
        var dir = Path.Combine(fixture.Root, "csv-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "points.csv"), ResultWriters.ToCsv([points]));
        await File.WriteAllTextAsync(Path.Combine(dir, "clim.csv"), ResultWriters.ToCsv([clim]));
        var script = """
            import sys, numpy as np, pandas as pd, xarray as xr
            root, d = sys.argv[1], sys.argv[2]
            era = xr.open_zarr(root + "/era5.zarr").t2m.sel(time=slice("2000-01-02", "2000-01-03"))
            pts = {"Sydney": (-33.87, 151.21), "London": (51.5, 2.88), "Lima": (-12.0, 360 - 77.0)}
            rows = []
            for name, (la, lo) in pts.items():
                s = era.sel(latitude=la, longitude=lo, method="nearest")
                for t, v in zip(s.time.values, s.values):
                    rows.append((name, pd.Timestamp(t).strftime("%Y-%m-%dT%H:%M:%S"), float(s.latitude), float(s.longitude), float(v)))
            want = pd.DataFrame(rows, columns=["point", "time", "latitude", "longitude", "values"])
            got = pd.read_csv(d + "/points.csv", float_precision="round_trip")
            assert list(got.columns) == ["dataset", "variable", "point", "time", "latitude", "longitude", "values"], list(got.columns)
            pd.testing.assert_frame_equal(got[want.columns].reset_index(drop=True), want, check_exact=True, check_dtype=False)
            tas = xr.open_zarr(root + "/cmip6.zarr").tas.astype("float64")
            g = tas.groupby("time.month")
            want = xr.Dataset({"mean": g.mean("time"), "std": g.std("time"), "count": g.count("time").astype("float64")}).to_dataframe(dim_order=["month", "lat", "lon"]).reset_index()
            got = pd.read_csv(d + "/clim.csv", float_precision="round_trip")
            assert len(got) == len(want) == 12 * 18 * 24, (len(got), len(want))
            for col in ["month", "lat", "lon", "count"]:
                assert np.array_equal(got[col].values, want[col].values), col
            np.testing.assert_allclose(got["mean"].values, want["mean"].values, rtol=1e-6)
            np.testing.assert_allclose(got["std"].values, want["std"].values, rtol=1e-5)
            print("ok")
            """;
        var output = await Python.RunCodeAsync(script, fixture.Root, dir);
        Assert.Contains("ok", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NetCdf_opens_in_xarray_with_decoded_times_coords_and_equal_values()
    {
        var monthly = await Run("cmip6_resample_monthly");
        var points = await Run("era5_points_time_series");
        var seasons = await Run("cmip6_groupby_season_region");
        var dir = Path.Combine(fixture.Root, "nc-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var spec = QuerySpecParser.Parse(fixture.Queries["cmip6_resample_monthly"].GetProperty("spec").GetRawText());
        NetCdfResultWriter.Write(Path.Combine(dir, "one.nc"), [monthly], spec);
        NetCdfResultWriter.Write(Path.Combine(dir, "two.nc"), [points, seasons]);
        var script = """
            import sys, json, numpy as np, xarray as xr
            d = sys.argv[1]
            def iso(v):
                return [("%04d-%02d-%02dT%02d:%02d:%02d" % (t.year, t.month, t.day, t.hour, t.minute, t.second)) if hasattr(t, "year")
                        else str(np.datetime_as_string(t, unit="s")) for t in v]
            out = {}
            for key, path, group in [("one", "one.nc", None), ("points", "two.nc", "era5"), ("seasons", "two.nc", "cmip6")]:
                ds = xr.open_dataset(d + "/" + path, group=group)
                r = {"vars": {}, "coords": {}, "attrs": dict(ds.attrs)}
                for name, v in ds.data_vars.items():
                    r["vars"][name] = {"dims": list(v.dims), "data": [None if np.isnan(x) else float(x) for x in v.values.ravel()], "attrs": {k: str(a) for k, a in v.attrs.items()}}
                for name, c in ds.coords.items():
                    vals = c.values
                    if vals.dtype.kind in "MO" and len(vals) and not isinstance(vals[0], str):
                        r["coords"][name] = iso(vals)
                    elif vals.dtype.kind in "OUS":
                        r["coords"][name] = [str(x) for x in vals]
                    else:
                        r["coords"][name] = [float(x) for x in vals]
                out[key] = r
            print(json.dumps(out))
            """;
        var text = await Python.RunCodeAsync(script, dir);
        using var doc = JsonDocument.Parse(text);
        foreach (var (key, result) in new[] { ("one", monthly), ("points", points), ("seasons", seasons) })
        {
            var r = doc.RootElement.GetProperty(key);
            for (var j = 0; j < result.Dims.Length; j++)
            {
                var c = r.GetProperty("coords").GetProperty(result.Dims[j]).EnumerateArray().ToArray();
                var ours = result.Coords[j];
                Assert.Equal(ours.Length, c.Length);
                for (var i = 0; i < c.Length; i++)
                {
                    if (ours.Labels is not null)
                    {
                        Assert.Equal(ours.Labels[i], c[i].GetString());
                    }
                    else
                    {
                        Assert.Equal(ours.Values![i], c[i].GetDouble());
                    }
                }
            }

            foreach (var kv in result.Data)
            {
                var name = kv.Key == "values" ? result.Variable : result.Variable + "_" + kv.Key;
                var v = r.GetProperty("vars").GetProperty(name);
                Assert.Equal(result.Dims, v.GetProperty("dims").EnumerateArray().Select(e => e.GetString()!).ToArray());
                var data = v.GetProperty("data").EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? double.NaN : e.GetDouble()).ToArray();
                Assert.Equal(kv.Value, data);
            }
        }

        Assert.Contains("1MS", doc.RootElement.GetProperty("one").GetProperty("attrs").GetProperty("proxima_query").GetString(), StringComparison.Ordinal);
        Assert.Equal("K", doc.RootElement.GetProperty("one").GetProperty("vars").GetProperty("tas_mean").GetProperty("attrs").GetProperty("units").GetString());
    }
}
