using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Proxima.FunctionalTests.Federation;

/// <summary>A dataset split across three regions and planned over pools of 2, 3 and 1 workers, against xarray on the whole.</summary>
[Collection(FederationCollection.Name)]
public sealed class SplitDatasetTests(FederationFixture federation)
{
    private static readonly string[] Ops = ["mean", "std", "min", "max", "sum", "count"];

    [Fact]
    public async Task A_dataset_split_across_regions_and_pools_equals_xarray_on_the_whole_dataset()
    {
        var unitsBefore = UnitsSent(await federation.RouterMetricsAsync());
        var (status, body, text) = await federation.QueryAsync("""
            { "datasets": ["split/t"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean", "std", "min", "max", "sum", "count"] } }
            """);
        Assert.True(status == HttpStatusCode.OK, text);
        var result = body.GetProperty("results")[0];
        Assert.False(result.GetProperty("partial").GetBoolean());
        var expected = await federation.XarrayAsync("2001-01-01T00:00:00", "2001-01-18T18:00:00");
        foreach (var op in Ops)
        {
            AssertClose(expected.GetProperty(op), result.GetProperty("data").GetProperty(op), op is "min" or "max" or "count" ? 0 : 1e-6, op);
        }

        var regions = body.GetProperty("stats").GetProperty("regions");
        foreach (var (region, _) in FederationFixtureBase.Regions)
        {
            Assert.True(regions.TryGetProperty(region, out var r) && r.GetProperty("chunks").GetInt64() > 0, $"{region} answered: {regions}");
        }

        // Parts on pools of 2 and 3 workers are split into chunk-range units (one per worker): more units than parts.
        var units = UnitsSent(await federation.RouterMetricsAsync()) - unitsBefore;
        Assert.True(units >= 2 + 3 + 1, $"work units sent: {units}");
    }

    [Fact]
    public async Task Random_time_windows_over_the_split_give_xarrays_answer()
    {
        var rng = new Random(6);
        var start = new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        for (var i = 0; i < 6; i++)
        {
            var a = rng.Next(0, 60);
            var b = rng.Next(a + 1, 72);
            var from = start.AddHours(6 * a).ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);
            var to = start.AddHours(6 * b).ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);
            var (status, body, text) = await federation.QueryAsync($$"""
                { "datasets": ["split/t"], "variable": "t", "select": { "time": ["{{from}}", "{{to}}"] },
                  "reduce": { "dims": ["time"], "ops": ["mean", "std", "min", "max", "count"] } }
                """);
            Assert.True(status == HttpStatusCode.OK, $"{from}..{to}: {text}");
            var expected = await federation.XarrayAsync(from, to);
            var data = body.GetProperty("results")[0].GetProperty("data");
            foreach (var op in new[] { "mean", "std", "min", "max", "count" })
            {
                AssertClose(expected.GetProperty(op), data.GetProperty(op), op is "min" or "max" or "count" ? 0 : 1e-6, $"{op} {from}..{to}");
            }
        }
    }

    [Fact]
    public async Task Router_metrics_are_prometheus_text_with_queries_units_bytes_and_latency()
    {
        var (status, _, text) = await federation.QueryAsync("""{ "datasets": ["split/t"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["max"] } }""");
        Assert.True(status == HttpStatusCode.OK, text);
        var metrics = await federation.RouterMetricsAsync();
        foreach (var name in new[]
        {
            "# TYPE proxima_router_queries_total counter", "proxima_router_work_units_total{region=\"us-west-2\"}",
            "proxima_router_bytes_read_total{region=\"us-east-1\"}", "proxima_router_bytes_cross_region_total",
            "# TYPE proxima_router_query_duration_seconds histogram", "proxima_router_query_duration_seconds_bucket{le=\"+Inf\"}",
        })
        {
            Assert.Contains(name, metrics, StringComparison.Ordinal);
        }
    }

    internal static long UnitsSent(string metrics)
    {
        long total = 0;
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith("proxima_router_work_units_total{", StringComparison.Ordinal))
            {
                total += long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return total;
    }

    internal static void AssertClose(JsonElement expected, JsonElement actual, double relative, string what)
    {
        Assert.Equal(expected.GetArrayLength(), actual.GetArrayLength());
        var i = 0;
        foreach (var (e, a) in expected.EnumerateArray().Zip(actual.EnumerateArray()))
        {
            if (e.ValueKind == JsonValueKind.Null)
            {
                Assert.True(a.ValueKind == JsonValueKind.Null, $"{what}[{i}]: expected NaN, got {a}");
            }
            else
            {
                var x = e.GetDouble();
                var y = a.GetDouble();
                Assert.True(Math.Abs(x - y) <= relative * Math.Max(Math.Abs(x), 1e-30),
                    string.Create(CultureInfo.InvariantCulture, $"{what}[{i}]: expected {x:R}, got {y:R}"));
            }

            i++;
        }
    }
}
