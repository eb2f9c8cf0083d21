namespace Proxima.Benchmarks;

/// <summary>The end-to-end benchmarks, run as <c>dotnet run -c Release --project bench/Proxima.Benchmarks -- NAME</c>.</summary>
internal static class EndToEnd
{
    private static readonly Dictionary<string, Func<string[], Task<int>>> All = new(StringComparer.Ordinal)
    {
        ["router-overhead"] = RouterOverheadBenchmark.RunAsync,
        ["federation"] = FederationBenchmark.RunAsync,
        ["hedging"] = HedgingBenchmark.RunAsync,
    };

    public static Func<string[], Task<int>>? TryGet(string name) => All.GetValueOrDefault(name);
}
