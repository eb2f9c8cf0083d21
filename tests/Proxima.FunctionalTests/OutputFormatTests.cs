using System.Net;
using System.Text;
using System.Text.Json;
using Proxima.Tests.Infrastructure;

namespace Proxima.FunctionalTests;

public sealed class OutputFormatTests(LocalFederationFixture federation) : IClassFixture<LocalFederationFixture>
{
    private const string Query = """
        { "datasets": ["reanalysis/era5/t2m"], "variable": "t2m", "select": { "latitude": [-40, 10] },
          "transform": { "scale": 1.0, "offset": -273.15, "units": "degC" },
          "reduce": { "dims": ["time"], "ops": ["mean", "max"] }, "output": { "format": "FORMAT" } }
        """;

    [Fact]
    public async Task Netcdf_output_opens_in_xarray_with_the_values_of_the_json_answer()
    {
        using var response = await PostAsync("netcdf");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var temp = new TempDirectory();
        var path = temp.Combine("result.nc");
        await File.WriteAllBytesAsync(path, await response.Content.ReadAsByteArrayAsync());

        var opened = await UpTests.XarrayAsync("""
            import sys, json, xarray as xr
            ds = xr.open_dataset(sys.argv[1])
            print(json.dumps({"vars": sorted(ds.data_vars), "lat": ds.latitude.values.tolist(),
                              "mean": ds.t2m_mean.values.ravel().tolist(), "units": ds.t2m_mean.attrs.get("units")}))
            """, path);
        using var json = await PostAsync("json");
        using var doc = JsonDocument.Parse(await json.Content.ReadAsStringAsync());
        var result = doc.RootElement.GetProperty("results")[0];
        Assert.Equal(["t2m_max", "t2m_mean"], opened.GetProperty("vars").EnumerateArray().Select(v => v.GetString()!));
        Assert.Equal("degC", opened.GetProperty("units").GetString());
        UpTests.AssertSequence(result.GetProperty("coords").GetProperty("latitude"), opened.GetProperty("lat"), 0);
        UpTests.AssertSequence(result.GetProperty("data").GetProperty("mean"), opened.GetProperty("mean"), 1e-12);
    }

    [Fact]
    public async Task Csv_output_loads_in_pandas_as_one_row_per_cell()
    {
        using var response = await PostAsync("csv");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var temp = new TempDirectory();
        var path = temp.Combine("result.csv");
        await File.WriteAllBytesAsync(path, await response.Content.ReadAsByteArrayAsync());
        var frame = await UpTests.XarrayAsync("""
            import sys, json, pandas as pd
            df = pd.read_csv(sys.argv[1])
            print(json.dumps({"rows": len(df), "columns": list(df.columns)}))
            """, path);
        using var json = await PostAsync("json");
        using var doc = JsonDocument.Parse(await json.Content.ReadAsStringAsync());
        var cells = doc.RootElement.GetProperty("results")[0].GetProperty("shape").EnumerateArray().Aggregate(1, (n, s) => n * s.GetInt32());
        Assert.Equal(cells, frame.GetProperty("rows").GetInt32());
        var columns = frame.GetProperty("columns").EnumerateArray().Select(c => c.GetString()!).ToList();
        Assert.Contains("latitude", columns);
        Assert.Contains("longitude", columns);
    }

    private async Task<HttpResponseMessage> PostAsync(string format)
    {
        using var http = federation.CreateHttpClient();
        using var content = new StringContent(Query.Replace("FORMAT", format, StringComparison.Ordinal), Encoding.UTF8, "application/json");
        return await http.PostAsync(new Uri(federation.RouterUrl, "v1/query"), content);
    }
}
