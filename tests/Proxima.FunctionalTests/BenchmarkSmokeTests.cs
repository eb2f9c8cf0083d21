using System.Diagnostics;
using Proxima.Tests.Infrastructure;

namespace Proxima.FunctionalTests;

/// <summary>
/// The README's end-to-end benchmark commands, run at a tiny size so they cannot rot unnoticed between the
/// sessions that measure with them (the hedging benchmark once failed on a federation file that validation had
/// learnt to refuse). Only that each runs to the end and prints its comparison is checked, never a figure.
/// </summary>
[Collection(BenchmarkSmokeCollection.Name)]
public sealed class BenchmarkSmokeTests
{
    [Theory]
    [InlineData("router-overhead", "ratio to direct p50", "200")]
    [InlineData("federation", "read/crossed", "8", "1")]
    [InlineData("hedging", "p99 improvement", "20")]
    public async Task Benchmark_runs_to_its_comparison_at_a_small_size(string name, string comparison, params string[] args)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Name;
        var dll = Path.Combine(RepoPaths.Root, "artifacts", "bin", "Proxima.Benchmarks", configuration, "Proxima.Benchmarks.dll");
        Assert.True(File.Exists(dll), $"the benchmarks are not built at {dll} (dotnet build Proxima.slnx)");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add(name);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"{name} {string.Join(' ', args)} exited {process.ExitCode}:\n{output}");
        Assert.Contains(comparison, output, StringComparison.Ordinal);
    }
}

/// <summary>The benchmarks start federations of their own: run them alone, after the parallel collections.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BenchmarkSmokeCollection
{
    public const string Name = "benchmark smoke (alone)";
}
