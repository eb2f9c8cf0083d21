using System.Globalization;
using System.Net;
using System.Text.Json;
using Proxima.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Proxima.FunctionalTests.Federation;

/// <summary>
/// The duel's process tree: one <c>proxima up</c> with three regions of three running workers each, holding
/// <see cref="Federations"/> random splits of one xarray-made dataset (one python run, which also draws the
/// <see cref="Topologies"/> router topologies over those workers, every shape of 1–3 regions × 1–3 workers
/// among them, and computes xarray's answers).
/// The seed is <c>PROXIMA_DUEL_SEED</c> (default 6) and is printed with every failure.
/// </summary>
public sealed class DuelFixture : FederationFixtureBase
{
    public const int Federations = 200;

    public const int Topologies = 20;

    /// <summary>Running workers per region: the most a topology's pool can hold.</summary>
    public const int WorkersPerRegion = 3;

    public static int Seed { get; } = int.TryParse(System.Environment.GetEnvironmentVariable("PROXIMA_DUEL_SEED"), CultureInfo.InvariantCulture, out var s) ? s : 6;

    protected override double LatencyMs => 2;

    protected override IReadOnlyList<(string Region, int Workers)> Topology { get; } =
        [("us-east-1", WorkersPerRegion), ("us-west-2", WorkersPerRegion), ("ap-southeast-2", WorkersPerRegion)];

    public JsonElement Manifest { get; private set; }

    public IEnumerable<string> AllRegions => Topology.Select(t => t.Region);

    protected override async Task WriteDataAsync()
    {
        var manifest = TempPath("duel-manifest.json");
        await Python.RunAsync(Script("make_duel_data.py"),
            [DataRoot, manifest, Seed.ToString(CultureInfo.InvariantCulture), Federations.ToString(CultureInfo.InvariantCulture),
             Topologies.ToString(CultureInfo.InvariantCulture), string.Join(",", Topology.Select(t => $"{t.Region}:{t.Workers}"))]);
        using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(manifest));
        Manifest = doc.RootElement.Clone();
    }
}

/// <summary>
/// The duel: 200 random federations (1–3 regions, 1–3 workers each, random split points and chunking) give
/// xarray's mean/std/min/max/count on the whole dataset. Each of the random topologies is a real
/// <c>proxima router</c> process pointed (mTLS, through the link emulators) at exactly its pools' workers of
/// the running <c>proxima up</c>, serving its share of the federations; the workers it was not given must
/// see none of its work.
/// </summary>
public sealed class DuelTests(DuelFixture duel, ITestOutputHelper output) : IClassFixture<DuelFixture>
{
    private static readonly string[] Ops = ["mean", "std", "min", "max", "count"];

    [Fact]
    public async Task Random_federations_give_xarrays_answer_on_the_whole_dataset()
    {
        var topologies = duel.Manifest.GetProperty("topologies").EnumerateArray().ToList();
        var federations = duel.Manifest.GetProperty("federations").EnumerateArray().ToList();
        Assert.Equal(DuelFixture.Federations, federations.Count);
        Assert.Equal(DuelFixture.Topologies, topologies.Count);
        // Every shape of 1–3 regions × 1–3 workers (the pool sizes as a multiset, (1) … (3,3,3): 19) is a topology.
        var shapes = topologies.Select(t => string.Join(",", t.EnumerateArray().Select(p => p.GetProperty("workers").GetArrayLength()).Order())).ToHashSet();
        Assert.True(shapes.Count == 19 && topologies.All(t => t.GetArrayLength() <= 3), $"seed {DuelFixture.Seed}: shapes {string.Join(" ", shapes)}");

        // Router t + 1 starts while topology t is queried (its start-up is most of a topology's cost); a
        // router's start-up sends no unit and no plan, so each topology's worker counters stay its own.
        var pools = topologies.Select(Pools).ToList();
        Task<(ProximaProcess Process, Uri Url)>? next = StartRouterAsync(pools[0]);
        try
        {
            for (var t = 0; t < topologies.Count; t++)
            {
                var pending = next!;
                next = null;
                var clock = System.Diagnostics.Stopwatch.StartNew();
                var (router, url) = await pending;
                var waited = clock.Elapsed;
                next = t + 1 < topologies.Count ? StartRouterAsync(pools[t + 1]) : null;
                await using (router)
                {
                    await DuelTopologyAsync(t, pools[t], url, waited, federations.Where(f => f.GetProperty("topology").GetInt32() == t).ToList());
                }
            }
        }
        finally
        {
            // A failed topology leaves the next router starting: stop it (a failure of its own start is secondary).
            if (next is not null && await Task.WhenAny(next) == next && next.IsCompletedSuccessfully)
            {
                await (await next).Process.DisposeAsync();
            }
        }
    }

