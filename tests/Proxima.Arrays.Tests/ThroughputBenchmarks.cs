using System.Diagnostics;
using System.Globalization;
using Proxima.Arrays.Codecs;
using Proxima.Arrays.Codecs.Native;
using Proxima.Arrays.Storage;
using Proxima.Arrays.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Proxima.Arrays.Tests;

/// <summary>
/// Benchmarks printed as ratios (README: "Arrays benchmarks"). They assert only sanity, not speed:
/// speed on a shared 2-core machine is reported, not tested.
/// </summary>
[Collection("timing")]
public sealed class ThroughputBenchmarks
{
    private readonly ITestOutputHelper _output;

    public ThroughputBenchmarks(ITestOutputHelper output)
    {
        _output = output;
    }

    private static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    /// <summary>
    /// Whole-array reads of Blosc-lz4 float32 stores, ours interleaved with zarr-python's (medians), in two layouts, PROXIMA_BENCH_LAYOUTS picks (default both):
    /// "contiguous" (8 x 1024 x 1024, chunks 1 x 1024 x 1024: each 4 MiB chunk is one run of the output, so zarr-python
    /// decodes straight into it too) and "era5" (one day of hourly 0.25-degree ERA5, 24 x 721 x 1440, chunks 24 x 181 x
    /// 360 of 6.3 MB, edge chunks padded: not contiguous in the output, the common case).
    /// </summary>
    [BenchFact]
    public async Task Blosc_lz4_float32_decode_throughput_against_libblosc_and_zarr_python()
    {
        foreach (string layout in (Environment.GetEnvironmentVariable("PROXIMA_BENCH_LAYOUTS") ?? "contiguous,era5").Split(','))
        {
            await DecodeThroughputAsync(layout);
        }
    }

