using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Xunit.Abstractions;

namespace Proxima.FunctionalTests.Federation;

/// <summary>32 clients (a token each) querying the three-region federation at once for 60 s.</summary>
[Collection(FederationCollection.Name)]
public sealed class LoadTests(FederationFixture federation, ITestOutputHelper output)
{
    private const string SmallFrom = "2001-01-02T00:00:00";
    private const string SmallTo = "2001-01-04T18:00:00";

    /// <summary>The run's length: 60 s (the acceptance figure); <c>PROXIMA_LOAD_SECONDS</c> shortens it for a local try.</summary>
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(
        int.TryParse(Environment.GetEnvironmentVariable("PROXIMA_LOAD_SECONDS"), CultureInfo.InvariantCulture, out var s) ? s : 60);

    [Fact]
    public async Task Thirty_two_clients_for_60_s_mixing_small_and_large_queries_get_no_errors()
    {
        // small: mean over 11 steps of us-east-1's part (one region, its 2-worker pool);
        // large: five ops over the whole record (three regions, six work units), each checked against xarray.
        var small = $$"""{ "datasets": ["split/t"], "variable": "t", "select": { "time": ["{{SmallFrom}}", "{{SmallTo}}"] }, "reduce": { "dims": ["time"], "ops": ["mean"] } }""";
        var large = """{ "datasets": ["split/t"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean", "std", "min", "max", "count"] } }""";
        var smallExpected = await federation.XarrayAsync(SmallFrom, SmallTo);
        var largeExpected = await federation.XarrayAsync("2001-01-01T00:00:00", "2001-01-18T18:00:00");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(90) };
        var latencies = new Dictionary<string, List<double>> { ["small"] = [], ["large"] = [] };
        var errors = new List<string>();
        var run = Stopwatch.StartNew();
        var clients = Enumerable.Range(0, FederationFixtureBase.LoadClients).Select(c => Task.Run(async () =>
        {
            var rng = new Random(c);
            var token = FederationFixtureBase.LoadToken(c);
            while (run.Elapsed < Duration)
            {
                var isLarge = rng.Next(100) < 30;
                var kind = isLarge ? "large" : "small";
                var sw = Stopwatch.StartNew();
                string? error;
                try
                {
                    var (status, body, text) = await federation.QueryAsync(http, isLarge ? large : small, token, CancellationToken.None);
                    error = status != HttpStatusCode.OK ? $"{kind}: {(int)status} {text}"
                        : Mismatch(isLarge ? largeExpected : smallExpected, body, isLarge ? ["mean", "std", "min", "max", "count"] : ["mean"]);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException)
                {
                    error = $"{kind}: {ex.GetType().Name}: {ex.Message}";
                }

                lock (latencies)
                {
                    latencies[kind].Add(sw.Elapsed.TotalMilliseconds);
                    if (error is not null)
                    {
                        errors.Add($"client {c}: {error}");
                    }
                }
            }
        })).ToList();
        await Task.WhenAll(clients);

        var load = File.ReadAllText("/proc/loadavg").Trim();
        foreach (var (kind, ms) in latencies)
        {
            ms.Sort();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{kind,-5}: {ms.Count,5} queries, p50 {Percentile(ms, 0.50),7:0.0} ms, p99 {Percentile(ms, 0.99),7:0.0} ms"));
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{FederationFixtureBase.LoadClients} clients, {run.Elapsed.TotalSeconds:0.0} s, {errors.Count} errors; load average {load}"));
        Assert.True(errors.Count == 0, $"{errors.Count} error(s), e.g.\n{string.Join("\n", errors.Take(5))}");
        Assert.True(latencies["small"].Count > 0 && latencies["large"].Count > 0, "both kinds ran");
    }

    private static string? Mismatch(JsonElement expected, JsonElement body, string[] ops)
    {
        var data = body.GetProperty("results")[0].GetProperty("data");
        foreach (var op in ops)
        {
            try
            {
                SplitDatasetTests.AssertClose(expected.GetProperty(op), data.GetProperty(op), op is "min" or "max" or "count" ? 0 : 1e-6, op);
            }
            catch (Xunit.Sdk.XunitException ex)
            {
                return $"wrong answer: {ex.Message}";
            }
        }

        return null;
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    private static double Percentile(List<double> sorted, double q) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];
}
