using Xunit;

namespace Proxima.Arrays.Tests;

/// <summary>A benchmark that prints figures for the README: runs only with PROXIMA_BENCH=1, never in CI's suite.</summary>
public sealed class BenchFactAttribute : FactAttribute
{
    public BenchFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("PROXIMA_BENCH") != "1")
        {
            Skip = "benchmark: set PROXIMA_BENCH=1";
        }
    }
}