    private async Task DecodeThroughputAsync(string layout)
    {
        using var dir = new TempDir();
        // Smooth field + noise, zarr-python defaults (Blosc lz4, clevel 5, shuffle).
        Python.RunCode("""
import sys, numpy as np, zarr
p = sys.argv[1] + "/bench.zarr"
rng = np.random.default_rng(0)
if sys.argv[2] == "contiguous":
    y, x = np.mgrid[0:1024, 0:1024]
    base = (250 + 20 * np.sin(x / 50.0) * np.cos(y / 70.0)).astype("f4")
    z = zarr.open_array(p, mode="w", shape=(8, 1024, 1024), chunks=(1, 1024, 1024), dtype="f4")
    for i in range(8):
        z[i] = base + rng.normal(scale=0.05, size=base.shape).astype("f4")
else:
    y, x = np.mgrid[0:721, 0:1440]
    base = (250 + 40 * np.cos(np.deg2rad(90 - y / 4.0)) + 3 * np.sin(x / 80.0)).astype("f4")
    z = zarr.open_array(p, mode="w", shape=(24, 721, 1440), chunks=(24, 181, 360), dtype="f4")
    for t in range(24):
        z[t] = base + np.float32(8 * np.sin(2 * np.pi * t / 24)) + rng.normal(scale=0.05, size=base.shape).astype("f4")
""", dir.Path, layout);
        string loadBefore = LoadAverage();
        var storage = new PosixStorage(dir.Path);
        using GridDataset ds = await GridDataset.OpenAsync(storage, "bench.zarr");
        using GridDataset rawDs = await GridDataset.OpenAsync(storage, "bench.zarr", new GridDatasetOptions { MaskAndScale = false });
        using var zarrPython = new ZarrPythonTimer(Path.Combine(dir.Path, "bench.zarr"));
        GridVariable v = ds.Variables[0];
        GridVariable rawV = rawDs.Variables[0];
        var keys = new List<string>();
        for (long a = 0; a < v.ChunkGrid[0]; a++)
        {
            for (long b = 0; b < v.ChunkGrid[1]; b++)
            {
                for (long c = 0; c < v.ChunkGrid[2]; c++)
                {
                    keys.Add($"bench.zarr/{a}.{b}.{c}");
                }
            }
        }

        var chunks = new byte[keys.Count][];
        for (int i = 0; i < chunks.Length; i++)
        {
            chunks[i] = (await storage.ReadAllBytesAsync(keys[i], 64L << 20))!;
        }

        int bytes = v.ChunkElementCount * 4;
        var raw = new byte[bytes];
        var codec = new BloscCodec();
        var reused = new float[v.ElementCount];
        Assert.True(BloscFrame.TryParse(chunks[0], out BloscFrame first), "the benchmark's chunks take the managed path");
        var scratch = new byte[first.BlockSize];
        foreach (byte[] c in chunks)
        {
            Assert.Equal(bytes, BloscNative.Decompress(c, raw));
            Assert.Equal(bytes, codec.Decode(c, raw));
        }

        Action[] passes =
        [
            () => LibbloscPass(chunks, raw),
            () =>
            {
                foreach (byte[] c in chunks)
                {
                    codec.Decode(c, raw);
                }
            },
            () => Lz4Pass(chunks, scratch),
            () =>
            {
                foreach (string key in keys)
                {
                    using var owner = storage.ReadAsync(key, 0, null, 64L << 20, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                }
            },
            () => v.ReadAllAsync<float>(CancellationToken.None).AsTask().GetAwaiter().GetResult(),
            () => rawV.ReadAllAsync<float>(CancellationToken.None).AsTask().GetAwaiter().GetResult(),
            () => rawV.ReadRegionAsync<float>(new long[3], [.. rawV.Shape], reused, CancellationToken.None).AsTask().GetAwaiter().GetResult(),
        ];

        // zarr-python's z[...] (default blosc threads, then use_threads=False) runs in the same rounds as ours, each
        // timed inside its own process: every round runs all paths in a fresh random order, so load swings hit both
        // sides alike; figures are medians over the rounds (minimum in brackets).
        double[][] samples = Interleave(passes, [() => zarrPython.Time(threads: true), () => zarrPython.Time(threads: false)], Rounds(), out double[][] cpu);
        double[] median = [.. samples.Select(Median)];
        double[] min = [.. samples.Select(x => x.Min())];
        const int Libblosc = 0, CodecPath = 1, Lz4 = 2, FileReads = 3, WholeArray = 4, WholeRaw = 5, WholeReused = 6, PyThreaded = 7, PySingle = 8;
        int ourThreads = Math.Min(GridDatasetOptions.Default.MaxConcurrency, Environment.ProcessorCount);
        int pyThreads = zarrPython.Threads;

        // Chunk MB decoded (padding included) for the codec lines; the array's MB for whole-array reads.
        double mb = (double)chunks.Length * bytes / 1e6;
        double arrayMb = v.ElementCount * 4.0 / 1e6;
        string shape = string.Join("x", v.Shape);
        string chunkShape = string.Join("x", v.ChunkShape);
        string Rate(int pass, double megabytes) => $"{megabytes / median[pass]:F0} MB/s ({megabytes / min[pass]:F0})";
        string Ratio(int slower, int faster) => $"{median[slower] / median[faster]:F2}x ({min[slower] / min[faster]:F2}x)";
        _output.WriteLine($"[{layout}] load average {loadBefore} before, {LoadAverage()} after; {Environment.ProcessorCount} cores; float32 {shape} in {chunks.Length} chunks {chunkShape} ({bytes / 1e6:F2} MB), Blosc lz4 + shuffle, blocks of {first.BlockSize} bytes");
        _output.WriteLine($"{samples[0].Length} interleaved rounds; median (best in brackets)");
        _output.WriteLine($"libblosc blosc_decompress_ctx (1 thread):       {Rate(Libblosc, mb)}");
        _output.WriteLine($"BloscCodec.Decode (managed frame, 1 thread):    {Rate(CodecPath, mb)}  ratio vs libblosc {Ratio(Libblosc, CodecPath)}");
        _output.WriteLine($"liblz4 alone over every stream (1 thread):      {Rate(Lz4, mb)}  = {median[Lz4] / median[Libblosc]:F2} of libblosc's time (the floor for any blosc decoder)");
        _output.WriteLine($"file reads only, PosixStorage (page cache):     {chunks.Sum(c => (double)c.Length) / 1e6 / median[FileReads]:F0} MB/s of encoded bytes");
        _output.WriteLine($"ReadAllAsync<float>, fill masked as xarray ({ourThreads} threads): {Rate(WholeArray, arrayMb)}");
        _output.WriteLine($"ReadAllAsync<float>, MaskAndScale off ({ourThreads} threads):    {Rate(WholeRaw, arrayMb)}");
        _output.WriteLine($"ReadRegionAsync, unmasked, into a reused array ({ourThreads} threads): {Rate(WholeReused, arrayMb)} (no fresh result array)");
        _output.WriteLine($"zarr-python z[...], blosc nthreads={pyThreads}:         {Rate(PyThreaded, arrayMb)}");
        _output.WriteLine($"zarr-python z[...], blosc use_threads=False:     {Rate(PySingle, arrayMb)}");
        _output.WriteLine($"lz4-only time of the same chunks on {ourThreads} threads (ideal split): {median[Lz4] / ourThreads * 1000:F1} ms vs zarr-python {median[PyThreaded] * 1000:F1} ms -> even a free unshuffle and copy would be {median[PyThreaded] / (median[Lz4] / ourThreads):F2}x");
        _output.WriteLine($"Proxima/zarr-python speed-up (both unmasked, as z[...] does not mask): {Ratio(PyThreaded, WholeRaw)} vs nthreads={pyThreads}, {Ratio(PySingle, WholeRaw)} vs 1 thread");
        string Cpu(int pass) => $"{Median(cpu[pass]) * 1000:F1} ms";
        _output.WriteLine($"CPU per whole-array read (median, all threads): Proxima unmasked {Cpu(WholeRaw)}, masked {Cpu(WholeArray)}; zarr-python nthreads={pyThreads} {Cpu(PyThreaded)}, 1 thread {Cpu(PySingle)}"
            + $" -> wall-clock parallelism: Proxima {Median(cpu[WholeRaw]) / median[WholeRaw]:F2} cores, zarr-python {Median(cpu[PyThreaded]) / median[PyThreaded]:F2}");
        _output.WriteLine($"Proxima/zarr-python speed-up (Proxima masking fill as xarray does):  {Ratio(PyThreaded, WholeArray)} vs nthreads={pyThreads}, {Ratio(PySingle, WholeArray)} vs 1 thread (load {LoadAverage()})");
        double libblosc = median[Libblosc], codecPath = median[CodecPath];
        Assert.True(libblosc > 0 && codecPath > 0);
    }

    /// <summary>
    /// Chunks of a point-series layout (8760 x 8 x 8 float32, Blosc lz4 + shuffle, as QueryBenchmarks'
    /// points_time_chunks): one cell's series is every 64th element. Times libblosc's whole decompress, liblz4 alone
    /// over every stream (the floor: a point still needs every block decompressed), our whole-chunk decode, and our
    /// element read of one cell, next to numcodecs' decompress of the same buffers (1 blosc thread).
    /// </summary>
    [BenchFact]
    public void Blosc_lz4_point_series_chunk_decode_against_libblosc_and_numcodecs()
    {
        using var dir = new TempDir();
        string[] py = Python.RunCode("""
import sys, time, numpy as np, zarr, numcodecs, numcodecs.blosc as blosc
p = sys.argv[1] + "/points.zarr"
nt = 8760
lat = np.linspace(90, -90, 16); lon = np.arange(0, 80, 5.0)
base = (250 + 40 * np.cos(np.deg2rad(lat))[:, None] + 3 * np.sin(np.deg2rad(lon))[None, :]).astype("f4")
rng = np.random.default_rng(1)
block = base[None] + (8 * np.sin(2 * np.pi * np.arange(nt) / 24))[:, None, None].astype("f4")
comp = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)
z = zarr.open_array(p, mode="w", shape=(nt, 16, 16), chunks=(nt, 8, 8), dtype="f4", compressor=comp, fill_value=None)
z[...] = block + np.round(rng.normal(0, 1.5, block.shape) * 64).astype("f4") / 64
blosc.use_threads = False
bufs = [open(p + "/0.%d.%d" % (i, j), "rb").read() for i in range(2) for j in range(2)]
def best(f):
    f(); b = 1e9
    for _ in range(20):
        t = time.perf_counter(); f(); b = min(b, time.perf_counter() - t)
    return b
dec = best(lambda: [blosc.decompress(b) for b in bufs])
pts = best(lambda: [z[:, 8 * i + 3, 8 * j + 5] for i in range(2) for j in range(2)])
print(dec, pts)
""", dir.Path).Trim().Split('\n')[^1].Split(' ');
        double numcodecs = double.Parse(py[0], CultureInfo.InvariantCulture);
        double zarrPoints = double.Parse(py[1], CultureInfo.InvariantCulture);

        var chunks = new byte[4][];
        for (int i = 0; i < 4; i++)
        {
            chunks[i] = File.ReadAllBytes(Path.Combine(dir.Path, "points.zarr", $"0.{i / 2}.{i % 2}"));
        }

        const int bytes = 8760 * 64 * 4;
        var raw = new byte[bytes];
        var ours = new byte[bytes];
        var codec = new BloscCodec();
        int[] cell = new int[8760];
        for (int t = 0; t < cell.Length; t++)
        {
            cell[t] = (t * 64) + (3 * 8) + 5;
        }

        Assert.True(BloscFrame.TryParse(chunks[0], out BloscFrame first), "the benchmark's chunks take the managed path");
        byte[] scratch = new byte[first.BlockSize];
        foreach (byte[] c in chunks)
        {
            Assert.Equal(bytes, BloscNative.Decompress(c, raw));
            Assert.Equal(bytes, codec.Decode(c, ours));
            Assert.True(raw.AsSpan().SequenceEqual(ours));
        }

        Action[] passes =
        [
            () => LibbloscPass(chunks, raw),
            () => Lz4Pass(chunks, scratch),
            () =>
            {
                using (DecodeThreads.Use(1))
                {
                    foreach (byte[] c in chunks)
                    {
                        codec.Decode(c, ours);
                    }
                }
            },
            () =>
            {
                foreach (byte[] c in chunks)
                {
                    codec.DecodeElements(c, cell, 4, ours);
                }
            },
        ];
        double[] best = BestOf(passes, 31);
        double mb = 4.0 * bytes / 1e6;
        _output.WriteLine($"load average {LoadAverage()}; 4 chunks 8760x8x8 float32 (2.24 MB each, {chunks.Sum(c => c.Length) / 4e6:F2} MB stored), Blosc lz4 + shuffle, blocks of {first.BlockSize} bytes, 1 thread");
        _output.WriteLine($"libblosc blosc_decompress_ctx:                {best[0] * 250:F3} ms/chunk ({mb / best[0]:F0} MB/s)");
        _output.WriteLine($"liblz4 alone, every stream (the floor):       {best[1] * 250:F3} ms/chunk ({mb / best[1]:F0} MB/s) = {best[1] / best[0]:F2} of libblosc's time");
        _output.WriteLine($"BloscCodec.Decode (managed frame, whole):     {best[2] * 250:F3} ms/chunk ({mb / best[2]:F0} MB/s)  ratio vs libblosc {best[0] / best[2]:F2}x");
        _output.WriteLine($"BloscCodec.DecodeElements, one cell's series: {best[3] * 250:F3} ms/chunk  ratio vs libblosc whole {best[0] / best[3]:F2}x, vs lz4 floor {best[1] / best[3]:F2}x");
        _output.WriteLine($"numcodecs blosc.decompress (1 thread):        {numcodecs * 250:F3} ms/chunk  -> ours (one cell) {numcodecs / best[3]:F2}x faster");
        _output.WriteLine($"zarr-python z[:, i, j] of one cell per chunk: {zarrPoints * 250:F3} ms/chunk  -> ours (one cell) {zarrPoints / best[3]:F2}x faster (load {LoadAverage()})");
    }

    /// <summary>libblosc's own whole decompress (1 thread) of every chunk.</summary>
    private static void LibbloscPass(byte[][] chunks, byte[] raw)
    {
        foreach (byte[] c in chunks)
        {
            BloscNative.Decompress(c, raw);
        }
    }

    /// <summary>liblz4 alone over every stream of every chunk (no unshuffle): the floor for any blosc decoder.</summary>
    private static void Lz4Pass(byte[][] chunks, byte[] scratch)
    {
        foreach (byte[] c in chunks)
        {
            BloscFrame.TryParse(c, out BloscFrame f);
            for (int b = 0; b < f.Blocks; b++)
            {
                f.Decompress(c, b, scratch.AsSpan(0, f.BlockLength(b)));
            }
        }
    }

    /// <summary>Best time of each pass over <paramref name="rounds"/> rounds (first discarded), in a fresh random order each round.</summary>
    private static double[] BestOf(Action[] passes, int rounds) =>
        [.. Interleave(passes, [], rounds, out _).Select(x => x.Min())];

    /// <summary>
    /// Seconds of every pass in every round but the first (a warm-up), the passes in a fresh random order each round:
    /// <paramref name="passes"/> timed here, then <paramref name="timed"/> that report their own time (another process's).
    /// <paramref name="cpu"/> gets the CPU seconds of each sample (all threads of the process that ran it).
    /// </summary>
    private static double[][] Interleave(Action[] passes, Func<(double Wall, double Cpu)>[] timed, int rounds, out double[][] cpu)
    {
        int n = passes.Length + timed.Length;
        var wall = new List<double>[n];
        var used = new List<double>[n];
        for (int p = 0; p < n; p++)
        {
            wall[p] = new List<double>(rounds);
            used[p] = new List<double>(rounds);
        }

        using Process self = Process.GetCurrentProcess();
        var rng = new Random(Environment.TickCount);
        int[] order = [.. Enumerable.Range(0, n)];
        for (int round = 0; round < rounds; round++)
        {
            rng.Shuffle(order);
            foreach (int p in order)
            {
                (double Wall, double Cpu) sample;
                if (p < passes.Length)
                {
                    self.Refresh();
                    TimeSpan cpu0 = self.TotalProcessorTime;
                    var sw = Stopwatch.StartNew();
                    passes[p]();
                    double seconds = sw.Elapsed.TotalSeconds;
                    self.Refresh();
                    sample = (seconds, (self.TotalProcessorTime - cpu0).TotalSeconds);
                }
                else
                {
                    sample = timed[p - passes.Length]();
                }

                if (round > 0)
                {
                    wall[p].Add(sample.Wall);
                    used[p].Add(sample.Cpu);
                }
            }
        }

        cpu = [.. used.Select(x => x.ToArray())];
        return [.. wall.Select(x => x.ToArray())];
    }

    private static double Median(double[] x)
    {
        double[] sorted = [.. x.Order()];
        int m = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
    }

    /// <summary>Rounds of the whole-array benchmark: PROXIMA_BENCH_ROUNDS, default 41 (40 timed).</summary>
    private static int Rounds() =>
        int.TryParse(Environment.GetEnvironmentVariable("PROXIMA_BENCH_ROUNDS"), CultureInfo.InvariantCulture, out int r) && r > 1 ? r : 41;

    /// <summary>
    /// Reads every chunk of an uncompressed float32 store (1 MiB chunks; PROXIMA_BENCH_S3_MB megabytes, default
    /// 1024) with N chunk reads in flight, from s3rver and from local disk, and prints MB/s and requests/s.
    /// </summary>
    [BenchFact]
    public async Task S3_read_throughput_with_16_and_64_requests_in_flight()
    {
        int megabytes = int.TryParse(Environment.GetEnvironmentVariable("PROXIMA_BENCH_S3_MB"), CultureInfo.InvariantCulture, out int m) && m > 0 ? m : 1024;
        using var server = new S3rver();
        using var dir = new TempDir();
        var local = new PosixStorage(dir.Path);

        // Uncompressed: transfer, not codec, dominates. Chunk c holds c + i % 1000.
        const int per = 262_144;
        int chunks = megabytes;
        Zarr.ZarrWriter w = await Zarr.ZarrWriter.CreateAsync(local, "s3bench.zarr");
        await w.AddArrayAsync(new Zarr.ZarrArrayDefinition { Name = "v", Dims = ["t", "x"], Shape = [chunks, per], Chunks = [1, per], Type = DataType.Float32, Compression = Zarr.ZarrCompression.None });
        var data = new float[per];
        for (int c = 0; c < chunks; c++)
        {
            for (int i = 0; i < per; i++)
            {
                data[i] = c + (i % 1000);
            }

            await w.WriteChunkAsync<float>("v", [c, 0], data);
        }

        await w.CompleteAsync();
        var upload = Stopwatch.StartNew();
        await server.UploadDirectoryAsync(dir.Path, "bench");
        _output.WriteLine($"load average {LoadAverage()}; store of {chunks} chunks x 1 MiB ({chunks * (long)per * 4 / 1e6:F0} MB) uploaded to s3rver in {upload.Elapsed.TotalSeconds:F0} s");

        double mb = chunks * (long)per * 4 / 1e6;
        async Task<double> ReadEveryChunkAsync(GridVariable v, int inFlight)
        {
            var sw = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(0, chunks), new ParallelOptions { MaxDegreeOfParallelism = inFlight }, async (c, ct) =>
            {
                float[] buffer = System.Buffers.ArrayPool<float>.Shared.Rent(per);
                try
                {
                    await v.ReadChunkAsync<float>(new long[] { c, 0 }, buffer, ct);
                    Assert.Equal(c + 999f, buffer[999]);
                }
                finally
                {
                    System.Buffers.ArrayPool<float>.Shared.Return(buffer);
                }
            });
            return sw.Elapsed.TotalSeconds;
        }

        foreach (int inFlight in new[] { 16, 64 })
        {
            using S3Storage s3 = server.CreateStorage("bench", inFlight);
            using GridDataset ds = await GridDataset.OpenAsync(s3, "s3bench.zarr", new GridDatasetOptions { MaxConcurrency = inFlight });
            double s = await ReadEveryChunkAsync(ds["v"], inFlight);
            _output.WriteLine($"s3rver, {inFlight} in flight: {mb / s:F0} MB/s, {chunks / s:F0} requests/s (load average {LoadAverage()})");
        }

        using (GridDataset ds = await GridDataset.OpenAsync(local, "s3bench.zarr"))
        {
            await ReadEveryChunkAsync(ds["v"], 16);
            double s = await ReadEveryChunkAsync(ds["v"], 16);
            _output.WriteLine($"local disk (page cache), 16 in flight: {mb / s:F0} MB/s, {chunks / s:F0} chunk reads/s (load average {LoadAverage()})");
        }
    }
}
