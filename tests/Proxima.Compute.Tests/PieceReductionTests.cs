using System.Text.Json;
using Proxima.Arrays;
using Proxima.Arrays.Storage;
using Proxima.Compute.Execution;
using Proxima.Compute.Query;
using Proxima.Tests.Infrastructure;

namespace Proxima.Compute.Tests;

/// <summary>
/// Whole Blosc chunks reduced a piece of leading rows at a time (<see cref="ExecutionOptions.PieceBytes"/>) on a store
/// zarr-python writes at test time with blocks that do not line up with the rows (Blosc-zstd keeps its forced
/// 1500-byte blocks: 375 floats against 240-float rows), NaN holes and descending latitude: the answers equal xarray's.
/// </summary>
public sealed class PieceReductionTests : IAsyncLifetime
{
    private const string Generate = """
import json, sys, os
import numpy as np, pandas as pd, xarray as xr, numcodecs
root = sys.argv[1]
rng = np.random.default_rng(3)
t = pd.date_range("2001-01-20", periods=48 * 6, freq="6h")
lat = np.linspace(45, -45, 10)
lon = np.arange(0, 360, 15.0)
v = (280 + 10 * rng.standard_normal((t.size, lat.size, lon.size))).astype("f4")
v[rng.random(v.shape) < 0.03] = np.nan
v[:, 3, 5] = np.nan
ds = xr.Dataset({"t2m": (("time", "latitude", "longitude"), v, {"units": "K"})}, coords={"time": t, "latitude": lat, "longitude": lon})
comp = numcodecs.Blosc("zstd", 3, numcodecs.Blosc.SHUFFLE, blocksize=1500)
ds.to_zarr(os.path.join(root, "pieces.zarr"), mode="w", encoding={"t2m": {"chunks": (12, 10, 24), "compressor": comp}, "time": {"units": "hours since 2001-01-01", "dtype": "int64"}})
a = ds.t2m.astype("f8")
m = a.groupby("time.month").mean("time")
out = {"mean": a.mean("time").values.ravel(), "std": a.std("time").values.ravel(), "min": a.min("time").values.ravel(),
       "max": a.max("time").values.ravel(), "count": a.count("time").values.ravel(), "month_mean": m.values.ravel()}
print(json.dumps({k: [None if np.isnan(x) else float(x) for x in vals] for k, vals in out.items()}))
""";

    private readonly string _root = Path.Combine(Path.GetTempPath(), "proxima-pieces-" + Guid.NewGuid().ToString("N"));
    private JsonElement _expected;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        var text = await Python.RunCodeAsync(Generate, _root);
        using var doc = JsonDocument.Parse(text.Trim().Split('\n')[^1]);
        _expected = doc.RootElement.Clone();
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task The_store_opens_for_range_reads_with_blocks_across_rows_and_ranges_equal_the_whole_chunk()
    {
        using var ds = await GridDataset.OpenAsync(new PosixStorage(_root), "pieces.zarr");
        var v = ds["t2m"];
        var whole = new float[v.ChunkElementCount];
        await v.ReadChunkAsync<float>(new long[] { 1, 0, 0 }, whole, CancellationToken.None);
        using var ranges = await v.OpenChunkRangesAsync<float>(new long[] { 1, 0, 0 }, CancellationToken.None);
        Assert.NotNull(ranges);
        Assert.Equal(375, ranges.BlockElements);
        var part = new float[v.ChunkElementCount];
        for (var start = 0; start < part.Length; start += 2 * ranges.BlockElements)
        {
            ranges.Read(start, part.AsSpan(start, Math.Min(2 * ranges.BlockElements, part.Length - start)));
        }

        Assert.Equal(whole, part);
        Assert.Throws<ArgumentOutOfRangeException>(() => ranges.Read(part.Length - 10, new float[20]));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2 * 240 * 4)]
    [InlineData(5 * 240 * 4)]
    [InlineData(0)]
    public async Task Mean_std_min_max_count_and_monthly_mean_equal_xarray_for_any_piece_size(int pieceBytes)
    {
        using var ds = await GridDataset.OpenAsync(new PosixStorage(_root), "pieces.zarr");
        var options = new ExecutionOptions { MaxChunksInFlight = 2, PieceBytes = pieceBytes };
        var spec = QuerySpecParser.Parse("""{"datasets":["p"],"variable":"t2m","reduce":{"dims":["time"],"ops":["mean","std","min","max","count"]}}""");
        var all = QueryFinalizer.Finalize(await QueryExecutor.ExecuteAsync(ds, "p", spec, options: options), spec);
        var monthSpec = QuerySpecParser.Parse("""{"datasets":["p"],"variable":"t2m","reduce":{"dims":["time"],"ops":["mean"],"groupby":"time.month"}}""");
        var month = QueryFinalizer.Finalize(await QueryExecutor.ExecuteAsync(ds, "p", monthSpec, options: options), monthSpec);
        Check("mean", all.Data[0].Value, 1e-6);
        Check("std", all.Data[1].Value, 1e-5);
        Check("min", all.Data[2].Value, 0);
        Check("max", all.Data[3].Value, 0);
        Check("count", all.Data[4].Value, 0);
        Check("month_mean", month.Data[0].Value, 1e-6);
    }

    private void Check(string op, double[] actual, double rtol)
    {
        var expected = _expected.GetProperty(op);
        Assert.Equal(expected.GetArrayLength(), actual.Length);
        for (var i = 0; i < actual.Length; i++)
        {
            if (expected[i].ValueKind == JsonValueKind.Null)
            {
                Assert.True(double.IsNaN(actual[i]), $"{op}[{i}] = {actual[i]}, xarray NaN");
                continue;
            }

            var e = expected[i].GetDouble();
            Assert.True(Math.Abs(e - actual[i]) <= rtol * Math.Abs(e), $"{op}[{i}] = {actual[i]}, xarray {e}");
        }
    }
}
