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

    /// <summary>zarr-python's best-of-5 <c>z[...]</c> of the store, with numcodecs' default blosc threads and with one.</summary>
    private static (double Threaded, double Single, int Threads) TimeZarrPython(string dir)
    {
        string[] lines = Python.RunCode("""
import sys, time, zarr, numcodecs.blosc as blosc
z = zarr.open_array(sys.argv[1] + "/bench.zarr", mode="r")
def best():
    z[...]
    b = 1e9
    for _ in range(5):
        t = time.perf_counter(); a = z[...]; b = min(b, time.perf_counter() - t)
    return b
threaded = best()
blosc.use_threads = False
print(threaded, best(), blosc.get_nthreads())
""", dir).Trim().Split('\n')[^1].Split(' ');
        return (double.Parse(lines[0], CultureInfo.InvariantCulture), double.Parse(lines[1], CultureInfo.InvariantCulture), int.Parse(lines[2], CultureInfo.InvariantCulture));
    }

    private static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    [BenchFact]
    public async Task Blosc_lz4_float32_decode_throughput_against_libblosc_and_zarr_python()
    {
        using var dir = new TempDir();
        // 8 chunks of 1,048,576 float32 (4 MiB each), smooth field + noise, zarr-python defaults (Blosc lz4, shuffle).
        Python.RunCode("""
import sys, numpy as np, zarr
p = sys.argv[1] + "/bench.zarr"
n = 8
y, x = np.mgrid[0:1024, 0:1024]
base = (250 + 20 * np.sin(x / 50.0) * np.cos(y / 70.0)).astype("f4")
rng = np.random.default_rng(0)
z = zarr.open_array(p, mode="w", shape=(n, 1024, 1024), chunks=(1, 1024, 1024), dtype="f4")
for i in range(n):
    z[i] = base + rng.normal(scale=0.05, size=base.shape).astype("f4")
""", dir.Path);
        string loadBefore = LoadAverage();
        (double pyThreaded, double pySingle, int pyThreads) = TimeZarrPython(dir.Path);

        var storage = new PosixStorage(dir.Path);
        using GridDataset ds = await GridDataset.OpenAsync(storage, "bench.zarr");
        using GridDataset rawDs = await GridDataset.OpenAsync(storage, "bench.zarr", new GridDatasetOptions { MaskAndScale = false });
        GridVariable v = ds.Variables[0];
        GridVariable rawV = rawDs.Variables[0];
        var chunks = new byte[8][];
        for (int i = 0; i < 8; i++)
        {
            chunks[i] = (await storage.ReadAllBytesAsync($"bench.zarr/{i}.0.0", 64L << 20))!;
        }

        int bytes = v.ChunkElementCount * 4;
        var raw = new byte[bytes];
        var codec = new BloscCodec();
        var floats = new float[v.ChunkElementCount];
        var reused = new float[v.ElementCount];
        foreach (byte[] c in chunks)
        {
            Assert.Equal(bytes, BloscNative.Decompress(c, raw));
            Assert.Equal(bytes, codec.Decode(c, raw));
        }

        Action[] passes =
        [
            () =>
            {
                foreach (byte[] c in chunks)
                {
                    BloscNative.Decompress(c, raw);
                }
            },
            () =>
            {
                foreach (byte[] c in chunks)
                {
                    codec.Decode(c, raw);
                }
            },
            () =>
            {
                for (int i = 0; i < 8; i++)
                {
                    using var owner = storage.ReadAsync($"bench.zarr/{i}.0.0", 0, null, 64L << 20, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                }
            },
            () =>
            {
                for (int i = 0; i < 8; i++)
                {
                    v.ReadChunkAsync<float>(new long[] { i, 0, 0 }, floats, CancellationToken.None).AsTask().GetAwaiter().GetResult();
                }
            },
            () => v.ReadAllAsync<float>(CancellationToken.None).AsTask().GetAwaiter().GetResult(),
            () => rawV.ReadAllAsync<float>(CancellationToken.None).AsTask().GetAwaiter().GetResult(),
            () => rawV.ReadRegionAsync<float>(new long[3], [.. rawV.Shape], reused, CancellationToken.None).AsTask().GetAwaiter().GetResult(),
        ];

        // Rounds interleave the paths in a fresh random order (a path run right after a whole-array read
        // runs measurably faster on a busy machine), so noise hits them alike; best of 30 per path (on a loaded
        // 2-core machine a 2-thread pass needs both threads to get a core at once, which takes many tries).
        var best = new double[passes.Length];
        Array.Fill(best, double.MaxValue);
        var rng = new Random(Environment.TickCount);
        int[] order = [.. Enumerable.Range(0, passes.Length)];
        for (int round = 0; round < 31; round++)
        {
            rng.Shuffle(order);
            foreach (int p in order)
            {
                var sw = Stopwatch.StartNew();
                passes[p]();
                if (round > 0)
                {
                    best[p] = Math.Min(best[p], sw.Elapsed.TotalSeconds);
                }
            }
        }

        // zarr-python again after ours, best of both, so a load swing does not favour either side.
        (double pyThreaded2, double pySingle2, _) = TimeZarrPython(dir.Path);
        pyThreaded = Math.Min(pyThreaded, pyThreaded2);
        pySingle = Math.Min(pySingle, pySingle2);
        double libblosc = best[0], codecPath = best[1], fileReads = best[2], chunkReads = best[3], wholeArray = best[4], wholeRaw = best[5], wholeReused = best[6];
        int ourThreads = Math.Min(GridDatasetOptions.Default.MaxConcurrency, Environment.ProcessorCount);

        double mb = 8.0 * bytes / 1e6;
        _output.WriteLine($"load average {loadBefore} before, {LoadAverage()} after; {Environment.ProcessorCount} cores; 8 chunks x 4 MiB float32, Blosc lz4 + shuffle");
        _output.WriteLine($"libblosc blosc_decompress_ctx (1 thread):      {mb / libblosc:F0} MB/s");
        _output.WriteLine($"BloscCodec.Decode (1 thread):                   {mb / codecPath:F0} MB/s  ratio vs libblosc {libblosc / codecPath:F2}x");
        _output.WriteLine($"file reads only, PosixStorage (page cache):     {mb * chunks.Sum(c => c.Length) / (8.0 * bytes) / fileReads:F0} MB/s of encoded bytes");
        _output.WriteLine($"ReadChunkAsync<float> sequential (1 thread):    {mb / chunkReads:F0} MB/s  ratio vs libblosc {libblosc / chunkReads:F2}x");
        _output.WriteLine($"ReadAllAsync<float>, fill 0 masked as xarray ({ourThreads} threads): {mb / wholeArray:F0} MB/s");
        _output.WriteLine($"ReadAllAsync<float>, MaskAndScale off ({ourThreads} threads):       {mb / wholeRaw:F0} MB/s");
        _output.WriteLine($"ReadRegionAsync, unmasked, into a reused array ({ourThreads} threads): {mb / wholeReused:F0} MB/s (no fresh result array)");
        _output.WriteLine($"zarr-python z[...], blosc nthreads={pyThreads}:        {mb / pyThreaded:F0} MB/s");
        _output.WriteLine($"zarr-python z[...], blosc use_threads=False:    {mb / pySingle:F0} MB/s");
        _output.WriteLine($"Proxima/zarr-python speed-up (both unmasked, as z[...] does not mask): {pyThreaded / wholeRaw:F2}x vs nthreads={pyThreads}, {pySingle / wholeRaw:F2}x vs 1 thread");
        _output.WriteLine($"Proxima/zarr-python speed-up (Proxima masking fill 0 as xarray does): {pyThreaded / wholeArray:F2}x vs nthreads={pyThreads}, {pySingle / wholeArray:F2}x vs 1 thread");
        Assert.True(libblosc > 0 && codecPath > 0);
    }

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
