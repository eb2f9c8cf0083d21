using System.Diagnostics;
using System.Runtime.InteropServices;
using Proxima.Arrays;
using Proxima.Arrays.Storage;
using Proxima.Compute.Execution;
using Proxima.Compute.Query;
using Xunit.Abstractions;

namespace Proxima.Compute.Tests.Bench;

/// <summary>
/// Mean+std over time against libblosc's own decompress of the same chunks (opt-in, <c>PROXIMA_BENCH=1</c>, on the
/// store <see cref="BenchmarkTests"/> generates): libblosc alone on in-memory chunks in both thread layouts, the
/// executor on whole chunks (one at a time with every thread, or two at a time) and in pieces of each size in
/// <c>PROXIMA_BENCH_PIECES</c> (MiB, default 0.5,1,2,4,8; <c>PROXIMA_BENCH_QUERY=climatology</c> runs the monthly mean
/// instead of mean+std), page cache warm, in interleaved rounds, best of 7, as ms per
/// chunk and as ratios to libblosc alone.
/// </summary>
[Collection(BenchmarkCollection.Name)]
public sealed partial class ReadPathBenchmarks(ITestOutputHelper output)
{
    [LibraryImport("libblosc.so.1", EntryPoint = "blosc_decompress_ctx")]
    private static unsafe partial int DecompressCtx(byte* src, byte* dest, nuint destsize, int numinternalthreads);

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
        var dir = BenchEnvironment.Dir;
        if (!BenchEnvironment.Enabled || !Directory.Exists(Path.Combine(dir, "era5_bench.zarr")))
        {
            return;
        }

        var storage = new PosixStorage(dir);
        using var ds = await GridDataset.OpenAsync(storage, "era5_bench.zarr");
        var chunkBytes = ds["t2m"].ChunkElementCount * 4;
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
        var climatology = Environment.GetEnvironmentVariable("PROXIMA_BENCH_QUERY") == "climatology";
        var spec = QuerySpecParser.Parse(climatology
            ? """{"datasets":["b"],"variable":"t2m","reduce":{"dims":["time"],"ops":["mean"],"groupby":"time.month"}}"""
            : """{"datasets":["b"],"variable":"t2m","reduce":{"dims":["time"],"ops":["mean","std"]}}""");
        var what = climatology ? "monthly mean" : "mean+std";
        var options = new ExecutionOptions { MaxChunksInFlight = Threads };
        var pieces = new List<int>();
        foreach (var mib in (Environment.GetEnvironmentVariable("PROXIMA_BENCH_PIECES") ?? "0.5,1,2,4,8").Split(','))
        {
            pieces.Add((int)(double.Parse(mib, System.Globalization.CultureInfo.InvariantCulture) * (1 << 20)));
        }

        var names = new List<string>
        {
            $"libblosc alone, chunks in memory, 1 at a time x {Threads} blosc threads",
            $"libblosc alone, chunks in memory, {Threads} at a time x 1 thread",
            $"{what}, executor, whole chunks, 1 at a time x {Threads} threads",
            $"{what}, executor, whole chunks, {Threads} at a time",
        };
        foreach (var b in pieces)
        {
            names.Add($"{what}, executor, {Threads} at a time in {b / (double)(1 << 20):0.##} MiB pieces");
        }

        var timings = new ExecutionTimings?[names.Count];
        var best = new double[names.Count];
        Array.Fill(best, double.MaxValue);

        // Interleaved rounds, best of each: the machine's load drifts between passes, less within a round.
        for (var round = 0; round < Rounds; round++)
        {
            for (var p = 0; p < names.Count; p++)
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
                        RawBlosc.ChunkParallel(chunks, chunkBytes, Threads);
                        break;
                    default:
                        var t = new ExecutionTimings();
                        var o = p switch
                        {
                            2 => options with { PieceBytes = 0, CacheBytes = 0 },
                            3 => options with { PieceBytes = 0, CacheBytes = long.MaxValue },
                            _ => options with { PieceBytes = pieces[p - 4] },
                        };
                        await QueryExecutor.ExecuteAsync(ds, "era5_bench", spec, options: o with { Timings = t });
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
        for (var p = 0; p < names.Count; p++)
        {
            output.WriteLine($"  {names[p],-64} {best[p],6:F2} ms/chunk  {chunkBytes / 1e6 / best[p]:F2} GB/s decompressed  x{best[p] / best[0]:F2} / x{best[p] / best[1]:F2} of libblosc alone (1 / {Threads} at a time)");
            if (timings[p] is { } t)
            {
                output.WriteLine($"    {(p == 2 ? "wall" : "thread")} ms per chunk: read+decompress {t.Read.TotalMilliseconds / n:F2}, kernel+merge {(t.Kernel + t.Merge).TotalMilliseconds / n:F2}");
            }
        }
    }
}
