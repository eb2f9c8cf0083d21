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
        // 1. One of us-west-2's three workers killed while a query runs: the answer is still exactly xarray's.
        var expected = await federation.XarrayAsync("2001-01-01T00:00:00", "2001-01-18T18:00:00");
        var pidsB = federation.WorkerPids("us-west-2");
        var running = federation.QueryAsync(AllOps);
        Kill(pidsB[0]);
        var (status, body, text) = await running;
        Assert.True(status == HttpStatusCode.OK, text);
        AssertMatches(expected, body);

        // 2. Again with the worker already gone: units for it fail over to the rest of the pool.
        var (again, againBody, againText) = await federation.QueryAsync(AllOps);
        Assert.True(again == HttpStatusCode.OK, againText);
        AssertMatches(expected, againBody);
        // (Whether the dead worker cost a retry or was already skipped as unhealthy after a failed Plan
        // call depends on timing; both keep the answer exact, which is what is asserted.)

        // 3. ap-southeast-2's only worker killed: 503 naming the region...
        Kill(federation.WorkerPids("ap-southeast-2")[0]);
        var sw = Stopwatch.StartNew();
        var (dead, deadBody, deadText) = await federation.QueryAsync(AllOps);
        Assert.True(dead == HttpStatusCode.ServiceUnavailable, deadText);
        Assert.Equal("ap-southeast-2", deadBody.GetProperty("error").GetProperty("region").GetString());
        Assert.Contains("ap-southeast-2", deadBody.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"the dead region was reported after {sw.Elapsed}");

        // 4. ...or, with allow_partial, the rest of the answer marked partial with the missing part.
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
