using System.Net;

namespace Proxima.FunctionalTests.Federation;

/// <summary>
/// A real <c>proxima up</c> whose one region has a pool of 2 workers that each run at most one work
/// unit and queue none (<c>PROXIMA_MAX_UNITS=1</c>, <c>PROXIMA_MAX_QUEUED_UNITS=0</c>), and hold every
/// unit of <c>slow/t</c> for 300 ms: concurrent queries ask for far more units than there are slots.
/// </summary>
public sealed class AdmissionFederationFixture : FederationFixtureBase
{
    protected override double LatencyMs => 2;

    protected override IReadOnlyList<(string Region, int Workers)> Topology { get; } = [("us-east-1", 2)];

    protected override IReadOnlyDictionary<string, string>? Environment { get; } = new Dictionary<string, string>
    {
        ["PROXIMA_MAX_UNITS"] = "1",
        ["PROXIMA_MAX_QUEUED_UNITS"] = "0",
        ["PROXIMA_FAULT_DELAY_MS"] = "300",
        ["PROXIMA_FAULT_DATASET"] = "slow/t",
    };
}

public sealed class AdmissionTests(AdmissionFederationFixture federation) : IClassFixture<AdmissionFederationFixture>
{
    [Fact]
    public async Task Units_over_the_workers_limit_are_refused_and_retried_until_they_run_and_every_answer_equals_xarray()
    {
        const int Queries = 6;
        var expected = await federation.XarrayAsync("2001-01-01T00:00:00", "2001-01-18T18:00:00");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(90) };
        var queries = new List<Task<(HttpStatusCode Status, System.Text.Json.JsonElement Body, string Text)>>();
        for (var i = 0; i < Queries; i++)
        {
            queries.Add(federation.QueryAsync(http, """
                { "datasets": ["slow/t"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean", "std", "min", "max", "count"] } }
                """, "", CancellationToken.None));
        }

        foreach (var (status, body, text) in await Task.WhenAll(queries))
        {
            Assert.True(status == HttpStatusCode.OK, text);
            var data = body.GetProperty("results")[0].GetProperty("data");
            foreach (var op in new[] { "mean", "std", "min", "max", "count" })
            {
                SplitDatasetTests.AssertClose(expected.GetProperty(op), data.GetProperty(op), op is "min" or "max" or "count" ? 0 : 1e-6, op);
            }
        }

        // Each query's units (one per worker) met full workers: they were refused, not run beside another unit.
        long refused = 0;
        foreach (var worker in new[] { "worker-us-east-1-0", "worker-us-east-1-1" })
        {
            Assert.Equal(1, await federation.WorkerMetricAsync(worker, "proxima_worker_units_running_peak"));
            refused += await federation.WorkerMetricAsync(worker, "proxima_worker_work_units_total{outcome=\"refused\"}");
        }

        Assert.True(refused > 0, "no unit was refused: the queries did not overlap");
        Assert.True(PrometheusText.Value(await federation.RouterMetricsAsync(), "proxima_router_retries_total{region=\"us-east-1\"}") >= refused);
    }
}
