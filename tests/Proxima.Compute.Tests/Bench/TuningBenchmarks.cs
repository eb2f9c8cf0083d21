using System.Diagnostics;
using System.Globalization;
using Proxima.Arrays;
using Proxima.Arrays.Storage;
using Proxima.Compute.Execution;
using Proxima.Compute.Query;
using Xunit.Abstractions;

namespace Proxima.Compute.Tests.Bench;

/// <summary>
/// Interleaved timings of our own query variants on the ~1 GB store of <see cref="BenchmarkTests"/> (opt-in:
/// <c>PROXIMA_BENCH=1</c>; <c>PROXIMA_TUNE_ROUNDS</c> rounds, default 7; <c>PROXIMA_TUNE_PIECES</c> piece sizes in KiB,
/// 0 for whole chunks, default "2048,8192"; <c>PROXIMA_TUNE_QUERIES</c> from meanstd, mean, monthmean, monthmeanstd,
/// meanstd1d, monthmean1d (one day), default "meanstd,monthmean"): every round runs libblosc's raw decompress of the
/// same chunks and then each variant once in turn, and the medians of wall time and of the process's CPU time are
/// reported with their ratios to libblosc's. On the shared 2-core machine wall time mostly measures the other
/// processes' turns; CPU time does not (cache contention still shows).
/// </summary>
[Collection(BenchmarkCollection.Name)]
public sealed class TuningBenchmarks(ITestOutputHelper output)
{
    private const string MonthMean = """{"datasets":["b"],"variable":"t2m","reduce":{"dims":["time"],"ops":["mean"],"groupby":"time.month"}}""";
    private const string MonthMeanStd = """{"datasets":["b"],"variable":"t2m","reduce":{"dims":["time"],"ops":["mean","std"],"groupby":"time.month"}}""";
    private const string Mean = """{"datasets":["b"],"variable":"t2m","reduce":{"dims":["time"],"ops":["mean"]}}""";

    private void Report(string line) => BenchEnvironment.Report(output, line);

    [Fact]
    public async Task Query_variants_interleaved_with_raw_decompress()
    {
        if (!BenchEnvironment.Enabled)
        {
            return;
        }

        var dir = BenchEnvironment.Dir;
        Directory.CreateDirectory(dir);
        var gen = Process.Start(new ProcessStartInfo("/usr/bin/python3", [Path.Combine(AppContext.BaseDirectory, "Bench", "bench.py"), "gen", dir, Environment.GetEnvironmentVariable("PROXIMA_BENCH_NT") ?? "1008"]))!;
        await gen.WaitForExitAsync();
        Assert.Equal(0, gen.ExitCode);
        var storage = new PosixStorage(dir);
        using var ds = await GridDataset.OpenAsync(storage, "era5_bench.zarr");
        var chunkBytes = ds["t2m"].ChunkElementCount * 4;
        var keys = BenchmarkTests.ChunkKeys(dir);
        var chunks = new byte[keys.Count][];
        for (var i = 0; i < keys.Count; i++)
        {
            using var owner = (await storage.ReadAsync(keys[i], 0, null, long.MaxValue, CancellationToken.None))!;
            chunks[i] = owner.Memory.ToArray();
        }

        var rounds = int.Parse(Environment.GetEnvironmentVariable("PROXIMA_TUNE_ROUNDS") ?? "7", CultureInfo.InvariantCulture);
        var pieces = (Environment.GetEnvironmentVariable("PROXIMA_TUNE_PIECES") ?? "2048,8192").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture) << 10).ToArray();
        var queries = (Environment.GetEnvironmentVariable("PROXIMA_TUNE_QUERIES") ?? "meanstd,monthmean").Split(',');
        var variants = new List<(string Name, QuerySpec Spec, ExecutionOptions Options)>();
        foreach (var q in queries)
        {
            var json = q switch
            {
                "meanstd" => BenchmarkTests.MeanStd,
                "mean" => Mean,
                "monthmean" => MonthMean,
                "monthmeanstd" => MonthMeanStd,
                "monthmean1d" => MonthMean.Replace("\"reduce\"", "\"select\":{\"time\":[\"2000-01-01T00:00\",\"2000-01-01T23:00\"]},\"reduce\"", StringComparison.Ordinal),
                "meanstd1d" => BenchmarkTests.MeanStd.Replace("\"reduce\"", "\"select\":{\"time\":[\"2000-01-01T00:00\",\"2000-01-01T23:00\"]},\"reduce\"", StringComparison.Ordinal),
                _ => throw new ArgumentException(q),
            };
            foreach (var p in pieces)
            {
                variants.Add(($"{q} piece {p >> 10} KiB", QuerySpecParser.Parse(json), new ExecutionOptions { MaxChunksInFlight = 2, PieceBytes = p }));
            }
        }

        var times = variants.Select(_ => new List<double>()).ToArray();
        var kernel = variants.Select(_ => new List<double>()).ToArray();
        var read = variants.Select(_ => new List<double>()).ToArray();
        var finish = variants.Select(_ => new List<double>()).ToArray();
        var raw = new List<double>();
        var rawCpu = new List<double>();
        var cpu = variants.Select(_ => new List<double>()).ToArray();
        foreach (var v in variants)
        {
            await QueryExecutor.ExecuteAsync(ds, "b", v.Spec, options: v.Options);
        }

        for (var r = 0; r < rounds; r++)
        {
            var c0 = Cpu();
            raw.Add(RawBlosc.ChunkParallel(chunks, chunkBytes, 2));
            rawCpu.Add(Cpu() - c0);
            for (var i = 0; i < variants.Count; i++)
            {
                var timings = new ExecutionTimings();
                var c1 = Cpu();
                var sw = Stopwatch.StartNew();
                await QueryExecutor.ExecuteAsync(ds, "b", variants[i].Spec, options: variants[i].Options with { Timings = timings });
                times[i].Add(sw.Elapsed.TotalSeconds);
                cpu[i].Add(Cpu() - c1);
                kernel[i].Add(timings.Kernel.TotalMilliseconds / chunks.Length);
                read[i].Add(timings.Read.TotalMilliseconds / chunks.Length);
                finish[i].Add(timings.Finish.TotalMilliseconds);
            }
        }

        var rawMedian = Median(raw);
        var rawCpuMedian = Median(rawCpu);
        Report($"libblosc raw, 2 chunks at a time: median {rawMedian:F3} s (min {raw.Min():F3}), CPU {rawCpuMedian:F3} s, over {rounds} rounds; load {BenchEnvironment.Load()}");
        for (var i = 0; i < variants.Count; i++)
        {
            var m = Median(times[i]);
            Report($"  {variants[i].Name}: median {m:F3} s (min {times[i].Min():F3}) -> / raw {m / rawMedian:F2}; CPU {Median(cpu[i]):F3} s -> / raw CPU {Median(cpu[i]) / rawCpuMedian:F2}; per chunk read+decode {Median(read[i]):F2} ms, kernel {Median(kernel[i]):F2} ms; lane merge + partial {Median(finish[i]):F1} ms");
        }

        Report($"load {BenchEnvironment.Load()}");
    }

    /// <summary>CPU seconds of this process so far (all threads): unlike wall time, not inflated by other processes' turns on the cores.</summary>
    private static double Cpu() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    private static double Median(List<double> xs)
    {
        var s = xs.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[(s.Length / 2) - 1] + s[s.Length / 2]) / 2;
    }
}
