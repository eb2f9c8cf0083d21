using System.Diagnostics;
using System.Net;

namespace Proxima.FunctionalTests.Federation;

/// <summary>Workers SIGKILLed under a real federation: retries on the pool, 503 naming the region, partial answers.</summary>
public sealed class FailureTests(FailureFederationFixture federation) : IClassFixture<FailureFederationFixture>
{
    private const string AllOps = """{ "datasets": ["split/t"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean", "std", "min", "max", "count"] } }""";

    [Fact]
    public async Task Killed_workers_are_retried_on_the_pool_then_a_dead_region_is_503_or_partial()
    {
        // 1. A large query (960 chunks over two regions) with one of us-west-2's three workers SIGKILLed while
        //    it holds its unit (it reported the unit running): the unit is retried on the pool and the
        //    answer is still exactly xarray's.
        var retriesBefore = await RetriesAsync("us-west-2");
        var running = federation.QueryAsync(AllOpsOf("big/t"));
        await UnitsRunningAsync("worker-us-west-2-0", 1);
        Assert.False(running.IsCompleted, "the query waited for the held unit");
        Kill(federation.WorkerPids("us-west-2")[0]);
        var (status, body, text) = await running;
        Assert.True(status == HttpStatusCode.OK, text);
        AssertMatches(federation.Answers.GetProperty("big/t"), body);
        Assert.True(await RetriesAsync("us-west-2") > retriesBefore, "the killed worker's unit was retried");

        // 2. Again with the worker already gone: units for it fail over to the rest of the pool.
        var expected = await federation.XarrayAsync("2001-01-01T00:00:00", "2001-01-18T18:00:00");
        var (again, againBody, againText) = await federation.QueryAsync(AllOps);
        Assert.True(again == HttpStatusCode.OK, againText);
        AssertMatches(expected, againBody);
        // (Whether the dead worker cost a retry or was already skipped as unhealthy after a failed Plan
        // call depends on timing; both keep the answer exact, which is what is asserted.)

        // 3. ap-southeast-2's only worker SIGKILLed while it holds units of two queries: the one that does
        //    not allow partial answers is 503 naming the region; the other is the us-east-1 part, marked partial.
        var strict = federation.QueryAsync(AllOpsOf("edge/t"));
        var lenient = federation.QueryAsync(AllOpsOf("edge/t", allowPartial: true));
        await UnitsRunningAsync("worker-ap-southeast-2-0", 2);
        Kill(federation.WorkerPids("ap-southeast-2")[0]);
        var (strictStatus, strictBody, strictText) = await strict;
        Assert.True(strictStatus == HttpStatusCode.ServiceUnavailable, strictText);
        Assert.Equal("ap-southeast-2", strictBody.GetProperty("error").GetProperty("region").GetString());
        var (lenientStatus, lenientBody, lenientText) = await lenient;
        Assert.True(lenientStatus == HttpStatusCode.OK, lenientText);
        var edge = lenientBody.GetProperty("results")[0];
        Assert.True(edge.GetProperty("partial").GetBoolean());
        Assert.StartsWith("ap-southeast-2", Assert.Single(edge.GetProperty("missing").EnumerateArray()).GetString(), StringComparison.Ordinal);
        AssertMatches(federation.Answers.GetProperty("edge/t us-east-1"), lenientBody);

        // 4. With the region already dead: 503 naming it...
        var sw = Stopwatch.StartNew();
        var (dead, deadBody, deadText) = await federation.QueryAsync(AllOps);
        Assert.True(dead == HttpStatusCode.ServiceUnavailable, deadText);
        Assert.Equal("ap-southeast-2", deadBody.GetProperty("error").GetProperty("region").GetString());
        Assert.Contains("ap-southeast-2", deadBody.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"the dead region was reported after {sw.Elapsed}");

        // 5. ...or, with allow_partial, the rest of the answer marked partial with the missing part.
        var (partial, partialBody, partialText) = await federation.QueryAsync("""
            { "datasets": ["split/t"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean", "count"] }, "allow_partial": true }
            """);
        Assert.True(partial == HttpStatusCode.OK, partialText);
        var result = partialBody.GetProperty("results")[0];
        Assert.True(result.GetProperty("partial").GetBoolean());
        var missing = result.GetProperty("missing").EnumerateArray().Select(m => m.GetString()!).ToList();
        Assert.Single(missing);
        Assert.StartsWith("ap-southeast-2", missing[0], StringComparison.Ordinal);
        var withoutC = await federation.XarrayAsync("2001-01-01T00:00:00", "2001-01-14T06:00:00");
        SplitDatasetTests.AssertClose(withoutC.GetProperty("count"), result.GetProperty("data").GetProperty("count"), 0, "count without ap-southeast-2");
        SplitDatasetTests.AssertClose(withoutC.GetProperty("mean"), result.GetProperty("data").GetProperty("mean"), 1e-6, "mean without ap-southeast-2");
    }

    private static string AllOpsOf(string dataset, bool allowPartial = false) =>
        $$"""{ "datasets": ["{{dataset}}"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean", "std", "min", "max", "count"] }, "allow_partial": {{(allowPartial ? "true" : "false")}} }""";

    private async Task<long> RetriesAsync(string region) =>
        PrometheusText.Value(await federation.RouterMetricsAsync(), $"proxima_router_retries_total{{region=\"{region}\"}}");

    /// <summary>Waits until the worker reports at least <paramref name="units"/> units running (its metrics).</summary>
    private Task UnitsRunningAsync(string worker, int units) =>
        Poll.UntilAsync(async () => await federation.WorkerMetricAsync(worker, "proxima_worker_units_running") >= units,
            $"{units} unit(s) running on {worker}", TimeSpan.FromSeconds(30));

    private static void AssertMatches(System.Text.Json.JsonElement expected, System.Text.Json.JsonElement body)
    {
        var data = body.GetProperty("results")[0].GetProperty("data");
        foreach (var op in new[] { "mean", "std", "min", "max", "count" })
        {
            SplitDatasetTests.AssertClose(expected.GetProperty(op), data.GetProperty(op), op is "min" or "max" or "count" ? 0 : 1e-6, op);
        }
    }

    private static void Kill(int pid)
    {
        using var process = Process.GetProcessById(pid);
        process.Kill(); // SIGKILL on Unix
        process.WaitForExit();
    }
}
