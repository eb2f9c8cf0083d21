using System.Globalization;
using System.Net;
using System.Text;
using Xunit.Abstractions;

namespace Proxima.FunctionalTests.Federation;

/// <summary>No leaked threads, file handles or memory in the router and the workers after 1,000 queries.</summary>
[Collection(FederationCollection.Name)]
public sealed class ResourceTests(FederationFixture federation, ITestOutputHelper output)
{
    private const int Queries = 1000;
    private const double Tolerance = 0.10;

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task After_1000_queries_threads_handles_and_rss_are_back_within_10_percent()
    {
        var processes = new List<(string Name, int Pid)> { ("router", federation.RouterPid) };
        foreach (var (region, _) in FederationFixtureBase.Regions)
        {
            processes.AddRange(federation.WorkerPids(region).Select((pid, i) => ($"worker-{region}-{i}", pid)));
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(90) };
        // Warm-up with the same mix until, two rounds of 200 queries in a row, no RSS grows by more than 2%
        // (at most 8 rounds): JIT tiers, pools, caches, the GC's budget and the thread pool reach their working
        // size. One calm round was not enough at load 20-35: the workers of a pool of 3, which get a third of
        // their region's units each, warmed up slower and still grew 10.4-11% over the measured 1,000.
        var start = processes.Select(p => ProcResources.Read(p.Pid)).ToList();
        var warmUp = 0;
        for (var calm = 0; calm < 2 && warmUp < 8 * 200; warmUp += 200)
        {
            await RunMixAsync(http, 200, seed: warmUp);
            await WaitIdleAsync();
            var now = processes.Select(p => ProcResources.Read(p.Pid)).ToList();
            var grew = warmUp == 0 || now.Zip(start).Any(x => x.First.RssKb > x.Second.RssKb * 1.02);
            calm = grew ? 0 : calm + 1;
            start = now;
        }

        var outcomes = await RunMixAsync(http, Queries, seed: -1);
        await WaitIdleAsync();

        // Settling (idle thread-pool threads retire, the GC trims) is polled with a bound, never slept on.
        var end = new List<ProcResources>();
        var settled = false;
        var poll = System.Diagnostics.Stopwatch.StartNew();
        while (!settled && poll.Elapsed < TimeSpan.FromSeconds(60))
        {
            end = processes.Select(p => ProcResources.Read(p.Pid)).ToList();
            settled = start.Zip(end).All(x => x.Second.Within(x.First, Tolerance));
            if (!settled)
            {
                await Task.Delay(250);
            }
        }

        var report = new StringBuilder();
        report.Append(CultureInfo.InvariantCulture, $"after {warmUp} warm-up queries, {Queries} queries ({string.Join(", ", outcomes.Select(o => $"{o.Key}: {o.Value}"))}), settled after {poll.Elapsed.TotalSeconds:0.0} s; load average {File.ReadAllText("/proc/loadavg").Trim()}\n");
        for (var i = 0; i < processes.Count; i++)
        {
            report.Append(CultureInfo.InvariantCulture, $"  {processes[i].Name,-26} threads {start[i].Threads,4} -> {end[i].Threads,4}   fds {start[i].Handles,4} -> {end[i].Handles,4}   RSS {start[i].RssKb / 1024.0,7:0.0} -> {end[i].RssKb / 1024.0,7:0.0} MiB\n");
        }

        output.WriteLine(report.ToString());
        Assert.True(settled, "not back within 10% of the start:\n" + report);
    }

    /// <summary>
    /// <paramref name="count"/> queries, 4 at a time: answered reductions and subsets, 400s (unknown dataset,
    /// unknown op), 403s (ACL), 504s (deadline on the slow dataset) and queries the client cancels mid-flight.
    /// Every outcome must be the expected one.
    /// </summary>
    private async Task<SortedDictionary<string, int>> RunMixAsync(HttpClient http, int count, int seed)
    {
        var outcomes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var rng = new Random(seed);
        var kinds = Enumerable.Range(0, count).Select(_ => rng.Next(100)).ToList();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) =>
        {
            var (kind, expected, json, token) = Query(kinds[i], i);
            HttpStatusCode status;
            string text;
            if (kind == "cancelled")
            {
                // slow/t's units are held 30 s on the workers: a cancel after 100 ms always lands mid-query.
                using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => federation.QueryAsync(http, json, token, cancel.Token));
                status = expected;
                text = "";
            }
            else
            {
                (status, _, text) = await federation.QueryAsync(http, json, token, ct);
            }

            Assert.True(status == expected, $"query {i} ({kind}): expected {expected}, got {status}: {text}");
            lock (outcomes)
            {
                outcomes[kind] = outcomes.GetValueOrDefault(kind) + 1;
            }
        });
        return outcomes;
    }

    private static (string Kind, HttpStatusCode Expected, string Json, string? Token) Query(int roll, int i)
    {
        var from = new DateTime(2001, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddHours(6 * (i % 60));
        var window = $"\"{from:yyyy-MM-ddTHH:mm:ss}\", \"{from.AddHours(6 * (1 + (i % 11))):yyyy-MM-ddTHH:mm:ss}\"";
        return roll switch
        {
            < 55 => ("reduce", HttpStatusCode.OK, $$"""{ "datasets": ["split/t"], "variable": "t", "select": { "time": [{{window}}] }, "reduce": { "dims": ["time"], "ops": ["mean", "std", "max"] } }""", ""),
            < 70 => ("subset", HttpStatusCode.OK, $$"""{ "datasets": ["split/t"], "variable": "t", "select": { "time": [{{window}}], "lat": [0, 30], "lon": [0, 90] } }""", ""),
            < 78 => ("unknown dataset", HttpStatusCode.BadRequest, """{ "datasets": ["no/such"], "variable": "t" }""", ""),
            < 84 => ("unknown op", HttpStatusCode.BadRequest, """{ "datasets": ["split/t"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["median"] } }""", ""),
            < 88 => ("forbidden", HttpStatusCode.Forbidden, """{ "datasets": ["secret/s"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean"] } }""", FederationFixtureBase.OtherToken),
            < 94 => ("deadline", HttpStatusCode.GatewayTimeout, """{ "datasets": ["slow/t"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean"] }, "deadline_ms": 150 }""", ""),
            _ => ("cancelled", HttpStatusCode.OK, """{ "datasets": ["slow/t"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean"] } }""", ""),
        };
    }

    /// <summary>Waits until no work unit runs on any worker (cancelled ones included).</summary>
    private Task WaitIdleAsync() => Poll.UntilAsync(async () =>
    {
        foreach (var (region, _) in FederationFixtureBase.Regions)
        {
            foreach (var url in federation.WorkerMetricsUrls(region))
            {
                using var http = new HttpClient();
                if (PrometheusText.Value(await http.GetStringAsync(url), "proxima_worker_units_running") != 0)
                {
                    return false;
                }
            }
        }

        return true;
    }, "every worker idle");
}

/// <summary>A process's threads, open file descriptors and resident memory, from /proc.</summary>
internal readonly record struct ProcResources(int Threads, int Handles, long RssKb)
{
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public static ProcResources Read(int pid)
    {
        int threads = 0;
        long rss = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                threads = int.Parse(line.AsSpan(8).Trim(), CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
            }
        }

        return new ProcResources(threads, Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length, rss);
    }

    /// <summary>Not more than <paramref name="tolerance"/> above <paramref name="start"/> in any of the three.</summary>
    public bool Within(ProcResources start, double tolerance) =>
        Threads <= start.Threads * (1 + tolerance) && Handles <= start.Handles * (1 + tolerance) && RssKb <= start.RssKb * (1 + tolerance);
}