    private static List<(string Region, List<int> Workers)> Pools(JsonElement topology) =>
        topology.EnumerateArray()
            .Select(p => (p.GetProperty("region").GetString()!, p.GetProperty("workers").EnumerateArray().Select(w => w.GetInt32()).ToList()))
            .ToList();

    /// <summary>A <c>proxima router</c> on the federation's catalog (mTLS) whose pools are exactly these workers, through their links.</summary>
    private async Task<(ProximaProcess Process, Uri Url)> StartRouterAsync(List<(string Region, List<int> Workers)> pools)
    {
        var args = duel.SecondRouterArgs(mutualTls: true);
        var links = duel.RunFile.GetProperty("workers").EnumerateArray()
            .ToDictionary(w => (w.GetProperty("region").GetString()!, w.GetProperty("index").GetInt32()), w => w.GetProperty("linkUrl").GetString()!);
        foreach (var (region, workers) in pools)
        {
            foreach (var w in workers)
            {
                args.AddRange(["--worker", $"{region}={links[(region, w)]}"]);
            }
        }

        var router = ProximaProcess.Start([.. args]);
        try
        {
            using var ready = JsonDocument.Parse(await router.WaitForLineAsync("PROXIMA-READY ", TimeSpan.FromSeconds(60)));
            return (router, new Uri(ready.RootElement.GetProperty("url").GetString()!));
        }
        catch
        {
            await router.DisposeAsync();
            throw;
        }
    }

    /// <summary>One topology: its federations against xarray on its router, then what the workers did.</summary>
    private async Task DuelTopologyAsync(int index, List<(string Region, List<int> Workers)> pools, Uri url, TimeSpan waited, List<JsonElement> federations)
    {
        var what = $"seed {DuelFixture.Seed} (PROXIMA_DUEL_SEED), topology {index} [{string.Join(", ", pools.Select(p => $"{p.Region}: workers {string.Join("/", p.Workers)}"))}]";
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(90) };
        var workersBefore = await WorkerCountersAsync(http);

        // A few queries at once (within the per-client limit of 8): the pools see concurrent plans.
        var answering = new Dictionary<string, int>(StringComparer.Ordinal);
        var multiChunk = new Dictionary<string, int>(StringComparer.Ordinal);
        var chunks = new Dictionary<string, long>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(federations, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (f, ct) =>
        {
            foreach (var part in await DuelAsync(http, url, what, f, ct))
            {
                lock (answering)
                {
                    answering[part.Region] = answering.GetValueOrDefault(part.Region) + 1;
                    multiChunk[part.Region] = multiChunk.GetValueOrDefault(part.Region) + (part.Chunks > 1 ? 1 : 0);
                    chunks[part.Region] = chunks.GetValueOrDefault(part.Region) + part.Chunks;
                }
            }
        });

        var queried = clock.Elapsed;
        var metrics = await http.GetStringAsync(new Uri(url, "metrics"));
        var workersAfter = await WorkerCountersAsync(http);
        var line = new System.Text.StringBuilder(string.Create(CultureInfo.InvariantCulture,
            $"{what}: waited {waited.TotalSeconds:0.0} s for its router, {federations.Count} federations in {queried.TotalSeconds:0.0} s;"));
        foreach (var region in duel.AllRegions)
        {
            var pool = pools.Find(p => p.Region == region).Workers ?? [];
            var units = PrometheusText.Value(metrics, $"proxima_router_work_units_total{{region=\"{region}\"}}");
            var extra = PrometheusText.Value(metrics, $"proxima_router_retries_total{{region=\"{region}\"}}")
                + PrometheusText.Value(metrics, $"proxima_router_hedges_total{{region=\"{region}\"}}");
            var parts = answering.GetValueOrDefault(region);
            var ran = new List<int>();
            long workerChunks = 0;
            for (var w = 0; w < DuelFixture.WorkersPerRegion; w++)
            {
                var (before, after) = (workersBefore[(region, w)], workersAfter[(region, w)]);
                var (ranUnits, plans, read) = (after.Units - before.Units, after.Plans - before.Plans, after.Chunks - before.Chunks);
                if (!pool.Contains(w))
                {
                    // Not in this router's pool: none of its work, not even a Plan.
                    Assert.True(ranUnits == 0 && plans == 0 && read == 0,
                        $"{what}: worker-{region}-{w}, not in the pool, ran {ranUnits} unit(s) and {plans} plan(s) over {read} chunk(s)");
                    continue;
                }

                // Chunks, not units: a worker counts its chunks before it sends the partial, its unit only after.
                if (read > 0)
                {
                    ran.Add(w);
                }

                workerChunks += read;
            }

            var summary = $"{what}: {region} got {units} unit(s) ({extra} retried/hedged) for {parts} answering part(s), workers {string.Join("/", ran)} ran them";
            if (pool.Count > 0)
            {
                line.Append(CultureInfo.InvariantCulture, $" {region} {units} units for {parts} parts on workers {string.Join("/", ran)};");
            }

            Assert.True(units >= parts, summary);
            if (pool.Count > 1 && multiChunk.GetValueOrDefault(region) > 0)
            {
                // A pool of 2+ workers splits a part of 2+ chunks into chunk-range units, spread over the pool.
                Assert.True(units > parts, summary);
                Assert.True(ran.Count >= 2, summary);
            }

            // The workers read every chunk the windows touch in this region's parts, once (hedged or retried units may read some twice).
            var expected = chunks.GetValueOrDefault(region);
            Assert.True(extra > 0 ? workerChunks >= expected : workerChunks == expected, $"{summary}, {workerChunks} chunk(s) read, the windows touch {expected}");
        }

