using System.Net;
using System.Text.Json;
using Proxima.Tests.Infrastructure;

namespace Proxima.FunctionalTests.Federation;

/// <summary>Work units as shares of a part's chunk list, cut by the workers (no Plan round trip).</summary>
[Collection(FederationCollection.Name)]
public sealed class ShareTests(FederationFixture federation)
{
    /// <summary>
    /// A selection inside one chunk of the part held by us-west-2's pool of 3: two of its three shares get
    /// no chunk and answer without data; the answer is still xarray's, and every share was sent.
    /// </summary>
    [Fact]
    public async Task A_selection_with_fewer_chunks_than_workers_leaves_shares_empty_and_still_equals_xarray()
    {
        const string From = "2001-01-09T00:00:00", To = "2001-01-09T18:00:00";
        const string Units = "proxima_router_work_units_total{region=\"us-west-2\"}";
        var unitsBefore = PrometheusText.Value(await federation.RouterMetricsAsync(), Units);
        var (status, body, text) = await federation.QueryAsync($$"""
            { "datasets": ["split/t"], "variable": "t", "select": { "time": ["{{From}}", "{{To}}"], "lat": [35, 45], "lon": [0, 30] },
              "reduce": { "dims": ["time"], "ops": ["mean", "std", "min", "max", "count"] } }
            """);
        Assert.True(status == HttpStatusCode.OK, text);
        var regions = body.GetProperty("stats").GetProperty("regions");
        Assert.Equal(1, regions.GetProperty("us-west-2").GetProperty("chunks").GetInt64());
        Assert.True(PrometheusText.Value(await federation.RouterMetricsAsync(), Units) - unitsBefore >= 3, "one share per worker of the pool of 3");

        using var expected = JsonDocument.Parse(await Python.RunCodeAsync("""
            import sys, json, numpy as np, xarray as xr
            t = xr.open_zarr(sys.argv[1]).t.sel(time=slice(sys.argv[2], sys.argv[3]), lat=slice(45, 35), lon=slice(0, 30)).astype("float64")
            print(json.dumps({op: [None if np.isnan(x) else float(x) for x in getattr(t, op)("time").values.ravel()] for op in ["mean", "std", "min", "max", "count"]}))
            """, federation.WholeStore, From, To));
        var data = body.GetProperty("results")[0].GetProperty("data");
        foreach (var op in new[] { "mean", "std", "min", "max", "count" })
        {
            SplitDatasetTests.AssertClose(expected.RootElement.GetProperty(op), data.GetProperty(op), op is "min" or "max" or "count" ? 0 : 1e-6, op);
        }
    }
}
