using Xunit.Abstractions;

namespace Proxima.Compute.Tests.Bench;

/// <summary>What every Compute benchmark reads from its environment and how it reports a figure.</summary>
internal static class BenchEnvironment
{
    /// <summary>Benchmarks are opt-in: <c>PROXIMA_BENCH=1</c>.</summary>
    public static bool Enabled => Environment.GetEnvironmentVariable("PROXIMA_BENCH") == "1";

    /// <summary>Where the generated stores are kept between runs: <c>PROXIMA_BENCH_DIR</c>, default /tmp/proxima-bench.</summary>
    public static string Dir => Environment.GetEnvironmentVariable("PROXIMA_BENCH_DIR") ?? "/tmp/proxima-bench";

    /// <summary>The 1-minute load average.</summary>
    public static string Load() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    /// <summary>"load average 1m 5m 15m".</summary>
    public static string LoadAverages()
    {
        var l = File.ReadAllText("/proc/loadavg").Split(' ');
        return $"load average {l[0]} {l[1]} {l[2]}";
    }

    /// <summary>A figure to the test's output and, prefixed <c>[bench]</c>, to the console (what the README's command shows).</summary>
    public static void Report(ITestOutputHelper output, string line)
    {
        output.WriteLine(line);
        Console.WriteLine("[bench] " + line);
    }
}
