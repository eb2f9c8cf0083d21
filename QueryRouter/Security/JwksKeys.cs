using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Proxima.QueryRouter.Security;

/// <summary>One verification key of a JWKS: RSA (RS256) or EC P-256 (ES256).</summary>
internal sealed class JsonWebKey(string? kid, string alg, AsymmetricAlgorithm key) : IDisposable
{
    public string? Kid { get; } = kid;

    /// <summary>The JWS algorithm the key verifies: <c>RS256</c> or <c>ES256</c>.</summary>
    public string Alg { get; } = alg;

    public bool Verify(ReadOnlySpan<byte> signed, ReadOnlySpan<byte> signature) => key switch
    {
        RSA rsa => rsa.VerifyData(signed, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        // JWS ES256 signatures are r||s (IEEE P1363), .NET's default format.
        ECDsa ec => signature.Length == 64 && ec.VerifyData(signed, signature, HashAlgorithmName.SHA256),
        _ => false,
    };

    public void Dispose() => key.Dispose();

    /// <summary>The usable keys of a JWKS document; keys of other types, curves or uses are skipped.</summary>
    public static List<JsonWebKey> ParseSet(ReadOnlySpan<byte> json, string source)
    {
        using var doc = JsonDocument.Parse(json.ToArray());
        if (!doc.RootElement.TryGetProperty("keys", out var keys) || keys.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"{source}: a JWKS needs a \"keys\" array");
        }

        var result = new List<JsonWebKey>();
        foreach (var k in keys.EnumerateArray())
        {
            if (String(k, "use") is { } use && use != "sig")
            {
                continue;
            }

            var kid = String(k, "kid");
            switch (String(k, "kty"))
            {
                case "RSA" when String(k, "alg") is null or "RS256":
                    var rsa = RSA.Create();
                    rsa.ImportParameters(new RSAParameters { Modulus = Bytes(k, "n", source), Exponent = Bytes(k, "e", source) });
                    if (rsa.KeySize < 2048)
                    {
                        var bits = rsa.KeySize;
                        rsa.Dispose();
                        throw new FormatException($"{source}: RSA key '{kid}' has {bits} bits; at least 2048 are required");
                    }

                    result.Add(new JsonWebKey(kid, "RS256", rsa));
                    break;
                case "EC" when String(k, "crv") == "P-256" && String(k, "alg") is null or "ES256":
                    var ec = ECDsa.Create(new ECParameters
                    {
                        Curve = ECCurve.NamedCurves.nistP256,
                        Q = new ECPoint { X = Bytes(k, "x", source), Y = Bytes(k, "y", source) },
                    });
                    result.Add(new JsonWebKey(kid, "ES256", ec));
                    break;
            }
        }

        return result;
    }

    private static string? String(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static byte[] Bytes(JsonElement e, string name, string source) =>
        Base64Url.Decode(String(e, name) ?? throw new FormatException($"{source}: a key lacks \"{name}\""), $"{source}: key field \"{name}\"");
}

/// <summary>
/// The issuer's signing keys, from a JWKS file or from OIDC discovery, re-read periodically and on an
/// unknown key id (rate-limited). A failed re-read keeps the previous keys (logged).
/// </summary>
internal sealed class JwksKeys(JwtOptions options, HttpClient http, TimeProvider time, ILogger logger) : IDisposable
{
    private readonly SemaphoreSlim _loading = new(1, 1);
    private List<JsonWebKey> _keys = [];
    private long _loadedAt = long.MinValue;
    private long _triedAt = long.MinValue;
    private string? _lastError;

