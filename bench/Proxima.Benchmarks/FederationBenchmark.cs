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
/// over time of one large dataset (goal: ≤ 1.2 × merged partials + 64 KB per region, ≥ 200× less than read);
/// (2) the same query with 1, 2 and 4 workers in the region (chunk-range work units spread over the pool),
/// next to the floor: one work unit for the whole dataset sent straight to the worker over the same
/// emulated link, bypassing the router's planning, fan-out and merge (goal: ≤ 5% overhead at 1 worker).
/// Usage: <c>federation [MB=256] [runs=5]</c>.
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
            Console.WriteLine($"query: mean+std over time; {runs} runs per pool size after one warm-up; link 40 ms one-way, unlimited bandwidth; {Environment.ProcessorCount} cores");
            Console.WriteLine($"{"workers",7} {"units",6} {"p50 ms",9} {"min ms",9} {"read MB",9} {"crossed KB",11} {"partials KB",12} {"read/crossed",13}");
            double? baseline = null;
            foreach (var workers in new[] { 1, 2, 4 })
            {
                var r = await RunPoolAsync(root, data, workers, Query, runs);
                baseline ??= r.P50;
                var partialsKb = r.PartialBytes / 1024.0;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{workers,7} {r.Units,6} {r.P50,9:0.0} {r.Min,9:0.0} {r.BytesRead / 1048576.0,9:0.0} {r.CrossedPerQuery / 1024.0,11:0.0} {partialsKb,12:0.0} {r.BytesRead / (double)r.CrossedPerQuery,12:0}x"));
                if (workers == 1)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  fan-out at 1 worker, map answer ({LastBodyBytes / 1048576.0:0.0} MB JSON), interleaved runs: via router, answer encoded (response headers) p50 {r.HeadersP50:0.0} ms vs one unit straight to the worker over the same link, decoded, finalised and encoded the same way {r.DirectP50:0.0} ms = {r.HeadersP50 / r.DirectP50:0.000}x (goal <= 1.05x: {(r.HeadersP50 <= 1.05 * r.DirectP50 ? "met" : "NOT met")})"));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"    the whole router answer with the HTTP body moved to and parsed by the client: p50 {r.InterleavedP50:0.0} ms = {r.InterleavedP50 / r.DirectP50:0.000}x the direct unit"));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  fan-out at 1 worker, scalar answer (mean+std over all dims), interleaved runs: via router {r.ScalarP50:0.0} ms vs direct {r.ScalarDirectP50:0.0} ms = {r.ScalarP50 / r.ScalarDirectP50:0.000}x (goal <= 1.05x: {(r.ScalarP50 <= 1.05 * r.ScalarDirectP50 ? "met" : "NOT met")})"));
                    var goal = 1.2 * r.PartialBytes + 64 * 1024;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  bytes crossed per query {r.CrossedPerQuery} vs goal <= 1.2 x partials ({r.PartialBytes}) + 64 KB = {goal:0}: {(r.CrossedPerQuery <= goal ? "met" : "NOT met")}; read/crossed {r.BytesRead / (double)r.CrossedPerQuery:0}x (goal >= 200x)"));
                }
            }

            _ = baseline;
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <param name="HeadersP50">When the router's response headers arrived: it sends them with the first body write, after
    /// merging, finalising and encoding the whole answer — the rest of <paramref name="P50"/> is moving and parsing that body.</param>
    private sealed record PoolResult(int Units, double P50, double Min, long BytesRead, long CrossedPerQuery, long PartialBytes, double DirectP50, double ScalarP50, double ScalarDirectP50, double HeadersP50 = double.NaN)
    {
        /// <summary>At 1 worker: the router's map answer p50 in the runs interleaved with the direct ones.</summary>
        public double InterleavedP50 { get; init; } = double.NaN;
    }

    private static async Task<PoolResult> RunPoolAsync(string root, string data, int workers, string query, int runs)
    {
        var config = Path.Combine(root, $"variables-{workers}.json");
        await File.WriteAllTextAsync(config, $$"""
            { "client": { "region": "eu-west-2", "cidr": "10.0.0.0/16" },
              "workers": [ { "region": "us-east-1", "cidr": "10.1.0.0/16", "dataset": "s3://bench", "lustreFileSystemPath": "bench", "workers": {{workers}} } ] }
            """);
        using var loggers = ConsoleLogging.Create(LogLevel.Warning);
        var state = new StateDirectory(Path.Combine(root, $"state-{workers}"));
        var options = new LocalFederationOptions
        {
            ConfigPath = config,
            DataRoot = data,
            State = state,
            Link = new LinkSettings { Latency = TimeSpan.FromMilliseconds(40), BitsPerSecond = 0 },
        };
        await using var federation = await LocalFederation.StartAsync(options, loggers, CancellationToken.None);
        await CatalogSyncRunner.SyncRegionAsync(state, "us-east-1", Path.Combine(data, "us-east-1"), loggers, progress: null, CancellationToken.None);
        using var http = new HttpClient { BaseAddress = new Uri(federation.Running!.RouterUrl), Timeout = TimeSpan.FromMinutes(10) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(federation.TokenPath)).Trim());

        await PostAsync(http, query); // warm-up: JIT, metadata caches, TLS connections
        var unitsBefore = await UnitsAsync(http);
        var crossedBefore = Crossed(federation);
        var times = new double[runs];
        var headers = new double[runs];
        long bytesRead = 0;
        long partialBytes = 0;
        for (var i = 0; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            var (answer, headersAt) = await PostTimedAsync(http, query, sw);
            using var doc = answer;
            times[i] = sw.Elapsed.TotalMilliseconds;
            headers[i] = headersAt;
            bytesRead = doc.RootElement.GetProperty("stats").GetProperty("regions").GetProperty("us-east-1").GetProperty("bytes_read").GetInt64();
            var cells = 1L;
            foreach (var n in doc.RootElement.GetProperty("results")[0].GetProperty("shape").EnumerateArray())
            {
                cells *= n.GetInt64();
            }

            // The merged partial on the wire: count (int64) + sum, M2, min, max (double) per cell.
            partialBytes = cells * 40;
        }

        var crossed = (Crossed(federation) - crossedBefore) / runs;
        var units = (int)((await UnitsAsync(http) - unitsBefore) / runs);
        Array.Sort(times);
        Array.Sort(headers);
        if (workers != 1)
        {
            return new PoolResult(units, times[runs / 2], times[0], bytesRead, crossed, partialBytes, double.NaN, double.NaN, double.NaN);
        }

        // At 1 worker, router and direct runs alternate (map, direct map, scalar, direct scalar) so that the
        // machine's load and the page cache hit both sides alike. The same reduction over every dim answers
        // one number: what the router adds beyond a big answer.
        var scalar = query.Replace("\"dims\": [\"time\"]", "\"dims\": [\"time\", \"latitude\", \"longitude\"]", StringComparison.Ordinal);
        var worker = federation.Running!.Workers[0];
        using var client = new GrpcClient(new Uri(worker.LinkUrl), new GrpcClientOptions { HttpHandler = RegionalWorker.WorkerCertificates.CreateRouterHandler(federation.CertificatesDirectory) });
        var (mapTimes, mapHeaders, mapDirect) = (new double[runs], new double[runs], new double[runs]);
        var (scalarTimes, scalarDirect) = (new double[runs], new double[runs]);
        for (var i = -1; i < runs; i++)
        {
            var sw = Stopwatch.StartNew();
            var (answer, headersAt) = await PostTimedAsync(http, query, sw);
            answer.Dispose();
            var mapMs = sw.Elapsed.TotalMilliseconds;
            var direct = await DirectOnceAsync(client, query, $"map-{i + 1}");
            sw.Restart();
            (await PostAsync(http, scalar)).Dispose();
            var scalarMs = sw.Elapsed.TotalMilliseconds;
            var scalarDirectMs = await DirectOnceAsync(client, scalar, $"scalar-{i + 1}");
            if (i >= 0)
            {
                (mapTimes[i], mapHeaders[i], mapDirect[i], scalarTimes[i], scalarDirect[i]) = (mapMs, headersAt, direct, scalarMs, scalarDirectMs);
            }
        }

        PrintRouterBreakdown(Path.Combine(state.LogsDirectory, "router.log"), runs);
        return new PoolResult(units, times[runs / 2], times[0], bytesRead, crossed, partialBytes,
            Median(mapDirect), Median(scalarTimes), Median(scalarDirect), Median(mapHeaders))
        {
            InterleavedP50 = Median(mapTimes),
        };
    }

    private static double Median(double[] values)
    {
        Array.Sort(values);
        return values[values.Length / 2];
    }

    /// <summary>
    /// The router's own per-phase timings from its log (one line per query and per written answer), for
    /// the interleaved runs at 1 worker: the map query and the scalar one alternate after the first runs.
    /// </summary>
    private static void PrintRouterBreakdown(string log, int runs)
    {
        var lines = new List<string>();
        foreach (var line in File.ReadLines(log))
        {
            var at = line.IndexOf(" answered in ", StringComparison.Ordinal);
            if (at >= 0)
            {
                lines.Add(line[(at + 1)..]);
            }
            else if (line.IndexOf("encoded and written in ", StringComparison.Ordinal) is var w and >= 0 && lines.Count > 0)
            {
                lines[^1] += "; " + line[w..];
            }
        }

        // The last 2 × runs queries are the timed interleaved ones: map, scalar, map, scalar, ...
        for (var i = Math.Max(0, lines.Count - (2 * runs)); i < lines.Count; i++)
        {
            Console.WriteLine($"    router log: {lines[i]}");
        }
    }

    /// <summary>
    /// The floor for the fan-out: the whole dataset as one work unit sent straight to the only worker through
    /// its emulated link (mTLS as the router does), its partial decoded, finalised and encoded as the same JSON
    /// answer the router writes (into memory: no HTTP hop to a client, no client-side parsing).
    /// </summary>
    private static async Task<double> DirectOnceAsync(GrpcClient client, string query, string unitId)
    {
        var spec = Compute.Query.QuerySpecParser.Parse(Encoding.UTF8.GetBytes(query));
        var unit = new WorkUnit
        {
            QueryId = "bench-direct",
            UnitId = unitId,
            Dataset = "bench/t2m",
            Path = "bench/t2m.zarr",
            SpecJson = Google.Protobuf.ByteString.CopyFromUtf8(query),
            AllChunks = true,
        };
        var sw = Stopwatch.StartNew();
        PartialResult? partial = null;
        await foreach (var e in client.ServerStreamingAsync(ProximaMethods.WorkerExecute, unit, new GrpcCallOptions(Deadline: DateTime.UtcNow.AddMinutes(10)), CancellationToken.None))
        {
            partial = e.EventCase == WorkerEvent.EventOneofCase.Partial ? e.Partial : partial;
        }

        if (partial is null)
        {
            throw new InvalidOperationException("the worker answered the direct unit without a partial result");
        }

        var result = QueryRouter.ResultAssembly.Answer([partial], spec, []);
        var (body, _) = QueryRouter.ResultAssembly.Encode(new QueryRouter.QueryAnswer(spec, [result], new QueryStats()));
        GC.KeepAlive(body);
        return sw.Elapsed.TotalMilliseconds;
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

    /// <summary>Posts a query; also returns when the response headers arrived (ms on <paramref name="clock"/>).</summary>
    private static async Task<(JsonDocument Answer, double HeadersMs)> PostTimedAsync(HttpClient http, string query, Stopwatch clock)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/query") { Content = new StringContent(query, Encoding.UTF8, "application/json") };
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var headersMs = clock.Elapsed.TotalMilliseconds;
        var body = await response.Content.ReadAsByteArrayAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"query failed: {(int)response.StatusCode} {Encoding.UTF8.GetString(body)}");
        }

        LastBodyBytes = body.Length;
        return (JsonDocument.Parse(body), headersMs);
    }

    private static async Task<JsonDocument> PostAsync(HttpClient http, string query)
    {
        using var response = await http.PostAsync("v1/query", new StringContent(query, Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsByteArrayAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"query failed: {(int)response.StatusCode} {Encoding.UTF8.GetString(body)}");
        }

        return JsonDocument.Parse(body);
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
