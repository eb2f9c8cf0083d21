using System.Text;
using System.Text.Json;

namespace Proxima.QueryRouter.Security;

/// <summary>
/// Validates a compact JWS (RFC 7515/7519) by hand with System.Security.Cryptography: header
/// <c>alg</c> RS256 or ES256 only (<c>none</c>, HMAC and others are refused), signature against the
/// issuer's published key, then <c>iss</c>, <c>aud</c> (or Cognito's <c>client_id</c>), <c>exp</c>
/// (required) and <c>nbf</c> within the clock skew. The failure reason goes back to the caller in the 401.
/// </summary>
internal sealed class JwtValidator(JwtOptions options, JwksKeys keys, TimeProvider time)
{
    /// <summary>A compact JWS: three base64url parts (the static tokens are one).</summary>
    public static bool LooksLikeJwt(ReadOnlySpan<char> token) => token.Count('.') == 2;

    public async Task<AuthResult> ValidateAsync(string token, CancellationToken cancellationToken)
    {
        var first = token.IndexOf('.', StringComparison.Ordinal);
        var second = token.IndexOf('.', first + 1);
        JsonDocument header, payload;
        byte[] signature;
        try
        {
            header = JsonDocument.Parse(Base64Url.Decode(token[..first], "the JWT header"));
            payload = JsonDocument.Parse(Base64Url.Decode(token[(first + 1)..second], "the JWT payload"));
            signature = Base64Url.Decode(token[(second + 1)..], "the JWT signature");
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return AuthResult.Fail($"the bearer token is not a well-formed JWT: {ex.Message}");
        }

        using (header)
        using (payload)
        {
            if (header.RootElement.ValueKind != JsonValueKind.Object || payload.RootElement.ValueKind != JsonValueKind.Object)
            {
                return AuthResult.Fail("the bearer token is not a well-formed JWT: header and payload must be JSON objects");
            }

            var alg = String(header.RootElement, "alg");
            if (alg is not ("RS256" or "ES256"))
            {
                return AuthResult.Fail($"JWT algorithm '{alg ?? "(missing)"}' is not accepted (RS256 or ES256 only)");
            }

            if (header.RootElement.TryGetProperty("crit", out _))
            {
                return AuthResult.Fail("JWT header 'crit' extensions are not supported");
            }

            var (key, keyError) = await keys.FindAsync(String(header.RootElement, "kid"), alg, cancellationToken);
            if (key is null)
            {
                return AuthResult.Fail($"JWT not verifiable: {keyError}");
            }

            if (!key.Verify(Encoding.ASCII.GetBytes(token, 0, second), signature))
            {
                return AuthResult.Fail("JWT signature is not valid for the issuer's key");
            }

            return CheckClaims(payload.RootElement);
        }
    }

    private AuthResult CheckClaims(JsonElement claims)
    {
        var issuer = String(claims, "iss");
        if (issuer != options.Issuer)
        {
            return AuthResult.Fail($"JWT issuer '{issuer}' is not the configured issuer '{options.Issuer}'");
        }

        if (!HasAudience(claims))
        {
            return AuthResult.Fail($"JWT audience does not include '{options.Audience}'");
        }

        var now = time.GetUtcNow();
        if (Seconds(claims, "exp") is not { } exp)
        {
            return AuthResult.Fail("JWT has no numeric 'exp' (expiry) claim");
        }

        if (now > DateTimeOffset.FromUnixTimeSeconds(exp) + options.ClockSkew)
        {
            return AuthResult.Fail($"JWT expired at {DateTimeOffset.FromUnixTimeSeconds(exp):u}");
        }

        if (Seconds(claims, "nbf") is { } nbf && now < DateTimeOffset.FromUnixTimeSeconds(nbf) - options.ClockSkew)
        {
            return AuthResult.Fail($"JWT is not valid before {DateTimeOffset.FromUnixTimeSeconds(nbf):u}");
        }

        var name = String(claims, options.NameClaim);
        if (string.IsNullOrEmpty(name))
        {
            return AuthResult.Fail($"JWT has no '{options.NameClaim}' claim naming the caller");
        }

        return AuthResult.Ok(new ClientIdentity(name, Groups(claims)));
    }

    private bool HasAudience(JsonElement claims)
    {
        if (!claims.TryGetProperty("aud", out var aud))
        {
            // Cognito access tokens carry the app client in client_id instead of aud.
            return String(claims, "client_id") == options.Audience;
        }

        if (aud.ValueKind == JsonValueKind.String)
        {
            return aud.GetString() == options.Audience;
        }

        if (aud.ValueKind == JsonValueKind.Array)
        {
            foreach (var a in aud.EnumerateArray())
            {
                if (a.ValueKind == JsonValueKind.String && a.GetString() == options.Audience)
                {
                    return true;
                }
            }
        }

        return false;
    }

    private List<string> Groups(JsonElement claims)
    {
        var groups = new List<string>();
        if (!claims.TryGetProperty(options.GroupsClaim, out var value))
        {
            return groups;
        }

        if (value.ValueKind == JsonValueKind.Array)
        {
            foreach (var g in value.EnumerateArray())
            {
                if (g.ValueKind == JsonValueKind.String && g.GetString() is { Length: > 0 } s)
                {
                    groups.Add(s);
                }
            }
        }
        else if (value.ValueKind == JsonValueKind.String)
        {
            groups.AddRange(value.GetString()!.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        return groups;
    }

    private static string? String(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static long? Seconds(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && double.IsFinite(d)
            ? (long)Math.Clamp(Math.Floor(d), -62135596800, 253402300799) : null; // DateTimeOffset's range
}

/// <summary>An authentication outcome: the caller, or why it was refused (said in the 401).</summary>
internal readonly record struct AuthResult(ClientIdentity? Identity, string? Reason)
{
    public static AuthResult Ok(ClientIdentity identity) => new(identity, null);

    public static AuthResult Fail(string reason) => new(null, reason);
}