    /// <summary>The key a token's header names, or (no <c>kid</c>) the single key of its algorithm; refreshes as needed.</summary>
    public async Task<(JsonWebKey? Key, string? Error)> FindAsync(string? kid, string alg, CancellationToken cancellationToken)
    {
        // Due for a re-read; after a failed one, not again before UnknownKeyRefresh (an unreachable
        // issuer is not asked once per request).
        if (Elapsed(_loadedAt) > options.KeysRefresh && Elapsed(_triedAt) > options.UnknownKeyRefresh)
        {
            await RefreshAsync(cancellationToken);
        }

        var key = Find(_keys, kid, alg);
        if (key is null && Elapsed(_triedAt) > options.UnknownKeyRefresh)
        {
            await RefreshAsync(cancellationToken);
            key = Find(_keys, kid, alg);
        }

        return key is not null ? (key, null)
            : _keys.Count == 0 ? (null, $"the issuer's signing keys are unavailable ({_lastError ?? "none published"})")
            : (null, kid is null ? $"the token has no 'kid' and the issuer publishes no single {alg} key" : $"no {alg} signing key '{kid}' is published by the issuer");
    }

    private static JsonWebKey? Find(List<JsonWebKey> keys, string? kid, string alg)
    {
        JsonWebKey? only = null;
        var count = 0;
        foreach (var k in keys)
        {
            if (k.Alg != alg)
            {
                continue;
            }

            if (kid is not null && k.Kid == kid)
            {
                return k;
            }

            only = k;
            count++;
        }

        return kid is null && count == 1 ? only : null;
    }

    private TimeSpan Elapsed(long since) => since == long.MinValue ? TimeSpan.MaxValue : time.GetElapsedTime(since);

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        await _loading.WaitAsync(cancellationToken);
        try
        {
            if (_triedAt != long.MinValue && _triedAt >= started)
            {
                return; // another caller refreshed while this one waited
            }

            _triedAt = time.GetTimestamp();
            string source = options.JwksPath ?? options.Issuer;
            try
            {
                List<JsonWebKey> keys;
                if (options.JwksPath is { } path)
                {
                    keys = JsonWebKey.ParseSet(await File.ReadAllBytesAsync(path, cancellationToken), path);
                }
                else
                {
                    var jwksUri = await DiscoverJwksUriAsync(cancellationToken);
                    source = jwksUri.ToString();
                    keys = JsonWebKey.ParseSet(await http.GetByteArrayAsync(jwksUri, cancellationToken), source);
                }

                _keys = keys;
                _loadedAt = _triedAt;
                _lastError = null;
                RouterLog.SigningKeysLoaded(logger, keys.Count, source);
            }
            catch (Exception ex) when (ex is HttpRequestException or FormatException or JsonException or IOException or TaskCanceledException or CryptographicException
                && !cancellationToken.IsCancellationRequested)
            {
                _lastError = $"{source}: {ex.Message}";
                RouterLog.SigningKeysFailed(logger, source, ex.Message);
            }
        }
        finally
        {
            _loading.Release();
        }
    }

    private async Task<Uri> DiscoverJwksUriAsync(CancellationToken cancellationToken)
    {
        var discovery = new Uri(options.Issuer.TrimEnd('/') + "/.well-known/openid-configuration");
        using var doc = JsonDocument.Parse(await http.GetByteArrayAsync(discovery, cancellationToken));
        var root = doc.RootElement;
        // OpenID Connect Discovery §4.3: the document's issuer must be the one asked for.
        var issuer = root.TryGetProperty("issuer", out var i) ? i.GetString() : null;
        if (issuer != options.Issuer)
        {
            throw new FormatException($"{discovery}: \"issuer\" is '{issuer}', expected '{options.Issuer}'");
        }

        var jwks = root.TryGetProperty("jwks_uri", out var j) ? j.GetString() : null;
        if (!Uri.TryCreate(jwks, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && !(uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback)))
        {
            throw new FormatException($"{discovery}: \"jwks_uri\" '{jwks}' is not an https URL");
        }

        return uri;
    }

    public void Dispose()
    {
        _loading.Dispose();
        http.Dispose();
    }
}

/// <summary>base64url without padding (RFC 7515 §2).</summary>
internal static class Base64Url
{
    public static byte[] Decode(string text, string what)
    {
        if (!System.Buffers.Text.Base64Url.IsValid(text))
        {
            throw new FormatException($"{what} is not base64url");
        }

        return System.Buffers.Text.Base64Url.DecodeFromChars(text);
    }
}
