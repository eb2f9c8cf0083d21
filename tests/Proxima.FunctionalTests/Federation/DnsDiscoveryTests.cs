using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Proxima.Tests.Infrastructure;

namespace Proxima.FunctionalTests.Federation;

/// <summary>
/// A <c>proxima router</c> that finds the federation's workers only by DNS (SRV records of
/// <c>worker-REGION.proxima-workers</c> served by python3-dnslib on loopback), and follows the answer
/// as it changes: a region whose name disappears is 503, and answers again when it comes back.
/// </summary>
[Collection(FederationCollection.Name)]
public sealed class DnsDiscoveryTests(FederationFixture federation) : IDisposable
{
    private const string Mean = """{ "datasets": ["split/t"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean", "max"] } }""";
    private readonly TempDirectory _temp = new();

    [Fact]
    public async Task The_router_uses_the_workers_dns_names_and_follows_their_changes()
    {
        var workers = federation.RunFile.GetProperty("workers").EnumerateArray()
            .Select(w => (Region: w.GetProperty("region").GetString()!, Port: new Uri(w.GetProperty("url").GetString()!).Port)).ToList();
        await using var dns = await LoopbackDnsServer.StartAsync(_temp.Combine("zone.json"));
        dns.Write(Zone(workers));

        var args = federation.SecondRouterArgs(mutualTls: true);
        args.AddRange(["--workers-namespace", "proxima-workers", "--workers-dns-server", dns.EndPoint.ToString(), "--discovery-refresh", "0.2"]);
        foreach (var (region, _) in FederationFixtureBase.Regions)
        {
            args.Add("--discover-region");
            args.Add(region);
        }

        await using var router = ProximaProcess.Start([.. args]);
        using var ready = JsonDocument.Parse(await router.WaitForLineAsync("PROXIMA-READY ", TimeSpan.FromSeconds(60)));
        using var http = new HttpClient { BaseAddress = new Uri(ready.RootElement.GetProperty("url").GetString()!), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", federation.Token);

        var (_, reference, _) = await federation.QueryAsync(Mean);
        var expected = reference.GetProperty("results")[0].GetProperty("data").GetRawText();
        var (status, text) = await PostAsync(http);
        Assert.True(status == HttpStatusCode.OK, text);
        AssertSameData(expected, Data(text));

        // us-west-2 shrinks to one worker, ap-southeast-2's name goes away.
        dns.Write(Zone([.. workers.Where(w => w.Region == "us-east-1"), workers.First(w => w.Region == "us-west-2")]));
        var (gone, goneText) = await UntilAsync(http, s => s == HttpStatusCode.ServiceUnavailable);
        Assert.True(gone == HttpStatusCode.ServiceUnavailable, goneText);
        Assert.Contains("ap-southeast-2", goneText, StringComparison.Ordinal);

        // It comes back: the same answer as the federation's own router.
        dns.Write(Zone(workers));
        var (back, backText) = await UntilAsync(http, s => s == HttpStatusCode.OK);
        Assert.True(back == HttpStatusCode.OK, backText);
        AssertSameData(expected, Data(backText));
    }

    public void Dispose() => _temp.Dispose();

    /// <summary>Queries until the status satisfies <paramref name="done"/> (the router re-resolves every 0.2 s), at most 30 s.</summary>
    private static async Task<(HttpStatusCode, string)> UntilAsync(HttpClient http, Func<HttpStatusCode, bool> done)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var (status, text) = await PostAsync(http);
            if (done(status) || deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                return (status, text);
            }

            await Task.Delay(100);
        }
    }

    private static async Task<(HttpStatusCode, string)> PostAsync(HttpClient http)
    {
        using var response = await http.PostAsync(new Uri("v1/query", UriKind.Relative), new StringContent(Mean, Encoding.UTF8, "application/json"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Same ops, same cells; values equal to 1e-12 relative (merge order may differ between routers).</summary>
    internal static void AssertSameData(string expected, string actual)
    {
        using var e = JsonDocument.Parse(expected);
        using var a = JsonDocument.Parse(actual);
        foreach (var op in e.RootElement.EnumerateObject())
        {
            var x = op.Value.EnumerateArray().ToList();
            var y = a.RootElement.GetProperty(op.Name).EnumerateArray().ToList();
            Assert.Equal(x.Count, y.Count);
            for (var i = 0; i < x.Count; i++)
            {
                if (x[i].ValueKind == JsonValueKind.Null)
                {
                    Assert.Equal(JsonValueKind.Null, y[i].ValueKind);
                    continue;
                }

                var (u, v) = (x[i].GetDouble(), y[i].GetDouble());
                Assert.True(Math.Abs(u - v) <= 1e-12 * Math.Max(1, Math.Abs(u)), $"{op.Name}[{i}]: {u} vs {v}");
            }
        }
    }

    private static string Data(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("results")[0].GetProperty("data").GetRawText();
    }

    /// <summary>One SRV target per worker: <c>worker-REGION.proxima-workers</c> → 127.0.0.1 and the worker's port.</summary>
    private static JsonObject[] Zone(IEnumerable<(string Region, int Port)> workers) =>
        [.. workers.GroupBy(w => w.Region).SelectMany(g => LoopbackDnsServer.LoopbackSrv($"worker-{g.Key}.proxima-workers", g.Select(w => w.Port)))];
}
