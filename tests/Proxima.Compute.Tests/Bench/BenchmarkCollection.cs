namespace Proxima.Compute.Tests.Bench;

/// <summary>
/// The benchmark classes run one after another and alone: a benchmark measures the machine, and two of
/// them side by side (xunit runs classes in parallel) halve each other's cores and race to generate the
/// same store in the shared bench directory.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BenchmarkCollection
{
    public const string Name = "benchmarks (alone, one at a time)";
}