        output.WriteLine(line.ToString());
    }

    /// <summary>One federation's query against xarray; returns each answering part's region and the chunks the window touches there.</summary>
    private async Task<List<(string Region, long Chunks)>> DuelAsync(HttpClient http, Uri router, string topology, JsonElement federation, CancellationToken cancellationToken)
    {
        var spec = federation.GetProperty("spec");
        var what = $"{topology}, federation {federation.GetProperty("federation")} parts {federation.GetProperty("parts")}, query {spec}";
        var (status, body, text) = await duel.QueryAsync(http, router, spec.GetRawText(), "", cancellationToken);
        Assert.True(status == HttpStatusCode.OK, $"{what}: {text}");
        var result = body.GetProperty("results")[0];
        Assert.False(result.GetProperty("partial").GetBoolean(), $"{what}: {text}");
        Assert.Equal(0, result.GetProperty("missing").GetArrayLength());
        var expected = federation.GetProperty("expected");
        foreach (var op in Ops)
        {
            SplitDatasetTests.AssertClose(expected.GetProperty(op), result.GetProperty("data").GetProperty(op), op is "min" or "max" or "count" ? 0 : 1e-6, $"{what}: {op}");
        }

        // Each part the window touches was answered exactly once, whole: its region read exactly the chunks
        // the window touches in that part's chunk grid. No other region answered.
        var regions = body.GetProperty("stats").GetProperty("regions");
        var answering = new List<(string Region, long Chunks)>();
        var holders = new HashSet<string>(StringComparer.Ordinal);
        foreach (var part in federation.GetProperty("parts").EnumerateArray())
        {
            var region = part.GetProperty("region").GetString()!;
            var touched = part.GetProperty("chunks").GetInt64();
            var read = regions.TryGetProperty(region, out var r) ? r.GetProperty("chunks").GetInt64() : 0;
            Assert.True(read == touched, $"{what}: region {region} read {read} chunk(s), the window touches {touched} of its part ({regions})");
            if (touched > 0)
            {
                answering.Add((region, touched));
            }

            holders.Add(region);
        }

        foreach (var region in regions.EnumerateObject())
        {
            Assert.True(holders.Contains(region.Name), $"{what}: region {region.Name} holds no part but answered ({regions})");
        }

        return answering;
    }

    /// <summary>Each running worker's work units (any outcome), Plan calls and chunks processed, by (region, index).</summary>
    private async Task<Dictionary<(string Region, int Index), (long Units, long Plans, long Chunks)>> WorkerCountersAsync(HttpClient http)
    {
        var counters = new Dictionary<(string, int), (long, long, long)>();
        using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(duel.State, "metrics.json")));
        foreach (var region in duel.AllRegions)
        {
            for (var w = 0; w < DuelFixture.WorkersPerRegion; w++)
            {
                var metrics = await http.GetStringAsync(doc.RootElement.GetProperty($"worker-{region}-{w}").GetString());
                counters[(region, w)] = (PrometheusText.Sum(metrics, "proxima_worker_work_units_total"), PrometheusText.Sum(metrics, "proxima_worker_plans_total"),
                    PrometheusText.Sum(metrics, "proxima_worker_chunks_total"));
            }
        }

        return counters;
    }
}
