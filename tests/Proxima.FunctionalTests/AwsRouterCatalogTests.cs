using System.Net;
using System.Text.Json;
using Proxima.Tests;
using Proxima.Tests.Infrastructure;

namespace Proxima.FunctionalTests;

/// <summary>
/// The router as the CDK deploys it (<c>PROXIMA_CATALOG=opensearch</c>, <c>PROXIMA_OPENSEARCH_URL</c>,
/// <c>PROXIMA_OPENSEARCH_REGION</c>, its task role's keys from the default chain), a real <c>proxima router</c> process
/// against a scripted OpenSearch domain on loopback that, like fine-grained access with the router mapped to
/// <c>readall</c>, refuses the index template: the router starts read-only and serves searches signed for the domain.
/// </summary>
public sealed class AwsRouterCatalogTests
{
    [Fact]
    public async Task Router_reads_the_domain_signed_with_its_task_role_and_never_needs_write_rights()
    {
        using var temp = new TempDirectory();
        await using var domain = await LoopbackHttpServer.StartAsync(r => (r.Method, r.PathAndQuery) switch
        {
            ("PUT", _) => new(403, """{"error":{"root_cause":[{"type":"security_exception","reason":"no permissions for [indices:admin/index_template/put] and User [name=arn:aws:iam::123456789012:role/RouterTaskRole, backend_roles=[arn:aws:iam::123456789012:role/RouterTaskRole]]"}],"type":"security_exception"},"status":403}"""),
            ("POST", var p) when p.StartsWith("proxima-datasets/_search", StringComparison.Ordinal) => new(200, """{"took":1,"hits":{"total":{"value":0,"relation":"eq"},"hits":[]}}"""),
            _ => new(500, "unexpected request " + r.Line),
        });
        var environment = new Dictionary<string, string>
        {
            ["PROXIMA_CATALOG"] = "opensearch",
            ["PROXIMA_OPENSEARCH_URL"] = domain.BaseUri.ToString(),
            ["PROXIMA_OPENSEARCH_REGION"] = "eu-west-2",
            ["AWS_ACCESS_KEY_ID"] = "ASIAROUTERTASK",
            ["AWS_SECRET_ACCESS_KEY"] = "router-task-secret",
            ["AWS_SESSION_TOKEN"] = "router-task-session",
            ["AWS_REGION"] = "eu-west-2",
        };

        await using var router = ProximaProcess.Start(environment, "router", "--port", "0", "--no-auth", "--state", temp.Combine("state"));
        using var ready = JsonDocument.Parse(await router.WaitForLineAsync("PROXIMA-READY ", TimeSpan.FromSeconds(60)));
        using var http = new HttpClient { BaseAddress = new Uri(ready.RootElement.GetProperty("url").GetString()!), Timeout = TimeSpan.FromSeconds(60) };
        using var response = await http.GetAsync(new Uri("v1/datasets?q=era5", UriKind.Relative));
        string body = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, body + "\n" + router.StandardError);
        Assert.Equal(0, JsonDocument.Parse(body).RootElement.GetProperty("numberMatched").GetInt32());
        var lines = domain.Requests.Select(r => r.Line).ToList();
        Assert.Equal("PUT _index_template/proxima-datasets", lines[0]); // refused: the router goes on read-only
        Assert.DoesNotContain(lines, l => l.StartsWith("PUT proxima-", StringComparison.Ordinal)); // no bookkeeping indices either
        Assert.Contains(lines, l => l.StartsWith("POST proxima-datasets/_search", StringComparison.Ordinal));
        Assert.All(domain.Requests, r =>
        {
            Assert.StartsWith("AWS4-HMAC-SHA256 Credential=ASIAROUTERTASK/", r.Headers["Authorization"], StringComparison.Ordinal);
            Assert.Contains("/eu-west-2/es/aws4_request", r.Headers["Authorization"], StringComparison.Ordinal);
            Assert.Equal("router-task-session", r.Headers["X-Amz-Security-Token"]);
        });
    }
}
