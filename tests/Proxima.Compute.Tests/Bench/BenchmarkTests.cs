using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Proxima.Arrays;
using Proxima.Arrays.Storage;
using Proxima.Compute.Execution;
using Proxima.Compute.Query;
using Xunit.Abstractions;

namespace Proxima.Compute.Tests.Bench;

/// <summary>
/// Side-by-side timings against xarray+Dask and libblosc on a ~1 GB ERA5-like store, and the peak memory of the
/// same query over a ~3 GB store (opt-in: set <c>PROXIMA_BENCH=1</c>; <c>PROXIMA_BENCH_DIR</c> keeps the stores
/// between runs, default /tmp/proxima-bench; <c>PROXIMA_BENCH_NT</c> time steps of the 1 GB store, default 1008).
/// Not a pass/fail test of speed: it checks our answer equals Dask's and prints the figures; the 3 GB run checks
/// the 600 MB peak.
/// </summary>
[Collection(BenchmarkCollection.Name)]
public sealed class BenchmarkTests(ITestOutputHelper output)
{
    internal const string MeanStd = """{"datasets":["b"],"variable":"t2m","reduce":{"dims":["time"],"ops":["mean","std"]}}""";
    private static readonly string Script = Path.Combine(AppContext.BaseDirectory, "Bench", "bench.py");
    private static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(300);

    /// <summary>Runs bench.py; null when it did not finish within <see cref="PeerTimeout"/> (its process tree is killed).</summary>
    private static async Task<JsonElement?> Python(params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3", [Script, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var textTask = p.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(PeerTimeout);
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
            return null;
        }

