using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Proxima.QueryRouter.Security;

/// <summary>Who sent a request: a token's name and its groups (for dataset ACLs and per-client limits).</summary>
public sealed record ClientIdentity(string Name, IReadOnlyList<string> Groups)
{
    /// <summary>The identity when authentication is off: sees every dataset.</summary>
    public static ClientIdentity Anonymous { get; } = new("anonymous", ["*"]);
}

/// <summary>A token and what it may see, as read from a tokens file.</summary>
public sealed record TokenGrant(string Token, string Name, IReadOnlyList<string> Groups);

/// <summary>
/// Bearer-token authentication (<c>authorization: Bearer &lt;token&gt;</c>) for the router's HTTP and gRPC
/// APIs. Tokens are kept as SHA-256 digests and compared in constant time.
/// </summary>
/// <remarks>
/// Tokens file (JSON): <c>{ "tokens": [ { "token": "…", "name": "alice", "groups": ["era5"] } ] }</c>.
/// A token with the group <c>*</c> sees every dataset. Local mode: <c>proxima up</c> writes one random
/// admin token to <c>STATE/token</c> (mode 0600) and the router also accepts the grants of
/// <c>STATE/tokens.json</c> when present.
/// </remarks>
public sealed class TokenAuthenticator
{
    private readonly Dictionary<string, ClientIdentity> _byDigest = new(StringComparer.Ordinal);

    public TokenAuthenticator(IEnumerable<TokenGrant> grants)
    {
        foreach (var g in grants)
        {
            if (string.IsNullOrWhiteSpace(g.Token) || g.Token.Length < 16)
            {
                throw new ArgumentException($"token '{g.Name}': a token must be at least 16 characters");
            }

            _byDigest[Digest(g.Token)] = new ClientIdentity(g.Name, g.Groups);
        }
    }

    /// <summary>The identity of an <c>authorization</c> header value, or null when it is absent or unknown.</summary>
    public ClientIdentity? Authenticate(string? authorization)
    {
        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var token = authorization.AsSpan(7).Trim();
        if (token.Length == 0)
        {
            return null;
        }

        var digest = Digest(token.ToString());
        foreach (var (known, identity) in _byDigest)
        {
            if (CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(known), Encoding.ASCII.GetBytes(digest)))
            {
                return identity;
            }
        }

        return null;
    }

    /// <summary>A single admin token from a one-line file (local mode's <c>STATE/token</c>).</summary>
    public static TokenGrant ReadTokenFile(string path)
    {
        var token = File.ReadAllText(path).Trim();
        return new TokenGrant(token, "local-admin", ["*"]);
    }

    /// <summary>Reads a tokens file; a malformed one is an error naming the entry.</summary>
    public static List<TokenGrant> ReadTokensFile(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var grants = new List<TokenGrant>();
        if (!doc.RootElement.TryGetProperty("tokens", out var tokens) || tokens.ValueKind != JsonValueKind.Array)
        {
            throw new FormatException($"{path}: expected {{\"tokens\": [ {{\"token\", \"name\", \"groups\"}} ]}}");
        }

        var i = 0;
        foreach (var t in tokens.EnumerateArray())
        {
            var token = t.TryGetProperty("token", out var tv) ? tv.GetString() : null;
            var name = t.TryGetProperty("name", out var nv) ? nv.GetString() : null;
            if (token is null || name is null)
            {
                throw new FormatException($"{path}: tokens[{i}] needs \"token\" and \"name\"");
            }

            var groups = new List<string>();
            if (t.TryGetProperty("groups", out var gv))
            {
                foreach (var g in gv.EnumerateArray())
                {
                    groups.Add(g.GetString() ?? throw new FormatException($"{path}: tokens[{i}].groups must be strings"));
                }
            }

            grants.Add(new TokenGrant(token, name, groups));
            i++;
        }

        return grants;
    }

    /// <summary>A new random token (256 bits, URL-safe base64).</summary>
    public static string NewToken() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string Digest(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
