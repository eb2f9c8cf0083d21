using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Proxima.Cli.Local;
using Proxima.Protocol;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;

namespace Proxima.Benchmarks;

/// <summary>
/// Federation costs on a real local federation (router, worker pool, link emulator):
/// (1) bytes crossing regions, counted by the link emulator, against bytes the workers read, for mean+std
/// over time of one large dataset (goal: ≤ 1.2 × merged partials + 64 KB per region, ≥ 200× less than read)
/// at every pool size (a map on a pool of 2+ goes to one coordinator worker, which merges its pool's shares
/// in-region, so the bytes crossed do not grow with the pool; pools of 2 and 4 run again with
/// <c>--no-region-local-merge</c>, a share per worker crossing, as the comparison);
/// (2) the same query with 1, 2 and 4 workers in the region (one share of the chunk list per worker), and at
/// 1 worker next to the floor: the same work unit sent straight to the worker over the same emulated link,
/// bypassing the router's HTTP front, planning, fan-out and merge, decoded, finalised and encoded by the
/// router's own code (goal: ≤ 5% overhead at 1 worker), in interleaved pairs.
/// Usage: <c>federation [MB=256] [runs=5]</c> (runs per pool size; pairs per answer kind at 1 worker).
/// </summary>
internal static class FederationBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var megabytes = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 256;
        var runs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        var root = Directory.CreateTempSubdirectory("proxima-bench-fed-").FullName;
        try
        {
            var data = Path.Combine(root, "data");
            var (nt, ny, nx) = (Math.Max(24, megabytes * 1024 * 1024 / (181 * 360 * 4)), 181, 360);
            Console.WriteLine($"federation: writing a {nt}x{ny}x{nx} float32 Zarr (~{(long)nt * ny * nx * 4 / (1 << 20)} MB raw) with xarray...");
            await PythonAsync("""
                import sys, numpy as np, pandas as pd, xarray as xr
                out, nt, ny, nx = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
                rng = np.random.default_rng(1)
                data = (280 + 10 * rng.standard_normal((nt, ny, nx), dtype="float32")).astype("float32")
                ds = xr.Dataset({"t2m": (("time", "latitude", "longitude"), data)},
                                coords={"time": pd.date_range("2000-01-01", periods=nt, freq="h"),
                                        "latitude": np.linspace(90, -90, ny), "longitude": np.arange(nx, dtype="float64")})
                ds.to_zarr(out, mode="w", encoding={"t2m": {"chunks": (24, ny, nx)}})
                """, Path.Combine(data, "us-east-1", "bench", "t2m.zarr"), nt.ToString(CultureInfo.InvariantCulture), ny.ToString(CultureInfo.InvariantCulture), nx.ToString(CultureInfo.InvariantCulture));

            const string Query = """{ "datasets": ["bench/t2m"], "variable": "t2m", "reduce": { "dims": ["time"], "ops": ["mean", "std"] } }""";
            Console.WriteLine($"query: mean+std over time; {runs} runs per pool size after one warm-up; link 40 ms one-way, unlimited bandwidth; {Environment.ProcessorCount} cores; load average {LoadAverage()}");
            Console.WriteLine("(timings on a shared machine: the load average is printed with each figure)");
            Console.WriteLine("(mode: merged = a pool of 2+ merges the map in-region at a coordinator; shares = --no-region-local-merge, one share per worker crossing, for comparison)");
            Console.WriteLine($"{"workers",7} {"mode",7} {"units",6} {"p50 ms",9} {"min ms",9} {"vs 1",6} {"read MB",9} {"crossed KB",11} {"partials KB",12} {"read/crossed",13} {"load",6}");
            double? single = null;
            foreach (var (workers, merged) in new[] { (1, true), (2, true), (2, false), (4, true), (4, false) })
            {
                var r = await RunPoolAsync(root, data, workers, Query, runs, merged);
                single ??= r.P50;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{workers,7} {(merged ? "merged" : "shares"),7} {r.Units,6} {r.P50,9:0.0} {r.Min,9:0.0} {r.P50 / single.Value,5:0.00}x {r.BytesRead / 1048576.0,9:0.0} {r.CrossedPerQuery / 1024.0,11:0.0} {r.PartialBytes / 1024.0,12:0.0} {r.BytesRead / (double)r.CrossedPerQuery,12:0}x {r.Load,6}"));
                Console.WriteLine($"        router phases, median of {runs}: {r.Phases}");
                var goal = 1.2 * r.PartialBytes + 64 * 1024;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {workers} worker(s), {(merged ? "merged in-region" : "shares (comparison)")}: bytes read {r.BytesRead}, bytes crossed per query {r.CrossedPerQuery} vs goal <= 1.2 x merged partials ({r.PartialBytes}) + 64 KB = {goal:0}: {(r.CrossedPerQuery <= goal ? "met" : "NOT met")}; read/crossed {r.BytesRead / (double)r.CrossedPerQuery:0}x (goal >= 200x)"));
                Console.Write(r.FanOut);
            }

            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <param name="FanOut">At 1 worker: the router-vs-floor report (empty otherwise).</param>
    private sealed record PoolResult(int Units, double P50, double Min, long BytesRead, long CrossedPerQuery, long PartialBytes, string Phases, string Load, string FanOut);

    private static async Task<PoolResult> RunPoolAsync(string root, string data, int workers, string query, int runs, bool merged)
    {
        var config = Path.Combine(root, $"variables-{workers}.json");
        await File.WriteAllTextAsync(config, $$"""
            { "client": { "region": "eu-west-2", "cidr": "10.0.0.0/16" },
              "workers": [ { "region": "us-east-1", "cidr": "10.1.0.0/16", "dataset": "s3://bench", "lustreFileSystemPath": "bench", "workers": {{workers}} } ] }
            """);
        using var loggers = ConsoleLogging.Create(LogLevel.Warning);
        var state = new StateDirectory(Path.Combine(root, $"state-{workers}-{(merged ? "merged" : "shares")}"));
        var options = new LocalFederationOptions
        {
            ConfigPath = config,
            DataRoot = data,
            State = state,
            Link = new LinkSettings { Latency = TimeSpan.FromMilliseconds(40), BitsPerSecond = 0 },
            RouterArguments = merged ? [] : ["--no-region-local-merge"],
        };
        await using var federation = await LocalFederation.StartAsync(options, loggers, CancellationToken.None);
        await CatalogSyncRunner.SyncRegionAsync(state, "us-east-1", Path.Combine(data, "us-east-1"), loggers, progress: null, CancellationToken.None);
        using var http = new HttpClient { BaseAddress = new Uri(federation.Running!.RouterUrl), Timeout = TimeSpan.FromMinutes(10) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(federation.TokenPath)).Trim());
        var routerLog = Path.Combine(state.LogsDirectory, "router.log");

        (await RouterOnceAsync(http, query)).Answer.Dispose(); // warm-up: JIT, metadata caches, TLS connections
        var unitsBefore = await UnitsAsync(http);
        var crossedBefore = Crossed(federation);
        var times = new double[runs];
        long bytesRead = 0;
        long partialBytes = 0;
        var load = LoadAverage();
        for (var i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            var (doc, _, _) = await RouterOnceAsync(http, query);
            using var answer = doc;
            times[i] = sw.Elapsed.TotalMilliseconds;
            bytesRead = answer.RootElement.GetProperty("stats").GetProperty("regions").GetProperty("us-east-1").GetProperty("bytes_read").GetInt64();
            var cells = 1L;
            foreach (var n in answer.RootElement.GetProperty("results")[0].GetProperty("shape").EnumerateArray())
            {
                cells *= n.GetInt64();
            }

            // The merged partial on the wire: count (int64) + sum, M2, min, max (double) per cell.
            partialBytes = cells * 40;
        }

        load += " -> " + LoadAverage();
        var crossed = (Crossed(federation) - crossedBefore) / runs;
        var units = (int)((await UnitsAsync(http) - unitsBefore) / runs);
        var phases = await RouterPhases.ReadAsync(routerLog, runs, map: true);
        Array.Sort(times);
        var fanOut = "";
        if (workers == 1)
        {
            await using var catalog = await Catalog.Sqlite.SqliteCatalog.OpenAsync(state.CatalogPath);
            fanOut = await FanOutAsync(federation, http, (await catalog.GetDatasetAsync("bench/t2m"))[0], query, runs, routerLog);
        }

        return new PoolResult(units, times[runs / 2], times[0], bytesRead, crossed, partialBytes, phases, load, fanOut);
    }

    /// <summary>
    /// The fan-out's overhead at 1 worker: router runs and floor runs interleaved in pairs whose order
    /// alternates (router first, then floor first, ...), so drift in the machine's load and the page cache
    /// hit both sides alike; for a map answer and a scalar one (the same reduction over every dim: what
    /// the router adds beyond a big answer). One warm-up pair of each is not counted.
    /// </summary>
    private static async Task<string> FanOutAsync(LocalFederation federation, HttpClient http, Catalog.DatasetDocument dataset, string query, int pairs, string routerLog)
    {
        var scalar = query.Replace("\"dims\": [\"time\"]", "\"dims\": [\"time\", \"latitude\", \"longitude\"]", StringComparison.Ordinal);
        var worker = federation.Running!.Workers[0];
        using var client = new GrpcClient(new Uri(worker.LinkUrl), new GrpcClientOptions
        {
            HttpHandler = RegionalWorker.WorkerCertificates.CreateRouterHandler(federation.CertificatesDirectory),
            MaxReceiveMessageSize = 256 * 1024 * 1024,
        });
        (await RouterOnceAsync(http, query)).Answer.Dispose();
        var mapBytes = LastBodyBytes;
        var map = new Comparison(pairs);
        var one = new Comparison(pairs);
        var load = LoadAverage();
        for (var i = -1; i < pairs; i++)
        {
            var routerFirst = (i & 1) != 0;
            foreach (var (spec, c, name) in new[] { (query, map, "map"), (scalar, one, "scalar") })
            {
                Sample r = default, f = default;
                if (routerFirst)
                {
                    r = await RouterSampleAsync(http, spec);
                }

                f = await FloorOnceAsync(client, dataset, spec, $"{name}-{i + 1}");
                if (!routerFirst)
                {
                    r = await RouterSampleAsync(http, spec);
                }

                if (i >= 0)
                {
                    c.Add(i, r, f);
                }
            }
        }

        load += " -> " + LoadAverage();
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"  fan-out at 1 worker: {pairs} interleaved router/floor pairs per answer (order alternating per pair, one warm-up pair not counted), load average {load}");
        text.AppendLine("    router = POST /v1/query until the response headers: HTTP request, auth, parse, catalog, plan, the unit over the link (mTLS), decode, completeness check, merge, finalise, JSON encoded into the response (sent with the headers; moving the body to the client is not counted)");
        text.AppendLine("    floor  = the same unit (same spec, dataset fingerprint) straight to the worker over the same link (mTLS), its partial decoded, finalised and JSON-encoded by the same router code into a null sink");
        text.Append(map.Report($"map answer (mean+std over time, {mapBytes / 1048576.0:0.0} MB JSON)"));
        text.Append(one.Report("scalar answer (mean+std over all dims)"));
        text.AppendLine(CultureInfo.InvariantCulture, $"    router phases of the map runs, median of {pairs}: {await RouterPhases.ReadAsync(routerLog, pairs, map: true)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"    router phases of the scalar runs, median of {pairs}: {await RouterPhases.ReadAsync(routerLog, pairs, map: false)}");
        return text.ToString();
    }

    /// <summary>One timed run: total ms, and the worker's own time on the unit (from the partial's stats).</summary>
    private readonly record struct Sample(double Ms, double WorkerMs);

    /// <summary>Router and floor samples of one answer kind, paired by run.</summary>
    private sealed class Comparison(int pairs)
    {
        private readonly Sample[] _router = new Sample[pairs];
        private readonly Sample[] _floor = new Sample[pairs];

        public void Add(int i, Sample router, Sample floor) => (_router[i], _floor[i]) = (router, floor);

        public string Report(string title)
        {
            var ratios = new double[pairs];
            var added = new double[pairs];
            var adjusted = new double[pairs];
            for (var i = 0; i < pairs; i++)
            {
                ratios[i] = _router[i].Ms / _floor[i].Ms;
                added[i] = (_router[i].Ms - _router[i].WorkerMs) - (_floor[i].Ms - _floor[i].WorkerMs);

                // The router's run against a floor that had the same worker time: its own unit time plus the floor's time beyond it.
                adjusted[i] = _router[i].Ms / (_router[i].Ms - added[i]);
            }

            Array.Sort(adjusted);

            var (router, floor) = (Pick(_router, static s => s.Ms), Pick(_floor, static s => s.Ms));
            var (routerBeyond, floorBeyond) = (Pick(_router, static s => s.Ms - s.WorkerMs), Pick(_floor, static s => s.Ms - s.WorkerMs));
            var (routerWorker, floorWorker) = (Pick(_router, static s => s.WorkerMs), Pick(_floor, static s => s.WorkerMs));
            var ratio = Median(router) / Median(floor);
            Array.Sort(ratios);
            Array.Sort(added);
            return string.Create(CultureInfo.InvariantCulture, $"""
                    {title}:
                      router median {Median(router):0.0} ms, min {router[0]:0.0} ms; floor median {Median(floor):0.0} ms, min {floor[0]:0.0} ms
                      ratio of medians {ratio:0.000}x (goal <= 1.05x: {(ratio <= 1.05 ? "met" : "NOT met")}), ratio of mins {router[0] / floor[0]:0.000}x; per-pair ratio median {Median(ratios):0.000}x, quartiles {Quantile(ratios, 0.25):0.000}x..{Quantile(ratios, 0.75):0.000}x, range {ratios[0]:0.000}x..{ratios[^1]:0.000}x
                      the worker's own unit time (its stats): median {Median(routerWorker):0.0} ms in router runs, {Median(floorWorker):0.0} ms in floor runs; everything beyond it: router {Median(routerBeyond):0.0} ms, floor {Median(floorBeyond):0.0} ms
                      -> the fan-out adds (per pair, router's beyond-the-worker time minus the floor's) median {Median(added):0.0} ms = {100 * Median(added) / Median(floor):0.0}% of the floor's median (quartiles {Quantile(added, 0.25):0.0}..{Quantile(added, 0.75):0.0} ms): the compute noise of a loaded machine taken out
                      -> as a ratio, router / (the same worker time + the floor's time beyond it), per pair: median {Median(adjusted):0.000}x, quartiles {Quantile(adjusted, 0.25):0.000}x..{Quantile(adjusted, 0.75):0.000}x (goal <= 1.05x: {(Median(adjusted) <= 1.05 ? "met" : "NOT met")})

                """);
        }

        private static double[] Pick(Sample[] samples, Func<Sample, double> value)
        {
            var values = new double[samples.Length];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = value(samples[i]);
            }

            Array.Sort(values);
            return values;
        }
    }

    private static double Median(double[] sorted) => Quantile(sorted, 0.5);

    /// <summary>Linear-interpolated quantile of a sorted array.</summary>
    private static double Quantile(double[] sorted, double q)
    {
        var at = q * (sorted.Length - 1);
        var lo = (int)Math.Floor(at);
        var hi = Math.Min(sorted.Length - 1, lo + 1);
        return sorted[lo] + ((at - lo) * (sorted[hi] - sorted[lo]));
    }

    private static string LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }
        catch (IOException)
        {
            return "?";
        }
    }

    /// <summary>The router's own per-phase timings from its log (one line per answered query, one per written answer).</summary>
    private static class RouterPhases
    {
        private static readonly System.Text.RegularExpressions.Regex Answered = new(
            @"answered in (?<total>[0-9.]+) ms \(parse\+plan (?<plan>[0-9.]+), dispatch (?<dispatch>[0-9.]+), merge\+finalise (?<merge>[0-9.]+)\)", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

        private static readonly System.Text.RegularExpressions.Regex Written = new(@"encoded and written in (?<ms>[0-9.]+) ms \((?<bytes>[0-9]+) bytes", System.Text.RegularExpressions.RegexOptions.CultureInvariant);

        /// <summary>
        /// Medians over the last <paramref name="count"/> map answers (or scalar ones: under 100 kB of JSON). The
        /// router's log reaches the file a little after the answer, so it is read until those lines are there.
        /// </summary>
        public static async Task<string> ReadAsync(string log, int count, bool map)
        {
            var rows = new List<double[]>();
            for (var attempt = 0; attempt < 50; attempt++)
            {
                rows.Clear();
                double[]? last = null;
                foreach (var line in File.ReadLines(log))
                {
                    if (Answered.Match(line) is { Success: true } a)
                    {
                        last = [Parse(a, "plan"), Parse(a, "dispatch"), Parse(a, "merge"), double.NaN];
                    }
                    else if (Written.Match(line) is { Success: true } w && last is not null)
                    {
                        last[3] = Parse(w, "ms");
                        if (Parse(w, "bytes") >= 100_000 == map)
                        {
                            rows.Add(last);
                        }

                        last = null;
                    }
                }

                if (rows.Count >= count)
                {
                    break;
                }

                await Task.Delay(100);
            }

            var first = rows.Count - count;
            if (first < 0)
            {
                return "(router log incomplete)";
            }

            var phases = new double[4][];
            for (var p = 0; p < 4; p++)
            {
                phases[p] = new double[count];
                for (var k = 0; k < count; k++)
                {
                    phases[p][k] = rows[first + k][p];
                }

                Array.Sort(phases[p]);
            }

            return string.Create(CultureInfo.InvariantCulture,
                $"parse+plan {Median(phases[0]):0.0} ms, dispatch {Median(phases[1]):0.0} ms, merge+finalise {Median(phases[2]):0.0} ms, encode+write {Median(phases[3]):0.0} ms");
        }

        private static double Parse(System.Text.RegularExpressions.Match m, string group) => double.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The floor for the fan-out: the unit the router would send (the same spec, the catalog's fingerprint so the
    /// worker's metadata cache is used alike) straight to the only worker through its emulated link (mTLS as the
    /// router does), its partial decoded, finalised and encoded by the router's own JSON writer into a null sink.
    /// </summary>
    private static async Task<Sample> FloorOnceAsync(GrpcClient client, Catalog.DatasetDocument dataset, string query, string unitId)
    {
        var sw = Stopwatch.StartNew();
        var spec = Compute.Query.QuerySpecParser.Parse(Encoding.UTF8.GetBytes(query));
        var unit = new WorkUnit
        {
            QueryId = "bench-floor",
            UnitId = unitId,
            Dataset = dataset.Id,
            Path = dataset.Uri,
            SpecJson = Google.Protobuf.ByteString.CopyFrom(Compute.Query.QuerySpecWriter.ToUtf8(spec)),
            AllChunks = true,
            Fingerprint = dataset.Fingerprint,
        };
        PartialResult? partial = null;
        await foreach (var e in client.ServerStreamingAsync(ProximaMethods.WorkerExecute, unit, new GrpcCallOptions(Deadline: DateTime.UtcNow.AddMinutes(10)), CancellationToken.None))
        {
            partial = e.EventCase == WorkerEvent.EventOneofCase.Partial ? e.Partial : partial;
        }

        if (partial is null)
        {
            throw new InvalidOperationException("the worker answered the floor's unit without a partial result");
        }

        var result = QueryRouter.ResultAssembly.Answer([partial], spec, []);
        var stats = new QueryStats();
        stats.Regions["us-east-1"] = new RegionStats { Chunks = partial.Stats.Chunks, BytesRead = partial.Stats.BytesRead, Ms = partial.Stats.Ms };
        var sink = System.IO.Pipelines.PipeWriter.Create(Stream.Null);
        QueryRouter.ResultAssembly.WriteJson(new QueryRouter.QueryAnswer(spec, [result], stats), sink);
        await sink.FlushAsync();
        await sink.CompleteAsync();
        return new Sample(sw.Elapsed.TotalMilliseconds, partial.Stats.Ms);
    }

    private static async Task<Sample> RouterSampleAsync(HttpClient http, string query)
    {
        var (answer, headersMs, _) = await RouterOnceAsync(http, query);
        using (answer)
        {
            return new Sample(headersMs, answer.RootElement.GetProperty("stats").GetProperty("regions").GetProperty("us-east-1").GetProperty("ms").GetDouble());
        }
    }

    private static long Crossed(LocalFederation federation)
    {
        long total = 0;
        foreach (var link in federation.Links)
        {
            total += link.BytesForward + link.BytesBackward;
        }

        return total;
    }

    private static async Task<long> UnitsAsync(HttpClient http)
    {
        long total = 0;
        foreach (var line in (await http.GetStringAsync("metrics")).Split('\n'))
        {
            if (line.StartsWith("proxima_router_work_units_total{", StringComparison.Ordinal))
            {
                total += long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return total;
    }

    private static long LastBodyBytes { get; set; }

    /// <summary>Posts a query; returns the parsed answer, when the response headers arrived and when the body had (ms).</summary>
    private static async Task<(JsonDocument Answer, double HeadersMs, double BodyMs)> RouterOnceAsync(HttpClient http, string query)
    {
        var clock = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/query") { Content = new StringContent(query, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var headersMs = clock.Elapsed.TotalMilliseconds;
        var body = await response.Content.ReadAsByteArrayAsync();
        var bodyMs = clock.Elapsed.TotalMilliseconds;
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"query failed: {(int)response.StatusCode} {Encoding.UTF8.GetString(body)}");
        }

        LastBodyBytes = body.Length;
        return (JsonDocument.Parse(body), headersMs, bodyMs);
    }

    private static async Task PythonAsync(string code, params string[] args)
    {
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(code);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException("python failed: " + await stderr);
        }
    }
}
