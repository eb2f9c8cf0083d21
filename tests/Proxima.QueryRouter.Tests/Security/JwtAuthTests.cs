using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Proxima.Catalog;
using Proxima.Catalog.Sqlite;
using Proxima.QueryRouter.Security;
using Proxima.Tests.Infrastructure;

namespace Proxima.QueryRouter.Tests.Security;

/// <summary>
/// OIDC/JWT bearer tokens on a real router (Kestrel on loopback) against a loopback issuer serving its
/// discovery document and JWKS; the tokens are signed by PyJWT (Debian's python3-jwt), not by our code.
/// </summary>
public sealed class JwtAuthTests : IAsyncLifetime
{
    private const string Audience = "proxima-api";
    private const string StaticToken = "static-admin-token-0123456789";
    private readonly string _dir = Directory.CreateTempSubdirectory("proxima-jwt-").FullName;
    private readonly RSA _rsa = RSA.Create(2048);
    private readonly ECDsa _ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly RSA _rotated = RSA.Create(2048);
    private Issuer _issuer = null!;
    private WebApplication _router = null!;
    private Uri _routerUrl = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _issuer = await Issuer.StartAsync();
        _issuer.Keys = [Jwk(_rsa, "rsa-1"), Jwk(_ec, "ec-1")];
        var catalogPath = Path.Combine(_dir, "catalog.db");
        await using (var catalog = await SqliteCatalog.OpenAsync(catalogPath))
        {
            await using var generation = await catalog.BeginGenerationAsync("r1", "run-1");
            await generation.UpsertAsync([Document("open/o", []), Document("secret/s", ["team"])]);
            await generation.CommitAsync(new SyncReport { Region = "r1", RunId = generation.RunId, Status = "committed", Found = 2 });
        }

        _router = await RouterHost.BuildAsync(new RouterOptions
        {
            CatalogPath = catalogPath,
            Workers = new Dictionary<string, IReadOnlyList<Uri>>(),
            Tokens = [new TokenGrant(StaticToken, "admin", ["*"])],
            Jwt = new JwtOptions { Issuer = _issuer.Url, Audience = Audience, GroupsClaim = "cognito:groups", UnknownKeyRefresh = TimeSpan.Zero },
        });
        await _router.StartAsync();
        _routerUrl = RouterHost.GetUrls(_router).Http;
        _http = new HttpClient { BaseAddress = _routerUrl };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _router.DisposeAsync();
        await _issuer.DisposeAsync();
        _rsa.Dispose();
        _ec.Dispose();
        _rotated.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task RS256_and_ES256_tokens_of_the_issuer_are_accepted_and_static_tokens_still_work()
    {
        var tokens = await SignAsync(
            ("RS256", "rsa-1", _rsa, Claims()),
            ("ES256", "ec-1", _ec, Claims()),
            ("RS256", null, _rsa, Claims())); // no kid: the issuer's single RS256 key
        foreach (var token in tokens)
        {
            var (status, text) = await GetAsync("v1/datasets", token);
            Assert.True(status == HttpStatusCode.OK, text);
        }

        Assert.Equal(HttpStatusCode.OK, (await GetAsync("v1/datasets", StaticToken)).Status);
    }

    [Theory]
    [InlineData("expired", "expired")]
    [InlineData("audience", "audience")]
    [InlineData("issuer", "issuer")]
    [InlineData("not-yet", "not valid before")]
    [InlineData("no-exp", "'exp'")]
    public async Task Invalid_claims_are_401_with_the_reason(string what, string reason)
    {
        var claims = what switch
        {
            "expired" => Claims(expiresIn: -120),
            "audience" => Claims(audience: "someone-else"),
            "issuer" => Claims(issuer: _issuer.Url + "/other"),
            "not-yet" => Claims(notBefore: 300),
            _ => Without(Claims(), "exp"),
        };
        var token = Assert.Single(await SignAsync(("RS256", "rsa-1", _rsa, claims)));
        await AssertUnauthorizedAsync(token, reason);
    }

