using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Proxima.Tests.Infrastructure;

namespace Proxima.FunctionalTests.Federation;

/// <summary>
/// The three-region federation with two 60 x 80 maps in us-west-2 (pool of 3): <c>pool/t</c>, and
/// <c>poolkill/t</c> whose shares worker-us-west-2-1 holds for 60 s (cancellably) when a coordinator sends
/// them, never units from the router, so a test can SIGKILL a peer in the middle of a coordinator's fan-out.
/// </summary>
public class PoolMergeFederationFixture : FederationFixtureBase
{
    protected override double LatencyMs => 2;

    protected override IReadOnlyDictionary<string, string>? Environment => HoldShares;

    /// <summary>worker-us-west-2-1 holds the shares of <c>poolkill/t</c> a coordinator sends it (60 s, cancellably).</summary>
    protected static Dictionary<string, string> HoldShares => new()
    {
        ["PROXIMA_FAULT_DELAY_MS"] = "60000",
        ["PROXIMA_FAULT_WORKER"] = "worker-us-west-2-1",
        ["PROXIMA_FAULT_DATASET"] = "poolkill/t",
        ["PROXIMA_FAULT_SHARES_ONLY"] = "1",
    };

    /// <summary>xarray's answer (per op, over time) for both maps.</summary>
    public JsonElement Answer { get; private set; }

    /// <summary>Cells of the map (one partial is 40 bytes a cell on the wire at most).</summary>
    public int Cells { get; private set; }

    /// <summary>Units finished ok per worker of the us-west-2 pool; null for a worker that does not answer (killed).</summary>
    public async Task<List<long?>> WorkerOkAsync()
    {
        var ok = new List<long?>();
        for (var i = 0; i < 3; i++)
        {
            try
            {
                ok.Add(await WorkerMetricAsync($"worker-us-west-2-{i}", "proxima_worker_work_units_total{outcome=\"ok\"}"));
            }
            catch (HttpRequestException)
            {
                ok.Add(null);
            }
        }

        return ok;
    }

    /// <summary>The shares worker-us-west-2-1 runs for a coordinator now (0 once it is killed).</summary>
    public async Task<long> SharesHeldAsync()
    {
        try
        {
            return await WorkerMetricAsync("worker-us-west-2-1", "proxima_worker_shares_running");
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }

    protected override async Task WriteDataAsync()
    {
        await base.WriteDataAsync();
        var answers = TempPath("pool-answers.json");
        await Python.RunAsync(Script("make_pool_data.py"), [DataRoot, answers]);
        using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(answers));
        Answer = doc.RootElement.GetProperty("answer").Clone();
        Cells = doc.RootElement.GetProperty("cells").GetInt32();
    }
}

/// <summary>Region-local merge under real <c>proxima up</c> processes: a map crosses regions once, whatever the pool.</summary>
public sealed class PoolMergeTests(PoolMergeFederationFixture federation) : IClassFixture<PoolMergeFederationFixture>
{
    private const string Region = "us-west-2";
    private static readonly string Units = $"proxima_router_work_units_total{{region=\"{Region}\"}}";
    private static readonly string Retries = $"proxima_router_retries_total{{region=\"{Region}\"}}";

    /// <summary>
    /// mean/std/min/max/count over time of a 4,800-cell map on the pool of 3: xarray's answer, one unit sent
    /// (to a coordinator; the other two workers ran shares), and bytes_cross_region about one partial — within
    /// the goal of 1.2 x the merged partial + 64 KB, where a share per worker would have sent three.
    /// </summary>
    [Fact]
    public async Task A_map_on_a_pool_of_three_is_xarrays_answer_and_crosses_regions_as_one_partial()
    {
        var unitsBefore = PrometheusText.Value(await federation.RouterMetricsAsync(), Units);
        var okBefore = await federation.WorkerOkAsync();
        var (status, body, text) = await federation.QueryAsync(AllOps("pool/t"));
        Assert.True(status == HttpStatusCode.OK, text);
        AssertXarray(body);

        Assert.Equal(1, PrometheusText.Value(await federation.RouterMetricsAsync(), Units) - unitsBefore);
        var okAfter = await federation.WorkerOkAsync();
        AssertMergedInRegion(okBefore, okAfter, body, federation.Cells);
    }

