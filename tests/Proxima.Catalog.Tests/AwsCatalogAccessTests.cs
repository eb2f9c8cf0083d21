using System.Globalization;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Microsoft.Extensions.Logging.Abstractions;
using Proxima.Catalog.Aws;
using Proxima.Catalog.OpenSearch;
using Proxima.Tests;

namespace Proxima.Catalog.Tests;

/// <summary>
/// The catalog as the AWS deployment uses it, against loopback servers standing in for STS and the OpenSearch domain:
/// SigV4 for the domain's region, the writer role assumed through STS (request, XML answer, errors, refresh), the
/// router's role mapped to <c>readall</c>, and a reader opening without template rights.
/// </summary>
public sealed class AwsCatalogAccessTests
{
    private const string WriterRole = "arn:aws:iam::123456789012:role/proxima-catalog-writer";
    private const string ReaderRole = "arn:aws:iam::123456789012:role/ProximaClient-RouterTaskRole-1A2B3C";
    private const string SourceKey = "AKIDSYNCTASK";
    private const string SourceSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    private const string SessionToken = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCWV1LXdlc3QtMiJHMEUCIQ==";
    private const string SearchEmpty = """{"took":1,"hits":{"total":{"value":0,"relation":"eq"},"hits":[]}}""";
    private const string Ack = """{"acknowledged":true}""";

    private static string AssumedSecret(int n) => "assumedSecret/" + n.ToString(CultureInfo.InvariantCulture) + "+EXAMPLEKEY";

    private static string AssumedKey(int n) => "ASIAASSUMED" + n.ToString(CultureInfo.InvariantCulture);

    // Shaped like STS's documented answer (namespace, AssumedRoleUser, PackedPolicySize, ResponseMetadata).
    private static string AssumeRoleAnswer(int n, DateTimeOffset expires) => $"""
        <AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <AssumeRoleResult>
            <AssumedRoleUser>
              <AssumedRoleId>AROA3XFRBF535PLBIFPI4:proxima-catalog-us-east-1</AssumedRoleId>
              <Arn>arn:aws:sts::123456789012:assumed-role/proxima-catalog-writer/proxima-catalog-us-east-1</Arn>
            </AssumedRoleUser>
            <Credentials>
              <AccessKeyId>{AssumedKey(n)}</AccessKeyId>
              <SecretAccessKey>{AssumedSecret(n)}</SecretAccessKey>
              <SessionToken>{SessionToken}{n}</SessionToken>
              <Expiration>{expires.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}</Expiration>
            </Credentials>
            <PackedPolicySize>6</PackedPolicySize>
          </AssumeRoleResult>
          <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
        </AssumeRoleResponse>
        """;

    private static string StsError(string type, string code, string message) => $"""
        <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
          <Error><Type>{type}</Type><Code>{code}</Code><Message>{message}</Message></Error>
          <RequestId>4a5c1a7e-0b0e-4c0e-9a55-EXAMPLE</RequestId>
        </ErrorResponse>
        """;

