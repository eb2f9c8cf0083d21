using System.Diagnostics;
using System.Runtime.InteropServices;
using Proxima.Arrays;
using Proxima.Arrays.Storage;
using Proxima.Compute.Execution;
using Proxima.Compute.Query;
using Xunit.Abstractions;

namespace Proxima.Compute.Tests.Bench;

/// <summary>
/// Where a whole-chunk Blosc read spends its time beyond libblosc's own decompress (opt-in, <c>PROXIMA_BENCH=1</c>,
/// on the store <see cref="BenchmarkTests"/> generates): the same chunks read serially, page cache warm, by each
/// candidate path in the same run, best of 3, as ms per chunk and as a ratio to libblosc on in-memory chunks.
/// </summary>
public sealed partial class ReadPathBenchmarks(ITestOutputHelper output)
{
    [LibraryImport("libblosc.so.1", EntryPoint = "blosc_decompress_ctx")]
    private static unsafe partial int DecompressCtx(byte* src, byte* dest, nuint destsize, int numinternalthreads);

    [LibraryImport("libblosc.so.1", EntryPoint = "blosc_getitem")]
    private static unsafe partial int GetItem(byte* src, int start, int nitems, byte* dest);

    /// <summary>Items [start, start + count) of a float32 chunk, decompressed by libblosc on the calling thread.</summary>
    private static unsafe void Items(byte[] s, byte[] dst, int start, int count)
    {
        fixed (byte* ps = s)
        fixed (byte* pd = dst)
        {
            if (GetItem(ps, start, count, pd + ((long)start * 4)) != count * 4)
            {
                throw new InvalidOperationException("blosc_getitem");
            }
        }
    }

    private static unsafe void Blosc(ReadOnlySpan<byte> s, byte[] dst, int threads)
    {
        fixed (byte* ps = s)
        fixed (byte* pd = dst)
        {
            if (DecompressCtx(ps, pd, (nuint)dst.Length, threads) != dst.Length)
            {
                throw new InvalidOperationException("blosc");
            }
        }
    }

    [Fact]
    public async Task Whole_chunk_read_paths_against_libblosc_alone()
    {
        var dir = Environment.GetEnvironmentVariable("PROXIMA_BENCH_DIR") ?? "/tmp/proxima-bench";
        if (Environment.GetEnvironmentVariable("PROXIMA_BENCH") != "1" || !Directory.Exists(Path.Combine(dir, "era5_bench.zarr")))
        {
            return;
        }

        var copied = new PosixStorage(dir, mapThreshold: long.MaxValue);
        var mapped = new PosixStorage(dir);
        using var dsCopied = await GridDataset.OpenAsync(copied, "era5_bench.zarr");
        using var dsMapped = await GridDataset.OpenAsync(mapped, "era5_bench.zarr");
        var chunkBytes = dsCopied["t2m"].ChunkElementCount * 4;
        var keys = BenchmarkTests.ChunkKeys(dir);

        var chunks = new byte[keys.Count][];
        for (var i = 0; i < keys.Count; i++)
        {
            chunks[i] = File.ReadAllBytes(Path.Combine(dir, keys[i]));
        }

        var dst = GC.AllocateUninitializedArray<byte>(chunkBytes, pinned: true);
        var n = keys.Count;
        const int Threads = 2;
        const int Rounds = 7;
        var spec = QuerySpecParser.Parse("""{"datasets":["b"],"variable":"t2m","reduce":{"dims":["time"],"ops":["mean","std"]}}""");
        var options = new ExecutionOptions { MaxChunksInFlight = Threads };
        string[] names =
        [
            $"libblosc alone, chunks in memory, {Threads} blosc threads",
            $"libblosc alone, in memory, halves on {Threads} own threads (getitem)",
            $"PosixStorage copy (pooled) + libblosc, {Threads} threads",
            $"PosixStorage mmap + libblosc, {Threads} threads",
            "mean+std over time, executor, PosixStorage copy",
            "mean+std over time, executor, PosixStorage mmap",
            "mean+std, executor, mmap, 2 chunks at a time (forced)",
        ];
        var timings = new ExecutionTimings?[names.Length];
        var best = new double[names.Length];
        Array.Fill(best, double.MaxValue);

        async Task StorageBlosc(PosixStorage s)
        {
            foreach (var k in keys)
            {
                using var o = (await s.ReadAsync(k, 0, null, long.MaxValue, CancellationToken.None))!;
                Blosc(o.Memory.Span, dst, Threads);
            }
        }

        // Interleaved rounds, best of each: the machine's load drifts between passes, less within a round.
        for (var round = 0; round < Rounds; round++)
        {
            for (var p = 0; p < names.Length; p++)
            {
                var sw = Stopwatch.StartNew();
                switch (p)
                {
                    case 0:
                        foreach (var c in chunks)
                        {
                            Blosc(c, dst, Threads);
                        }

                        break;
                    case 1:
                        // Hypothesis: blosc's per-call pthread create/join costs; split at a block boundary instead.
                        foreach (var c in chunks)
                        {
                            var blocksize = BitConverter.ToInt32(c, 8) / 4;
                            var items = chunkBytes / 4;
                            var half = (items / blocksize + 1) / 2 * blocksize;
                            Parallel.Invoke(() => Items(c, dst, 0, half), () => Items(c, dst, half, items - half));
                        }

                        break;
                    case 2:
                        await StorageBlosc(copied);
                        break;
                    case 3:
                        await StorageBlosc(mapped);
                        break;
                    default:
                        var t = new ExecutionTimings();
                        await QueryExecutor.ExecuteAsync(p == 4 ? dsCopied : dsMapped, "era5_bench", spec, options: options with { Timings = t, CacheBytes = p == 6 ? long.MaxValue : options.CacheBytes });
                        if (sw.Elapsed.TotalMilliseconds / n < best[p])
                        {
                            timings[p] = t;
                        }

                        break;
                }

                best[p] = Math.Min(best[p], sw.Elapsed.TotalMilliseconds / n);
            }
        }

        var l = File.ReadAllText("/proc/loadavg").Split(' ');
        output.WriteLine($"{n} Blosc-lz4 chunks of {chunkBytes / 1e6:F1} MB decoded, page cache warm, best of {Rounds} interleaved rounds, {Environment.ProcessorCount} cores, load average {l[0]} {l[1]} {l[2]}");
        for (var p = 0; p < names.Length; p++)
        {
            output.WriteLine($"  {names[p],-56} {best[p],6:F2} ms/chunk  {chunkBytes / 1e6 / best[p]:F2} GB/s decompressed  x{best[p] / best[0]:F2} of libblosc alone");
            if (timings[p] is { } t)
            {
                output.WriteLine($"    {(p == 6 ? "thread" : "wall")} ms per chunk: read+decompress {t.Read.TotalMilliseconds / n:F2}, kernel+merge {(t.Kernel + t.Merge).TotalMilliseconds / n:F2}");
            }
        }
    }
}