    /// <summary>
    /// The pool merged a map in-region: each live worker worked on it once (the coordinator's unit, the peers' shares;
    /// a worker another test killed is skipped, its share ran elsewhere), all 8 chunks, and bytes across regions about
    /// one partial of <paramref name="cells"/> cells, within the goal of 1.2 x the merged partial + 64 KB.
    /// </summary>
    internal static void AssertMergedInRegion(List<long?> okBefore, List<long?> okAfter, JsonElement body, int cells)
    {
        for (var i = 0; i < okAfter.Count; i++)
        {
            if (okAfter[i] is { } after && okBefore[i] is { } before)
            {
                Assert.True(after - before == 1, $"worker-{Region}-{i} finished {after - before} unit(s)");
            }
        }

        var stats = body.GetProperty("stats");
        Assert.Equal(8, stats.GetProperty("regions").GetProperty(Region).GetProperty("chunks").GetInt64());
        var crossed = stats.GetProperty("bytes_cross_region").GetInt64();
        var partial = 40L * cells;
        Assert.True(crossed <= 1.2 * partial + 64 * 1024, $"{crossed} bytes crossed; goal <= 1.2 x {partial} + 64 KB");
        Assert.True(crossed >= partial / 2, $"{crossed} bytes crossed for a {partial}-byte partial");
    }

    /// <summary>
    /// A peer SIGKILLed while it holds its share of a coordinator's fan-out: the coordinator runs the share
    /// itself, in-region, and the answer is still exactly xarray's, with no retry at the router.
    /// </summary>
    [Fact]
    public async Task A_peer_killed_during_the_coordinators_fan_out_leaves_the_answer_exact()
    {
        var retriesBefore = PrometheusText.Value(await federation.RouterMetricsAsync(), Retries);
        Task<(HttpStatusCode Status, JsonElement Body, string Text)>? held = null;

        // The router picks coordinators round-robin: when worker 1 happens to coordinate, no share is held
        // (the query answers at once, still exactly); the next query has another coordinator.
        for (var attempt = 0; attempt < 3 && held is null; attempt++)
        {
            var running = federation.QueryAsync(AllOps("poolkill/t"));
            await Poll.UntilAsync(async () => running.IsCompleted || await federation.SharesHeldAsync() >= 1, "a share held on worker-us-west-2-1, or the answer", TimeSpan.FromSeconds(60));
            if (running.IsCompleted)
            {
                var (s, b, t) = await running;
                Assert.True(s == HttpStatusCode.OK, t);
                AssertXarray(b);
                continue;
            }

            held = running;
        }

        Assert.NotNull(held);
        Kill(federation.WorkerPids(Region)[1]);
        var (status, body, text) = await held;
        Assert.True(status == HttpStatusCode.OK, text);
        AssertXarray(body);
        Assert.Equal(8, body.GetProperty("stats").GetProperty("regions").GetProperty(Region).GetProperty("chunks").GetInt64());
        Assert.Equal(retriesBefore, PrometheusText.Value(await federation.RouterMetricsAsync(), Retries));

        // With the peer gone for good, the next map still answers exactly (its share runs on the coordinator or the other peer).
        var (again, againBody, againText) = await federation.QueryAsync(AllOps("pool/t"));
        Assert.True(again == HttpStatusCode.OK, againText);
        AssertXarray(againBody);
    }

    internal static string AllOps(string dataset) =>
        $$"""{ "datasets": ["{{dataset}}"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean", "std", "min", "max", "count"] } }""";

    private void AssertXarray(JsonElement body) => AssertXarray(federation.Answer, body);

    /// <summary>mean/std to 1e-6 relative, min/max/count exactly: xarray's <paramref name="answer"/>.</summary>
    internal static void AssertXarray(JsonElement answer, JsonElement body)
    {
        var data = body.GetProperty("results")[0].GetProperty("data");
        foreach (var op in new[] { "mean", "std", "min", "max", "count" })
        {
            SplitDatasetTests.AssertClose(answer.GetProperty(op), data.GetProperty(op), op is "min" or "max" or "count" ? 0 : 1e-6, op);
        }
    }

    internal static void Kill(int pid)
    {
        using var process = Process.GetProcessById(pid);
        process.Kill(); // SIGKILL on Unix
        process.WaitForExit();
    }
}