    [Fact]
    public async Task Clock_skew_admits_a_token_that_expired_seconds_ago()
    {
        var token = Assert.Single(await SignAsync(("ES256", "ec-1", _ec, Claims(expiresIn: -20))));
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("v1/datasets", token)).Status);
    }

    [Fact]
    public async Task A_bad_signature_alg_none_and_HS256_key_confusion_are_401()
    {
        var token = Assert.Single(await SignAsync(("RS256", "rsa-1", _rsa, Claims())));
        var parts = token.Split('.');

        // Same signature, payload changed (groups widened).
        var forged = parts[0] + "." + B64(JsonSerializer.SerializeToUtf8Bytes(Claims(groups: ["team", "*"]))) + "." + parts[2];
        await AssertUnauthorizedAsync(forged, "signature");

        // Signed by a key the issuer never published, under the issuer's kid.
        using var stranger = RSA.Create(2048);
        await AssertUnauthorizedAsync(Assert.Single(await SignAsync(("RS256", "rsa-1", stranger, Claims()))), "signature");

        var none = B64("""{"alg":"none","typ":"JWT"}"""u8.ToArray()) + "." + parts[1] + ".";
        await AssertUnauthorizedAsync(none, "algorithm 'none'");

        // HS256 keyed with the public key (the classic confusion attack).
        var header = B64("""{"alg":"HS256","typ":"JWT","kid":"rsa-1"}"""u8.ToArray());
        var mac = HMACSHA256.HashData(_rsa.ExportSubjectPublicKeyInfo(), Encoding.ASCII.GetBytes(header + "." + parts[1]));
        await AssertUnauthorizedAsync(header + "." + parts[1] + "." + B64(mac), "algorithm 'HS256'");

        await AssertUnauthorizedAsync("not.a-jwt.at-all", "well-formed");
    }

    [Fact]
    public async Task Groups_from_the_configured_claim_drive_the_dataset_acl()
    {
        var tokens = await SignAsync(
            ("RS256", "rsa-1", _rsa, Claims(groups: ["team"])),
            ("RS256", "rsa-1", _rsa, Claims(groups: ["other"])),
            ("RS256", "rsa-1", _rsa, Without(Claims(groups: ["team"]), "cognito:groups", addGroups: ("groups", ["team"]))));
        var (team, other, wrongClaim) = (tokens[0], tokens[1], tokens[2]);

        Assert.Contains("secret/s", (await GetAsync("v1/datasets?q=secret", team)).Text, StringComparison.Ordinal);
        Assert.DoesNotContain("secret/s", (await GetAsync("v1/datasets?q=secret", other)).Text, StringComparison.Ordinal);

        const string Query = """{ "datasets": ["secret/s"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean"] } }""";
        var (status, text) = await PostAsync(Query, other);
        Assert.True(status == HttpStatusCode.Forbidden, text);
        Assert.Contains("\"forbidden\"", text, StringComparison.Ordinal);
        // Groups in a claim other than the configured one count for nothing.
        Assert.Equal(HttpStatusCode.Forbidden, (await PostAsync(Query, wrongClaim)).Status);
        // The team passes the ACL; this router has no workers for r1, so the query stops at 503 naming it.
        var (teamStatus, teamText) = await PostAsync(Query, team);
        Assert.True(teamStatus == HttpStatusCode.ServiceUnavailable, teamText);
        Assert.Contains("r1", teamText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rotated_key_is_fetched_when_a_token_names_an_unknown_kid()
    {
        var token = Assert.Single(await SignAsync(("RS256", "rsa-2", _rotated, Claims())));
        await AssertUnauthorizedAsync(token, "no RS256 signing key 'rsa-2'");
        _issuer.Keys = [Jwk(_rsa, "rsa-1"), Jwk(_rotated, "rsa-2")];
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("v1/datasets", token)).Status);
    }

    [Fact]
    public async Task Keys_can_come_from_a_jwks_file_and_grpc_accepts_jwts_too()
    {
        var jwks = Path.Combine(_dir, "jwks.json");
        await File.WriteAllTextAsync(jwks, new JsonObject { ["keys"] = new JsonArray(Jwk(_ec, "file-ec")) }.ToJsonString());
        await using var router = await RouterHost.BuildAsync(new RouterOptions
        {
            CatalogPath = Path.Combine(_dir, "catalog.db"),
            Workers = new Dictionary<string, IReadOnlyList<Uri>>(),
            Jwt = new JwtOptions { Issuer = "https://login.example.org/realm", Audience = Audience, JwksPath = jwks },
        });
        await router.StartAsync();
        var (http, grpc) = RouterHost.GetUrls(router);
        var tokens = await SignAsync(
            ("ES256", "file-ec", _ec, Claims(issuer: "https://login.example.org/realm")),
            ("ES256", "ec-1", _ec, Claims(issuer: "https://login.example.org/realm")));
        using var client = new HttpClient { BaseAddress = http };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens[0]);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("v1/datasets", UriKind.Relative))).StatusCode);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens[1]);
        var refused = await client.GetAsync(new Uri("v1/datasets", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("'ec-1'", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // gRPC: the JWT passes authentication; the Ping then fails only for want of workers.
        using var grpcClient = new Protocol.Grpc.GrpcClient(grpc);
        var options = Protocol.Grpc.GrpcCallOptions.WithTimeout(TimeSpan.FromSeconds(10));
        var ok = await Assert.ThrowsAsync<Protocol.Grpc.RpcException>(() => grpcClient.UnaryAsync(Protocol.ProximaMethods.RouterPing, new Protocol.V1.PingRequest(),
            options with { Headers = new Protocol.Grpc.Metadata { { "authorization", "Bearer " + tokens[0] } } }));
        Assert.Equal(Protocol.Grpc.StatusCode.InvalidArgument, ok.StatusCode);
        var bad = await Assert.ThrowsAsync<Protocol.Grpc.RpcException>(() => grpcClient.UnaryAsync(Protocol.ProximaMethods.RouterPing, new Protocol.V1.PingRequest(),
            options with { Headers = new Protocol.Grpc.Metadata { { "authorization", "Bearer " + tokens[1] } } }));
        Assert.Equal(Protocol.Grpc.StatusCode.Unauthenticated, bad.StatusCode);
        Assert.Contains("'ec-1'", bad.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_name_the_bad_field()
    {
        var http = Assert.Throws<ArgumentException>(() => new JwtOptions { Issuer = "http://login.example.org", Audience = "a" }.Validate());
        Assert.Contains("JwtOptions.Issuer", http.Message, StringComparison.Ordinal);
        var audience = Assert.Throws<ArgumentException>(() => new JwtOptions { Issuer = "https://login.example.org", Audience = " " }.Validate());
        Assert.Contains("JwtOptions.Audience", audience.Message, StringComparison.Ordinal);
    }

    private async Task AssertUnauthorizedAsync(string token, string reason)
    {
        var (status, text) = await GetAsync("v1/datasets", token);
        Assert.True(status == HttpStatusCode.Unauthorized, text);
        Assert.Contains("\"unauthorized\"", text, StringComparison.Ordinal);
        Assert.Contains(reason, text, StringComparison.Ordinal);
    }

    private async Task<(HttpStatusCode Status, string Text)> GetAsync(string path, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<(HttpStatusCode Status, string Text)> PostAsync(string body, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("v1/query", UriKind.Relative))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private JsonObject Claims(int expiresIn = 600, string? audience = null, string? issuer = null, int? notBefore = null, string[]? groups = null)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = new JsonObject
        {
            ["iss"] = issuer ?? _issuer.Url,
            ["sub"] = "alice",
            ["aud"] = new JsonArray(audience ?? Audience, "another-api"),
            ["iat"] = now,
            ["exp"] = now + expiresIn,
            ["cognito:groups"] = new JsonArray([.. (groups ?? []).Select(g => JsonValue.Create(g))]),
        };
        if (notBefore is { } nbf)
        {
            claims["nbf"] = now + nbf;
        }

        return claims;
    }

    private static JsonObject Without(JsonObject claims, string name, (string Name, string[] Values)? addGroups = null)
    {
        claims.Remove(name);
        if (addGroups is { } g)
        {
            claims[g.Name] = new JsonArray([.. g.Values.Select(v => JsonValue.Create(v))]);
        }

        return claims;
    }

    /// <summary>Tokens signed by PyJWT with the given private keys.</summary>
    private async Task<string[]> SignAsync(params (string Alg, string? Kid, AsymmetricAlgorithm Key, JsonObject Claims)[] requests)
    {
        var list = new JsonArray();
        foreach (var (alg, kid, key, claims) in requests)
        {
            list.Add(new JsonObject { ["alg"] = alg, ["kid"] = kid, ["key"] = key.ExportPkcs8PrivateKeyPem(), ["claims"] = claims.DeepClone() });
        }

        var input = Path.Combine(_dir, $"sign-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(input, list.ToJsonString());
        var script = Path.Combine(RepoPaths.Root, "tests", "Proxima.QueryRouter.Tests", "Security", "sign_jwts.py");
        var output = await Python.RunAsync(script, [input]);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    private static JsonObject Jwk(AsymmetricAlgorithm key, string kid) => key switch
    {
        RSA rsa => new JsonObject
        {
            ["kty"] = "RSA",
            ["use"] = "sig",
            ["alg"] = "RS256",
            ["kid"] = kid,
            ["n"] = B64(rsa.ExportParameters(false).Modulus!),
            ["e"] = B64(rsa.ExportParameters(false).Exponent!),
        },
        ECDsa ec => new JsonObject
        {
            ["kty"] = "EC",
            ["crv"] = "P-256",
            ["kid"] = kid,
            ["x"] = B64(ec.ExportParameters(false).Q.X!),
            ["y"] = B64(ec.ExportParameters(false).Q.Y!),
        },
        _ => throw new ArgumentException("unsupported key", nameof(key)),
    };

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static DatasetDocument Document(string id, string[] acl) => new()
    {
        Id = id,
        Region = "r1",
        Uri = id + ".zarr",
        Format = DatasetFormat.ZarrV2,
        Fingerprint = "f-" + id,
        Variables = [new VariableInfo { Name = "t", Dims = ["time", "lat", "lon"], Units = "K" }],
        Bbox = new BoundingBox(-180, -90, 180, 90),
        Time = new TimeExtent { Start = "2000-01-01T00:00:00", End = "2000-12-31T00:00:00" },
        Acl = acl,
    };

    /// <summary>A loopback OIDC issuer: discovery document and a JWKS the test can change.</summary>
    private sealed class Issuer : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private Issuer(WebApplication app, string url)
        {
            _app = app;
            Url = url;
        }

        public string Url { get; }

        public JsonObject[] Keys { get; set; } = [];

        public static async Task<Issuer> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            Issuer? issuer = null;
            app.MapGet("/realm/.well-known/openid-configuration", () => Results.Text(
                new JsonObject { ["issuer"] = issuer!.Url, ["jwks_uri"] = issuer.Url + "/jwks.json" }.ToJsonString(), "application/json"));
            app.MapGet("/realm/jwks.json", () => Results.Text(
                new JsonObject { ["keys"] = new JsonArray([.. issuer!.Keys.Select(k => (JsonNode)k.DeepClone())]) }.ToJsonString(), "application/json"));
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            issuer = new Issuer(app, address.TrimEnd('/') + "/realm");
            return issuer;
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
