using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Proxima.Tests.Infrastructure;

namespace Proxima.FunctionalTests.Federation;

/// <summary>
/// TLS material as the AWS task definitions deliver it: PEM <em>contents</em> in PROXIMA_TLS_CERT,
/// PROXIMA_TLS_KEY and PROXIMA_TLS_CA (no files, no --tls flags), for a worker and for the router.
/// </summary>
[Collection(FederationCollection.Name)]
public sealed class TlsFromEnvironmentTests(FederationFixture federation)
{
    private const string Mean = """{ "datasets": ["split/t"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean", "count"] } }""";

    [Fact]
    public async Task A_worker_and_a_router_with_pem_contents_in_the_environment_answer_queries()
    {
        var certs = Path.Combine(federation.State, "certs");
        var ca = await File.ReadAllTextAsync(Path.Combine(certs, "ca.crt"));
        // A new worker for ap-southeast-2 (which holds split/t's last part) with the worker's PEMs as contents.
        await using var worker = ProximaProcess.Start(new Dictionary<string, string>
        {
            ["PROXIMA_TLS_CERT"] = await File.ReadAllTextAsync(Path.Combine(certs, "worker.crt")),
            ["PROXIMA_TLS_KEY"] = await File.ReadAllTextAsync(Path.Combine(certs, "worker.key")),
            ["PROXIMA_TLS_CA"] = ca,
        }, "worker", "--region", "ap-southeast-2", "--data-root", Path.Combine(federation.DataRoot, "ap-southeast-2"), "--port", "0");
        var workerUrl = ReadyUrl(await worker.WaitForLineAsync("PROXIMA-READY ", TimeSpan.FromSeconds(60)));
        Assert.StartsWith("https://", workerUrl, StringComparison.Ordinal);

        // A router whose client certificate is one-line JSON-style text with \n escapes (how some secrets are stored).
        var args = federation.SecondRouterArgs(mutualTls: false);
        args.AddRange(["--worker", $"ap-southeast-2={workerUrl}"]);
        foreach (var w in federation.RunFile.GetProperty("workers").EnumerateArray())
        {
            if (w.GetProperty("region").GetString() is { } region && region != "ap-southeast-2")
            {
                args.Add("--worker");
                args.Add($"{region}={w.GetProperty("url").GetString()}");
            }
        }

        await using var router = ProximaProcess.Start(new Dictionary<string, string>
        {
            ["PROXIMA_TLS_CERT"] = (await File.ReadAllTextAsync(Path.Combine(certs, "router.crt"))).Replace("\n", "\\n", StringComparison.Ordinal),
            ["PROXIMA_TLS_KEY"] = await File.ReadAllTextAsync(Path.Combine(certs, "router.key")),
            ["PROXIMA_TLS_CA"] = ca,
        }, [.. args]);
        var routerUrl = new Uri(ReadyUrl(await router.WaitForLineAsync("PROXIMA-READY ", TimeSpan.FromSeconds(60))));

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", federation.Token);
        using var response = await http.PostAsync(new Uri(routerUrl, "v1/query"), new StringContent(Mean, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        // The same answer as the federation's own router (whose TLS comes from files).
        var (_, reference, referenceText) = await federation.QueryAsync(Mean);
        using var doc = JsonDocument.Parse(text);
        DnsDiscoveryTests.AssertSameData(reference.GetProperty("results")[0].GetProperty("data").GetRawText(), doc.RootElement.GetProperty("results")[0].GetProperty("data").GetRawText());
        Assert.Contains("ap-southeast-2", referenceText, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("worker", "PROXIMA_TLS_CERT")]
    [InlineData("router", "PROXIMA_TLS_KEY")]
    [InlineData("router", "PROXIMA_TLS_CA")]
    public async Task A_bad_pem_in_the_environment_stops_the_start_naming_the_variable(string service, string variable)
    {
        var certs = Path.Combine(federation.State, "certs");
        var side = service == "worker" ? "worker" : "router";
        var environment = new Dictionary<string, string>
        {
            ["PROXIMA_TLS_CERT"] = await File.ReadAllTextAsync(Path.Combine(certs, side + ".crt")),
            ["PROXIMA_TLS_KEY"] = await File.ReadAllTextAsync(Path.Combine(certs, side + ".key")),
            ["PROXIMA_TLS_CA"] = await File.ReadAllTextAsync(Path.Combine(certs, "ca.crt")),
        };
        environment[variable] = variable == "PROXIMA_TLS_KEY"
            ? "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
            : "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
        string[] args = service == "worker"
            ? ["worker", "--region", "us-east-1", "--data-root", Path.Combine(federation.DataRoot, "us-east-1"), "--port", "0"]
            : [.. federation.SecondRouterArgs(mutualTls: false)];
        await using var process = ProximaProcess.Start(environment, args);
        Assert.NotEqual(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(variable, process.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("bm90IGEg", process.StandardError, StringComparison.Ordinal);
    }

    private static string ReadyUrl(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetProperty("url").GetString()!;
    }
}