        var text = await textTask;
        Assert.True(p.ExitCode == 0, await err);
        var last = text.Trim().Split('\n')[^1];
        return JsonDocument.Parse(last).RootElement.Clone();
    }

    /// <summary>The storage keys of the bench store's t2m chunks.</summary>
    internal static List<string> ChunkKeys(string dir)
    {
        var keys = new List<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(dir, "era5_bench.zarr", "t2m")))
        {
            if (!Path.GetFileName(f).StartsWith('.'))
            {
                keys.Add("era5_bench.zarr/t2m/" + Path.GetFileName(f));
            }
        }

        return keys;
    }

    private void Report(string line) => BenchEnvironment.Report(output, line);

    [Fact]
    public async Task Mean_std_over_time_against_xarray_dask_and_libblosc()
    {
        if (!BenchEnvironment.Enabled)
        {
            return;
        }

        var dir = BenchEnvironment.Dir;
        Directory.CreateDirectory(dir);
        await Python("gen", dir, Environment.GetEnvironmentVariable("PROXIMA_BENCH_NT") ?? "1008");
        var storage = new PosixStorage(dir);
        using var ds = await GridDataset.OpenAsync(storage, "era5_bench.zarr");
        var v = ds["t2m"];
        var decodedBytes = v.ElementCount * 4;
        var chunkBytes = v.ChunkElementCount * 4;
        const int InFlight = 2;

        // The chunks' bytes, and a serial storage pass (page cache warm: the second of two passes).
        var keys = ChunkKeys(dir);

        var chunks = new byte[keys.Count][];
        for (var i = 0; i < keys.Count; i++)
        {
            using var owner = (await storage.ReadAsync(keys[i], 0, null, long.MaxValue, CancellationToken.None))!;
            chunks[i] = owner.Memory.ToArray();
        }

        // Storage alone (IStorage.ReadAsync into its pooled buffer, page cache warm), best of 3 serial passes.
        var storageS = double.MaxValue;
        for (var pass = 0; pass < 3; pass++)
        {
            var sw = Stopwatch.StartNew();
            foreach (var key in keys)
            {
                using var owner = await storage.ReadAsync(key, 0, null, long.MaxValue, CancellationToken.None);
            }

            storageS = Math.Min(storageS, sw.Elapsed.TotalSeconds);
        }

        long compressed = 0;
        foreach (var c in chunks)
        {
            compressed += c.Length;
        }

        // libblosc alone: best of 3 for each thread layout.
        double rawPar = double.MaxValue, rawSerial1 = double.MaxValue, rawSerial2 = double.MaxValue;
        for (var i = 0; i < 3; i++)
        {
            rawPar = Math.Min(rawPar, RawBlosc.ChunkParallel(chunks, chunkBytes, InFlight));
            rawSerial1 = Math.Min(rawSerial1, RawBlosc.ChunkSerial(chunks, chunkBytes, 1));
            rawSerial2 = Math.Min(rawSerial2, RawBlosc.ChunkSerial(chunks, chunkBytes, InFlight));
        }

        var rawLoad = BenchEnvironment.LoadAverages();

        async Task<(double Seconds, PartialResult Result, ExecutionTimings Timings)> Ours(string json, ExecutionOptions? options = null)
        {
            var spec = QuerySpecParser.Parse(json);
            var best = double.MaxValue;
            ExecutionTimings? bestTimings = null;

            // Three untimed runs first (see QueryBenchmarks.Ours: the first queries of a fresh host run slow).
            PartialResult r = null!;
            for (var i = 0; i < 3; i++)
            {
                r = await QueryExecutor.ExecuteAsync(ds, "era5_bench", spec, options: options ?? new ExecutionOptions { MaxChunksInFlight = InFlight });
            }

            for (var i = 0; i < 3; i++)
            {
                var timings = new ExecutionTimings();
                var sw = Stopwatch.StartNew();
                r = await QueryExecutor.ExecuteAsync(ds, "era5_bench", spec, options: (options ?? new ExecutionOptions { MaxChunksInFlight = InFlight }) with { Timings = timings });
                var s = sw.Elapsed.TotalSeconds;
                if (s < best)
                {
                    best = s;
                    bestTimings = timings;
                }
            }

            return (best, r, bestTimings!);
        }

        var (ours, result, t) = await Ours(MeanStd);
        var oursLoad = BenchEnvironment.LoadAverages();
        var n = (double)t.Chunks;
        var perChunk = (TimeSpan x) => x.TotalMilliseconds / n;
        var storageMs = storageS * 1000 / chunks.Length;

        // The default layout: InFlight chunks at a time, one thread each, each decoded and reduced in pieces
        // (ExecutionOptions.PieceBytes); libblosc alone in the same thread layout is InFlight chunks at a time.
        var defaults = new ExecutionOptions();
        var raw = rawPar;
        var bestRaw = Math.Min(rawPar, rawSerial2);
        var layout = $"{InFlight} chunks at a time, 1 thread each, in {defaults.PieceBytes / (double)(1 << 20):0.##} MiB pieces";

        // Phase times are thread ms summed over the chunks in flight; the decompress reference is libblosc alone in
        // the same layout, per chunk, in the same unit.
        var bloscMs = raw * 1000 * InFlight / chunks.Length;
        var busy = t.Read + t.Gather + t.Kernel + t.Merge;
        var available = ours * 1000 * InFlight / n;
        Report($"mean+std over time: {decodedBytes / 1e9:F2} GB decoded float32 ({compressed / 1e9:F2} GB Blosc-lz4, {chunks.Length} chunks of {chunkBytes / 1e6:F1} MB), {Environment.ProcessorCount} cores, {InFlight} threads");
        Report($"  proxima ({layout}) {ours:F3} s  {decodedBytes / 1e9 / ours:F2} GB/s decompressed  ({oursLoad})");
        Report($"  libblosc raw, {InFlight} chunks at a time x 1 blosc thread (our layout) {rawPar:F3} s  {decodedBytes / 1e9 / rawPar:F2} GB/s  -> proxima / raw = {ours / rawPar:F2}");
        Report($"  libblosc raw, 1 chunk at a time x {InFlight} blosc threads {rawSerial2:F3} s  {decodedBytes / 1e9 / rawSerial2:F2} GB/s  -> proxima / raw = {ours / rawSerial2:F2}");
        Report($"  libblosc raw, 1 thread {rawSerial1:F3} s  {decodedBytes / 1e9 / rawSerial1:F2} GB/s  ({rawLoad})");
        Report($"  -> proxima / libblosc raw in the same layout = {ours / raw:F2}, / the faster raw layout = {ours / bestRaw:F2} (goal <= 1.3)");
        Report($"  per chunk, ms summed over the {InFlight} threads:");
        Report($"    read+decompress+decode {perChunk(t.Read):F2}  = storage read ~{storageMs:F2} (1 thread, serial pass; a mapped read is the map and its page-table prefault) + libblosc decompress ~{bloscMs:F2} (same layout, into a whole-chunk buffer) + rest {perChunk(t.Read) - storageMs - bloscMs:F2}");
        Report($"    gather {perChunk(t.Gather):F2}   kernel (fused with the merge into the output on the column path) {perChunk(t.Kernel):F2}   separate merge {perChunk(t.Merge):F2}");
        Report($"    busy {perChunk(busy):F2} of {available:F2} available -> scheduling/idle {available - perChunk(busy):F2}");

        // One thread for comparison, and whole chunks (no pieces) in both layouts.
        var (one, _, t1) = await Ours(MeanStd, new ExecutionOptions { MaxChunksInFlight = 1 });
        Report($"  1 thread: {one:F3} s; per chunk read+decompress+decode {perChunk(t1.Read):F2} ms, kernel {perChunk(t1.Kernel):F2} ms  ({BenchEnvironment.LoadAverages()})");
        var (whole, _, _) = await Ours(MeanStd, new ExecutionOptions { MaxChunksInFlight = InFlight, PieceBytes = 0 });
        var (wholeOne, _, _) = await Ours(MeanStd, new ExecutionOptions { MaxChunksInFlight = InFlight, PieceBytes = 0, CacheBytes = 0 });
        Report($"  whole chunks (PieceBytes = 0): {InFlight} at a time {whole:F3} s, 1 at a time x {InFlight} threads (CacheBytes = 0) {wholeOne:F3} s  ({BenchEnvironment.LoadAverages()})");

        var blosc = await Python("run", dir, "blosc");
        Report($"  numcodecs Blosc (python, 1 chunk at a time x 2 blosc threads) {Seconds(blosc)}");
        var threaded = await Python("run", dir, "threaded");
        var threadedLoad = BenchEnvironment.LoadAverages();
        var cluster = await Python("run", dir, "cluster");
        var clusterLoad = BenchEnvironment.LoadAverages();
        var final = QueryFinalizer.Finalize(result, QuerySpecParser.Parse(MeanStd));
        Assert.NotNull(threaded);
        Assert.Equal(threaded.Value.GetProperty("first_mean").GetDouble(), final.Data[0].Value[0], 1e-3);
        Assert.Equal(threaded.Value.GetProperty("first_std").GetDouble(), final.Data[1].Value[0], 1e-3);
        var threadedS = threaded.Value.GetProperty("seconds").GetDouble();
        var clusterS = cluster?.GetProperty("seconds").GetDouble();
        var dask = clusterS is double cs ? Math.Min(threadedS, cs) : threadedS;
        Report($"  xarray+dask threaded (2 threads, {threaded.Value.GetProperty("tasks_chunks").GetInt32()} chunks) {threadedS:F3} s  ({threadedLoad})");
        Report(cluster is { } c2
            ? $"  xarray+dask LocalCluster(2 processes x 1 thread) {clusterS:F3} s, start-up + warm-up {c2.GetProperty("startup_seconds").GetDouble():F1} s not counted  ({clusterLoad})"
            : $"  xarray+dask LocalCluster(2 processes x 1 thread) did not finish in {PeerTimeout.TotalSeconds:F0} s (killed)  ({clusterLoad})");
        Report($"  -> proxima is {dask / ours:F2}x faster than the faster Dask (goal >= 3)");
    }

    private static string Seconds(JsonElement? e) =>
        e is { } x ? x.GetProperty("seconds").GetDouble().ToString("F3", CultureInfo.InvariantCulture) + " s" : $"did not finish in {PeerTimeout.TotalSeconds:F0} s";

    /// <summary>
    /// Mean+std over time of a ~3 GB store in a fresh child test host (only this query runs there, with the worker's
    /// default chunks in flight): its peak resident set (VmHWM) must stay under 600 MB.
    /// </summary>
    [Fact]
    public async Task Peak_memory_of_mean_std_over_time_of_a_3_GB_store_stays_under_600_MB()
    {
        if (!BenchEnvironment.Enabled || Environment.GetEnvironmentVariable("PROXIMA_BENCH_PEAK_STORE") is not null)
        {
            return;
        }

        var dir = Path.Combine(BenchEnvironment.Dir, "3gb");
        Directory.CreateDirectory(dir);
        var gen = Stopwatch.StartNew();
        await Python("gen", dir, Environment.GetEnvironmentVariable("PROXIMA_BENCH_NT_3GB") ?? "3024");
        Report($"3 GB store ready in {gen.Elapsed.TotalSeconds:F0} s");
        var result = Path.Combine(dir, "peak.json");
        File.Delete(result);
        var psi = new ProcessStartInfo("dotnet", ["test", typeof(BenchmarkTests).Assembly.Location, "--filter", "FullyQualifiedName~PeakMemoryChild", "--logger", "console;verbosity=minimal"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment["PROXIMA_BENCH_PEAK_STORE"] = dir;
        psi.Environment["PROXIMA_BENCH_PEAK_OUT"] = result;
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, await stdout + await stderr);
        using var doc = JsonDocument.Parse(File.ReadAllText(result));
        var r = doc.RootElement;
        var peak = r.GetProperty("hwm_after_mb").GetDouble();
        Report($"mean+std over time of {r.GetProperty("decoded_gb").GetDouble():F2} GB ({r.GetProperty("chunks").GetInt32()} chunks of {r.GetProperty("chunk_mb").GetDouble():F1} MB, {r.GetProperty("in_flight").GetInt32()} in flight, output {r.GetProperty("output_mb").GetDouble():F1} MB of accumulators): {r.GetProperty("seconds").GetDouble():F2} s");
        Report($"  peak RSS (VmHWM) of the child test host {peak:F0} MB (goal < 600); before the query {r.GetProperty("hwm_before_mb").GetDouble():F0} MB, so the query added {peak - r.GetProperty("hwm_before_mb").GetDouble():F0} MB; managed heap peak-ish {r.GetProperty("gc_mb").GetDouble():F0} MB  ({BenchEnvironment.LoadAverages()})");
        Assert.True(peak < 600, $"peak RSS {peak:F0} MB");
    }

    /// <summary>The child side of the peak-memory benchmark (does nothing unless the parent started it).</summary>
    [Fact]
    public async Task PeakMemoryChild()
    {
        if (Environment.GetEnvironmentVariable("PROXIMA_BENCH_PEAK_STORE") is not { } dir)
        {
            return;
        }

        using var ds = await GridDataset.OpenAsync(new PosixStorage(dir), "era5_bench.zarr");
        var v = ds["t2m"];
        var options = new ExecutionOptions();
        var before = Hwm();
        var sw = Stopwatch.StartNew();
        var r = await QueryExecutor.ExecuteAsync(ds, "era5_bench", QuerySpecParser.Parse(MeanStd), options: options);
        var seconds = sw.Elapsed.TotalSeconds;
        var after = Hwm();
        var json = JsonSerializer.Serialize(new Dictionary<string, double>
        {
            ["hwm_before_mb"] = before,
            ["hwm_after_mb"] = after,
            ["seconds"] = seconds,
            ["decoded_gb"] = v.ElementCount * 4 / 1e9,
            ["chunks"] = r.ChunksDone,
            ["chunk_mb"] = v.ChunkElementCount * 4 / 1e6,
            ["in_flight"] = options.MaxChunksInFlight,
            ["output_mb"] = r.Count!.Length * 5 * 8 / 1e6,
            ["gc_mb"] = GC.GetGCMemoryInfo().HeapSizeBytes / 1e6,
        });
        File.WriteAllText(Environment.GetEnvironmentVariable("PROXIMA_BENCH_PEAK_OUT")!, json);
    }

    private static double Hwm()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return double.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) / 1024;
            }
        }

        return double.NaN;
    }
}