    private static Dictionary<string, string> FormFields(RecordedRequest r)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string pair in r.BodyText.Split('&'))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            fields.Add(Uri.UnescapeDataString(pair[..eq]), Uri.UnescapeDataString(pair[(eq + 1)..]));
        }

        return fields;
    }

    private static StsClient Sts(LoopbackHttpServer server, TimeProvider? time = null) => new(new StsClientOptions
    {
        Region = "us-east-1",
        Endpoint = server.BaseUri,
        Credentials = new BasicAWSCredentials(SourceKey, SourceSecret),
        InitialBackoff = TimeSpan.FromMilliseconds(1),
        TimeProvider = time ?? TimeProvider.System,
    });

    [Theory]
    [InlineData("search-proxima-catalog-abcdefghijklmnop.eu-west-2.es.amazonaws.com", "eu-west-2")]
    [InlineData("vpc-proxima-catalog-abcdefghijklmnop.us-east-1.es.amazonaws.com", "us-east-1")]
    [InlineData("VPC-Proxima-abc.AP-SOUTHEAST-2.ES.AMAZONAWS.COM", "ap-southeast-2")]
    [InlineData("search-x-abc.cn-north-1.es.amazonaws.com.cn", "cn-north-1")]
    [InlineData("search-x-abc.aos.eu-central-1.on.aws", "eu-central-1")]
    [InlineData("localhost", null)]
    [InlineData("127.0.0.1", null)]
    [InlineData("catalog.example.com", null)]
    [InlineData("search-x.example.es.amazonaws.com.evil.com", null)]
    [InlineData("abc.eu-west-2.aoss.amazonaws.com", null)]
    public void Managed_domain_hosts_give_their_region_and_other_hosts_none(string host, string? region)
    {
        Assert.Equal(region, OpenSearchCatalogOptions.RegionOfManagedDomain(host));
        Assert.Equal(region, new OpenSearchCatalogOptions { Endpoint = new Uri("https://" + host) }.EffectiveSigningRegion);
    }

    [Fact]
    public void Environment_as_the_cdk_sets_it_selects_signed_opensearch_with_the_writer_role()
    {
        var vars = new Dictionary<string, string>
        {
            ["PROXIMA_CATALOG"] = "opensearch",
            ["PROXIMA_OPENSEARCH_URL"] = "https://vpc-proxima-catalog-abc.eu-west-2.es.amazonaws.com",
            ["PROXIMA_CATALOG_ROLE_ARN"] = WriterRole,
            ["PROXIMA_CATALOG_READER_ROLE_ARN"] = ReaderRole,
            ["PROXIMA_REGION"] = "us-east-1",
        };
        var o = CatalogFactory.FromVariables(vars.GetValueOrDefault, "/state").OpenSearch!;
        Assert.Equal("eu-west-2", o.SigningRegion); // from the host when PROXIMA_OPENSEARCH_REGION is absent
        Assert.Equal("es", o.SigningService);
        Assert.Equal(ReaderRole, o.ReaderRoleArn);
        var creds = Assert.IsType<AssumeRoleCredentials>(o.Credentials);
        Assert.Equal(WriterRole, creds.RoleArn);
        Assert.Equal("proxima-catalog-us-east-1", creds.SessionName);

        vars["PROXIMA_OPENSEARCH_REGION"] = "eu-west-1";
        Assert.Equal("eu-west-1", CatalogFactory.FromVariables(vars.GetValueOrDefault, "/state").OpenSearch!.SigningRegion); // explicit wins

        // The router: no role, its own task credentials (the default chain), still signed.
        var router = CatalogFactory.FromVariables(new Dictionary<string, string>
        {
            ["PROXIMA_CATALOG"] = "opensearch",
            ["PROXIMA_OPENSEARCH_URL"] = "https://vpc-proxima-catalog-abc.eu-west-2.es.amazonaws.com",
            ["PROXIMA_OPENSEARCH_REGION"] = "eu-west-2",
        }.GetValueOrDefault, "/state").OpenSearch!;
        Assert.Equal("eu-west-2", router.EffectiveSigningRegion);
        Assert.Null(router.Credentials);
        Assert.Null(router.ReaderRoleArn);

        Assert.Equal("sqlite", CatalogFactory.FromVariables(_ => null, "/state").Backend);
    }

    [Theory]
    [InlineData("PROXIMA_CATALOG=opensearch", "PROXIMA_CATALOG is 'opensearch' but PROXIMA_OPENSEARCH_URL is not set")]
    [InlineData("PROXIMA_CATALOG=elastic", "PROXIMA_CATALOG must be 'sqlite' or 'opensearch' (got 'elastic')")]
    [InlineData("PROXIMA_OPENSEARCH_URL=https://search-a-b.eu-west-2.es.amazonaws.com;PROXIMA_CATALOG_ROLE_ARN=proxima-catalog-writer",
        "PROXIMA_CATALOG_ROLE_ARN must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME), got 'proxima-catalog-writer'")]
    [InlineData("PROXIMA_OPENSEARCH_URL=https://search-a-b.eu-west-2.es.amazonaws.com;PROXIMA_CATALOG_READER_ROLE_ARN=arn:aws:iam::1:user/bob",
        "PROXIMA_CATALOG_READER_ROLE_ARN must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME), got 'arn:aws:iam::1:user/bob'")]
    [InlineData("PROXIMA_OPENSEARCH_URL=https://catalog.example.com;PROXIMA_CATALOG_ROLE_ARN=" + WriterRole,
        "PROXIMA_CATALOG_ROLE_ARN is set but requests to 'catalog.example.com' would not be signed: set PROXIMA_OPENSEARCH_REGION")]
    [InlineData("PROXIMA_OPENSEARCH_URL=https://search-a-b.eu-west-2.es.amazonaws.com;PROXIMA_CATALOG_ROLE_ARN=" + WriterRole + ";PROXIMA_STS_ENDPOINT=sts",
        "PROXIMA_STS_ENDPOINT is not an absolute URL: 'sts'")]
    public void Environment_that_cannot_work_is_refused_naming_the_variable(string assignments, string message)
    {
        var vars = assignments.Split(';').Select(a => a.Split('=', 2)).ToDictionary(a => a[0], a => a[1]);
        Assert.Equal(message, Assert.Throws<InvalidConfigurationException>(() => CatalogFactory.FromVariables(vars.GetValueOrDefault, "/state")).Message);
    }

    [Fact]
    public async Task Catalog_requests_are_signed_with_the_assumed_roles_session_for_the_domains_region()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 12, 4, 3, 0, 0, TimeSpan.Zero));
        await using var sts = await LoopbackHttpServer.StartAsync(_ => new(200, AssumeRoleAnswer(1, clock.GetUtcNow().AddHours(1))));
        await using var domain = await LoopbackHttpServer.StartAsync(r => r.Method == "PUT" ? new(200, Ack) : new(200, SearchEmpty));
        var vars = new Dictionary<string, string>
        {
            ["PROXIMA_CATALOG"] = "opensearch",
            ["PROXIMA_OPENSEARCH_URL"] = domain.BaseUri.ToString(),
            ["PROXIMA_OPENSEARCH_REGION"] = "eu-west-2",
            ["PROXIMA_CATALOG_ROLE_ARN"] = WriterRole,
            ["PROXIMA_STS_ENDPOINT"] = sts.BaseUri.ToString(),
            ["AWS_REGION"] = "us-east-1",
            ["PROXIMA_REGION"] = "us-east-1",
        };
        var options = CatalogFactory.FromVariables(vars.GetValueOrDefault, "/state", NullLoggerFactory.Instance, clock, new BasicAWSCredentials(SourceKey, SourceSecret));
        await using (var catalog = await CatalogFactory.OpenAsync(options))
        {
            await catalog.SearchAsync(new DatasetQuery { Text = "era5", Bbox = new BoundingBox(110, -50, 180, 0) });
        }

        // One AssumeRole, a form-encoded Query API call signed with the task's own keys for STS in the task's region.
        var assume = Assert.Single(sts.Requests);
        Assert.Equal("POST", assume.Method);
        Assert.Equal("", assume.PathAndQuery);
        Assert.Equal("application/x-www-form-urlencoded; charset=utf-8", assume.Headers["Content-Type"]);
        Assert.Equal(new Dictionary<string, string>
        {
            ["Action"] = "AssumeRole",
            ["Version"] = "2011-06-15",
            ["RoleArn"] = WriterRole,
            ["RoleSessionName"] = "proxima-catalog-us-east-1",
            ["DurationSeconds"] = "3600",
        }, FormFields(assume));
        Assert.StartsWith($"AWS4-HMAC-SHA256 Credential={SourceKey}/20261204/us-east-1/sts/aws4_request", assume.Headers["Authorization"], StringComparison.Ordinal);
        Assert.Equal("OK", SigV4Verifier.Verify(assume, SourceSecret, "us-east-1", "sts"));

        // Every catalog request (template, bookkeeping indices, search): the assumed key and session token, scope eu-west-2/es.
        Assert.True(domain.Requests.Count >= 5, string.Join(", ", domain.Requests.Select(r => r.Line)));
        foreach (var r in domain.Requests)
        {
            Assert.StartsWith($"AWS4-HMAC-SHA256 Credential={AssumedKey(1)}/20261204/eu-west-2/es/aws4_request", r.Headers["Authorization"], StringComparison.Ordinal);
            Assert.Contains("x-amz-security-token", r.Headers["Authorization"], StringComparison.Ordinal); // the token is signed
            Assert.Equal(SessionToken + "1", r.Headers["X-Amz-Security-Token"]);
            Assert.Equal("OK", SigV4Verifier.Verify(r, AssumedSecret(1), "eu-west-2", "es"));
        }

        Assert.NotEqual("OK", SigV4Verifier.Verify(domain.Requests[^1], SourceSecret, "eu-west-2", "es")); // not the task's own keys
    }

    [Fact]
    public async Task Assumed_credentials_are_refreshed_before_they_expire_and_kept_while_sts_fails()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 12, 4, 3, 0, 0, TimeSpan.Zero));
        int issued = 0;
        bool refuse = false;
        await using var server = await LoopbackHttpServer.StartAsync(_ => refuse
            ? new(403, StsError("Sender", "AccessDenied", "not authorized"))
            : new(200, AssumeRoleAnswer(Interlocked.Increment(ref issued), clock.GetUtcNow().AddHours(1))));
        var creds = new AssumeRoleCredentials(Sts(server, clock), WriterRole, "proxima-catalog-test", NullLogger.Instance, clock);

        Assert.Equal(AssumedKey(1), (await creds.GetCredentialsAsync()).AccessKey);
        clock.Advance(TimeSpan.FromMinutes(54));
        Assert.Equal(AssumedKey(1), (await creds.GetCredentialsAsync()).AccessKey);
        Assert.Single(server.Requests); // cached while more than 5 minutes remain

        clock.Advance(TimeSpan.FromMinutes(2)); // 4 minutes left: refreshed ahead of expiry
        var second = await creds.GetCredentialsAsync();
        Assert.Equal(AssumedKey(2), second.AccessKey);
        Assert.Equal(AssumedSecret(2), second.SecretKey);
        Assert.Equal(SessionToken + "2", second.Token);
        Assert.Equal(2, server.Requests.Count);

        refuse = true;
        clock.Advance(TimeSpan.FromMinutes(57)); // 3 minutes left on the second keys, STS refuses: keep them
        Assert.Equal(AssumedKey(2), (await creds.GetCredentialsAsync()).AccessKey);
        clock.Advance(TimeSpan.FromMinutes(4)); // expired, STS still refuses: an error, never expired keys
        var e = await Assert.ThrowsAsync<CatalogException>(creds.GetCredentialsAsync);
        Assert.Contains(WriterRole, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sts_refusal_is_a_clear_error_naming_the_role_without_retries()
    {
        const string Denied = "User: arn:aws:sts::123456789012:assumed-role/ProximaWorker-us-east-1-SyncTaskRole/abc is not authorized to perform: sts:AssumeRole on resource: " + WriterRole;
        await using var server = await LoopbackHttpServer.StartAsync(_ => new(403, StsError("Sender", "AccessDenied", Denied)));
        var e = await Assert.ThrowsAsync<CatalogException>(() => Sts(server).AssumeRoleAsync(WriterRole, "s", TimeSpan.FromHours(1), CancellationToken.None));
        Assert.Equal($"STS AssumeRole of {WriterRole} failed: HTTP 403 AccessDenied: {Denied}", e.Message);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task Sts_throttling_and_server_errors_are_retried()
    {
        int n = 0;
        var expires = new DateTimeOffset(2026, 12, 4, 4, 0, 0, TimeSpan.Zero);
        await using var server = await LoopbackHttpServer.StartAsync(_ => Interlocked.Increment(ref n) switch
        {
            1 => new(400, StsError("Sender", "Throttling", "Rate exceeded")), // STS throttles with 400, not 429
            2 => new(503, "Service Unavailable"),
            _ => new(200, AssumeRoleAnswer(7, expires)),
        });
        var assumed = await Sts(server).AssumeRoleAsync(WriterRole, "s", TimeSpan.FromHours(1), CancellationToken.None);
        Assert.Equal(3, server.Requests.Count);
        Assert.Equal(AssumedKey(7), assumed.Credentials.AccessKey);
        Assert.Equal(expires, assumed.Expiration);
        Assert.Equal("arn:aws:sts::123456789012:assumed-role/proxima-catalog-writer/proxima-catalog-us-east-1", assumed.AssumedRoleArn);

        await using var down = await LoopbackHttpServer.StartAsync(_ => new(500, StsError("Receiver", "InternalFailure", "try again")));
        var e = await Assert.ThrowsAsync<CatalogException>(() => Sts(down).AssumeRoleAsync(WriterRole, "s", TimeSpan.FromHours(1), CancellationToken.None));
        Assert.Equal($"STS AssumeRole of {WriterRole} failed after 5 attempts: HTTP 500 InternalFailure: try again", e.Message);
    }

    [Theory]
    [InlineData("<AssumeRoleResponse><AssumeRoleResult/></AssumeRoleResponse>", "the answer has no AssumeRoleResult/Credentials")]
    [InlineData("<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId></Credentials></AssumeRoleResult></AssumeRoleResponse>", "the answer has no Credentials/Expiration")]
    [InlineData("{\"json\":true}", "the answer is not XML")]
    public void Sts_answer_without_credentials_is_a_clear_error(string body, string message)
    {
        var e = Assert.Throws<CatalogException>(() => StsClient.Parse(body, WriterRole));
        Assert.StartsWith($"STS AssumeRole of {WriterRole}: {message}", e.Message, StringComparison.Ordinal);
    }

    /// <summary>A scripted security plugin: GET answers the current mapping (404 when absent), PUT replaces it.</summary>
    private sealed class RolesMapping(string? initial)
    {
        private const string Path = "_plugins/_security/api/rolesmapping/readall";

        public string? Current { get; private set; } = initial;

        public int Puts { get; private set; }

        public ScriptedResponse Handle(RecordedRequest r)
        {
            switch (r.Line)
            {
                case "GET " + Path:
                    return Current is null
                        ? new(404, """{"status":"NOT_FOUND","message":"readall not found."}""")
                        : new(200, $$"""{"readall":{{Current}}}""");
                case "PUT " + Path:
                    Puts++;
                    var body = JsonNode.Parse(r.BodyText)!.AsObject();
                    body["reserved"] = false;
                    body["hidden"] = false;
                    Current = body.ToJsonString();
                    return new(200, """{"status":"OK","message":"'readall' updated."}""");
                default:
                    return new(500, "unexpected request " + r.Line);
            }
        }
    }

    private static OpenSearchCatalog Catalog(LoopbackHttpServer server) => new(new OpenSearchCatalogOptions
    {
        Endpoint = server.BaseUri,
        ReaderRoleArn = ReaderRole,
        InitialBackoff = TimeSpan.FromMilliseconds(1),
        MaxAttempts = 2,
    });

    [Fact]
    public async Task Reader_role_joins_readall_once_keeping_the_existing_mapping()
    {
        var mapping = new RolesMapping("""{"hosts":[],"users":["alice"],"reserved":false,"hidden":false,"backend_roles":["arn:aws:iam::123456789012:role/analysts"],"and_backend_roles":[],"description":"analysts read"}""");
        await using var server = await LoopbackHttpServer.StartAsync(mapping.Handle);
        await using var catalog = Catalog(server);

        await catalog.EnsureReaderMappingAsync();
        var put = server.Requests[1];
        Assert.Equal("PUT _plugins/_security/api/rolesmapping/readall", put.Line);
        Assert.Equal(
            $$"""{"backend_roles":["arn:aws:iam::123456789012:role/analysts","{{ReaderRole}}"],"users":["alice"],"hosts":[],"and_backend_roles":[],"description":"analysts read"}""",
            put.BodyText);

        await catalog.EnsureReaderMappingAsync(); // already there: read, nothing written
        await catalog.EnsureReaderMappingAsync();
        Assert.Equal(1, mapping.Puts);
        Assert.Equal(new[] { "GET", "PUT", "GET", "GET" }, server.Requests.Select(r => r.Method));
    }

    [Fact]
    public async Task Readall_mapping_is_created_when_the_role_has_none()
    {
        var mapping = new RolesMapping(null);
        await using var server = await LoopbackHttpServer.StartAsync(mapping.Handle);
        await using var catalog = Catalog(server);
        await catalog.EnsureReaderMappingAsync();
        Assert.Equal($$"""{"backend_roles":["{{ReaderRole}}"]}""", server.Requests[1].BodyText);
        Assert.Equal(1, mapping.Puts);
    }

    [Fact]
    public async Task Readall_mapping_refused_is_a_clear_error_naming_the_role()
    {
        await using var server = await LoopbackHttpServer.StartAsync(r => r.Method == "GET"
            ? new(200, """{"readall":{"backend_roles":[],"users":[],"hosts":[]}}""")
            : new(403, """{"status":"FORBIDDEN","message":"No permission to access REST API: User proxima-sync with Security roles [own_index] does not have any role privileged for admin access"}"""));
        await using var catalog = Catalog(server);
        var e = await Assert.ThrowsAsync<CatalogException>(() => catalog.EnsureReaderMappingAsync());
        Assert.StartsWith($"OpenSearch PUT _plugins/_security/api/rolesmapping/readall (mapping of IAM role {ReaderRole} to the 'readall' role) failed: HTTP 403 ", e.Message, StringComparison.Ordinal);
        Assert.Contains("No permission to access REST API", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_reader_role_leaves_the_security_configuration_alone()
    {
        await using var server = await LoopbackHttpServer.StartAsync(r => new(500, "unexpected request " + r.Line));
        await using var catalog = new OpenSearchCatalog(new OpenSearchCatalogOptions { Endpoint = server.BaseUri });
        await catalog.EnsureReaderMappingAsync();
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Reader_without_template_rights_opens_read_only_and_searches()
    {
        // The router: IAM allows it GET/HEAD/POST only and fine-grained access maps it to readall, so the template PUT is 403.
        await using var server = await LoopbackHttpServer.StartAsync(r => r.Method == "PUT"
            ? new(403, """{"error":{"root_cause":[{"type":"security_exception","reason":"no permissions for [indices:admin/index_template/put]"}],"type":"security_exception"},"status":403}""")
            : new(200, SearchEmpty));
        await using var catalog = await CatalogFactory.OpenAsync(new CatalogOptions { Backend = "opensearch", OpenSearch = new OpenSearchCatalogOptions { Endpoint = server.BaseUri } });
        var page = await catalog.SearchAsync(new DatasetQuery());
        Assert.Equal(0, page.NumberMatched);
        Assert.Equal(new[] { "PUT _index_template/proxima-datasets", "POST proxima-datasets/_search?ignore_unavailable=true&allow_no_indices=true" }, server.Requests.Select(r => r.Line));

        // Only 403 means "a reader": any other refusal of the template still fails the open.
        await using var broken = await LoopbackHttpServer.StartAsync(_ => new(400, """{"error":"bad template"}"""));
        var e = await Assert.ThrowsAsync<CatalogException>(() => CatalogFactory.OpenAsync(new CatalogOptions { Backend = "opensearch", OpenSearch = new OpenSearchCatalogOptions { Endpoint = broken.BaseUri } }));
        Assert.StartsWith("OpenSearch PUT index template failed: HTTP 400", e.Message, StringComparison.Ordinal);
    }

    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
