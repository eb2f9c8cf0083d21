using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Proxima.Protocol;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;

namespace Proxima.FunctionalTests.Federation;

/// <summary>Bearer tokens, dataset ACLs, and request limits on a real federation.</summary>
[Collection(FederationCollection.Name)]
public sealed class SecurityTests(FederationFixture federation)
{
    private const string Query = """{ "datasets": ["split/t"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["max"] } }""";

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void The_local_token_file_is_one_line_readable_only_by_its_owner()
    {
        var path = Path.Combine(federation.State, "token");
        var lines = File.ReadAllLines(path);
        Assert.Single(lines);
        Assert.True(lines[0].Length >= 32);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not-the-token-0123456789")]
    public async Task No_token_or_a_wrong_token_is_401_with_an_error_document(string? token)
    {
        var (status, body, text) = await federation.QueryAsync(Query, token);
        Assert.True(status == HttpStatusCode.Unauthorized, text);
        Assert.Equal("unauthorized", body.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_grpc_call_without_a_token_is_unauthenticated()
    {
        var spec = new QuerySpec { Variable = "t" };
        spec.Datasets.Add("split/t");
        using var client = new GrpcClient(federation.RouterGrpcUrl);
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in client.ServerStreamingAsync(ProximaMethods.RouterQuery, new QueryRequest { Spec = spec }, GrpcCallOptions.WithTimeout(TimeSpan.FromSeconds(30))))
            {
            }
        });
        Assert.Equal(StatusCode.Unauthenticated, ex.StatusCode);
    }

    [Fact]
    public async Task A_token_without_the_datasets_group_is_403_and_gets_no_data()
    {
        const string secret = """{ "datasets": ["secret/s"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean"] } }""";
        var (status, body, text) = await federation.QueryAsync(secret, FederationFixtureBase.OtherToken);
        Assert.True(status == HttpStatusCode.Forbidden, text);
        Assert.Equal("forbidden", body.GetProperty("error").GetProperty("code").GetString());
        Assert.False(body.TryGetProperty("results", out _));
        Assert.DoesNotContain("data", text.Replace("dataset", "", StringComparison.Ordinal), StringComparison.Ordinal);

        var (ok, _, okText) = await federation.QueryAsync(secret, FederationFixtureBase.TeamToken);
        Assert.True(ok == HttpStatusCode.OK, okText);
        var (admin, _, adminText) = await federation.QueryAsync(secret);
        Assert.True(admin == HttpStatusCode.OK, adminText);
    }

    [Fact]
    public async Task The_catalog_search_hides_datasets_the_token_may_not_see()
    {
        async Task<string> SearchAsync(string token)
        {
            using var http = new HttpClient();
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            return await http.GetStringAsync(new Uri(federation.RouterUrl, "v1/datasets?q=secret"));
        }

        Assert.DoesNotContain("secret/s", await SearchAsync(FederationFixtureBase.OtherToken), StringComparison.Ordinal);
        Assert.Contains("secret/s", await SearchAsync(FederationFixtureBase.TeamToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_worker_checks_the_acl_again_and_refuses_a_unit_without_the_group()
    {
        // Straight to a worker (the router is bypassed): the dataset's own proxima_acl is enforced.
        using var client = WorkerClient(withCertificate: true);
        var unit = new WorkUnit
        {
            UnitId = "direct/0",
            Dataset = "secret/s",
            Path = "secret/s.zarr",
            AllChunks = true,
            SpecJson = Google.Protobuf.ByteString.CopyFromUtf8("""{ "datasets": ["secret/s"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean"] } }"""),
        };
        unit.Groups.Add("other");
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in client.ServerStreamingAsync(ProximaMethods.WorkerExecute, unit, GrpcCallOptions.WithTimeout(TimeSpan.FromSeconds(30))))
            {
            }
        });
        Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
    }

    [Fact]
    public async Task A_worker_refuses_a_path_outside_its_region_root()
    {
        using var client = WorkerClient(withCertificate: true);
        var unit = new WorkUnit
        {
            UnitId = "escape/0",
            Dataset = "x",
            Path = "../us-west-2/split/t_part1.zarr",
            AllChunks = true,
            SpecJson = Google.Protobuf.ByteString.CopyFromUtf8("""{ "datasets": ["x"], "variable": "t" }"""),
        };
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in client.ServerStreamingAsync(ProximaMethods.WorkerExecute, unit, GrpcCallOptions.WithTimeout(TimeSpan.FromSeconds(30))))
            {
            }
        });
        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
    }

    [Fact]
    public async Task A_worker_called_without_a_client_certificate_refuses_the_tls_handshake()
    {
        Assert.Equal("https", federation.WorkerUrls("us-east-1")[0].Scheme);
        using var client = WorkerClient(withCertificate: false);
        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            client.UnaryAsync(ProximaMethods.WorkerPing, new PingRequest(), GrpcCallOptions.WithTimeout(TimeSpan.FromSeconds(30))));
        // TLS 1.3 checks the client certificate after the client's Finished: the server's alert shows up as a
        // connection failure on the first request, never as an answered call.
        Assert.True(ex.StatusCode == StatusCode.Unavailable, ex.ToString());

        // The same call with the router's certificate (STATE/certs) is answered.
        using var trusted = WorkerClient(withCertificate: true);
        var pong = await trusted.UnaryAsync(ProximaMethods.WorkerPing, new PingRequest(), GrpcCallOptions.WithTimeout(TimeSpan.FromSeconds(30)));
        Assert.Equal("us-east-1", pong.Region);
    }

    private GrpcClient WorkerClient(bool withCertificate)
    {
        var certs = Path.Combine(federation.State, "certs");
        var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Combine(certs, "ca.crt"));
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return certificate is X509Certificate2 c && chain.Build(c);
        };
        if (withCertificate)
        {
            using var pem = X509Certificate2.CreateFromPemFile(Path.Combine(certs, "router.crt"), Path.Combine(certs, "router.key"));
            handler.SslOptions.ClientCertificates = [X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null)];
        }

        return new GrpcClient(federation.WorkerUrls("us-east-1")[0], new GrpcClientOptions { HttpHandler = handler });
    }

    [Fact]
    public async Task Too_many_datasets_and_too_large_a_request_are_clear_400s()
    {
        var many = string.Join(",", Enumerable.Repeat("\"split/t\"", 17));
        var (status, body, text) = await federation.QueryAsync($$"""{ "datasets": [{{many}}], "variable": "t" }""");
        Assert.True(status == HttpStatusCode.BadRequest, text);
        Assert.Equal("too_many_datasets", body.GetProperty("error").GetProperty("code").GetString());

        var padding = new string(' ', 2 << 20);
        var (big, bigBody, bigText) = await federation.QueryAsync("{" + padding + "}");
        Assert.True(big == HttpStatusCode.BadRequest, bigText);
        Assert.Equal("request_too_large", bigBody.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task The_metrics_endpoint_needs_no_token_but_queries_do()
    {
        using var http = new HttpClient();
        using var metrics = await http.GetAsync(new Uri(federation.RouterUrl, "metrics"));
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        using var query = await http.PostAsync(new Uri(federation.RouterUrl, "v1/query"), new StringContent(Query, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Unauthorized, query.StatusCode);
    }
}
