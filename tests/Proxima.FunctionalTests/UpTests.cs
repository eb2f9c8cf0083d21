using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Proxima.Tests.Infrastructure;

namespace Proxima.FunctionalTests;

public sealed class UpTests(LocalFederationFixture federation) : IClassFixture<LocalFederationFixture>
{

    [Fact]
    public async Task Mean_over_time_is_answered_by_the_region_holding_the_data_and_equals_xarray()
    {
        const string query = """
            { "datasets": ["reanalysis/era5/t2m"], "variable": "t2m", "reduce": { "dims": ["time"], "ops": ["mean"] } }
            """;
        using var response = await PostQueryAsync(query);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, body);
        using var doc = JsonDocument.Parse(body);
        var result = doc.RootElement.GetProperty("results")[0];
        Assert.Equal("reanalysis/era5/t2m", result.GetProperty("dataset").GetString());
        Assert.Equal(["latitude", "longitude"], result.GetProperty("dims").EnumerateArray().Select(e => e.GetString()!));

        var expected = await XarrayAsync("""
            import sys, json, xarray as xr
            ds = xr.open_zarr(sys.argv[1])
            m = ds.t2m.mean("time")
            print(json.dumps({"lat": m.latitude.values.tolist(), "lon": m.longitude.values.tolist(), "mean": m.values.astype("float64").ravel().tolist()}))
            """, federation.Era5Store);
        AssertSequence(expected.GetProperty("lat"), result.GetProperty("coords").GetProperty("latitude"), 0);
        AssertSequence(expected.GetProperty("lon"), result.GetProperty("coords").GetProperty("longitude"), 0);
        AssertSequence(expected.GetProperty("mean"), result.GetProperty("data").GetProperty("mean"), 1e-6);

        var regions = doc.RootElement.GetProperty("stats").GetProperty("regions");
        Assert.True(regions.TryGetProperty("us-east-1", out var east), "the ERA5 region answered");
        Assert.True(east.GetProperty("chunks").GetInt64() > 0);
        Assert.False(regions.TryGetProperty("us-west-2", out _), "the CMIP6 region holds none of this dataset");
        Assert.True(doc.RootElement.GetProperty("stats").GetProperty("bytes_cross_region").GetInt64() > 0);
    }

    [Theory]
    [InlineData("{ not json", "bad_request", null)]
    [InlineData("""{ "datasets": ["reanalysis/era5/t2m"], "variable": "t2m", "colour": "red" }""", "unknown_field", "colour")]
    [InlineData("""{ "datasets": ["no/such/dataset"], "variable": "t2m" }""", "unknown_dataset", "datasets[0]")]
    public async Task Bad_queries_get_a_400_error_document_and_the_router_stays_up(string query, string code, string? field)
    {
        using (var response = await PostQueryAsync(query))
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, body);
            using var doc = JsonDocument.Parse(body);
            var error = doc.RootElement.GetProperty("error");
            Assert.Equal(code, error.GetProperty("code").GetString());
            Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
            if (field is not null)
            {
                Assert.Equal(field, error.GetProperty("field").GetString());
            }
        }

        using var ok = await PostQueryAsync("""
            { "datasets": ["reanalysis/era5/t2m"], "variable": "t2m", "reduce": { "dims": ["time"], "ops": ["max"] } }
            """);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    private async Task<HttpResponseMessage> PostQueryAsync(string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var http = federation.CreateHttpClient();
        return await http.PostAsync(new Uri(federation.RouterUrl, "v1/query"), content);
    }

    internal static async Task<JsonElement> XarrayAsync(string code, params string[] args)
    {
        var output = await Python.RunCodeAsync(code, args);
        using var doc = JsonDocument.Parse(output);
        return doc.RootElement.Clone();
    }

    internal static void AssertSequence(JsonElement expected, JsonElement actual, double relative)
    {
        Assert.Equal(expected.GetArrayLength(), actual.GetArrayLength());
        var i = 0;
        foreach (var (e, a) in expected.EnumerateArray().Zip(actual.EnumerateArray()))
        {
            if (e.ValueKind == JsonValueKind.Null || (e.ValueKind == JsonValueKind.Number && double.IsNaN(e.GetDouble())))
            {
                Assert.True(a.ValueKind == JsonValueKind.Null, $"element {i}: expected NaN (null), got {a}");
            }
            else
            {
                var x = e.GetDouble();
                var y = a.GetDouble();
                var tolerance = relative * Math.Max(Math.Abs(x), 1e-30);
                Assert.True(Math.Abs(x - y) <= tolerance,
                    string.Create(CultureInfo.InvariantCulture, $"element {i}: expected {x:R}, got {y:R} (relative tolerance {relative})"));
            }

            i++;
        }
    }
}
