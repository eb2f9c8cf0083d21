using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Amazon.Runtime.Internal.Auth;

namespace Proxima.Aws;

/// <summary>
/// Signs an <see cref="HttpRequestMessage"/> with AWS Signature Version 4 using AWSSDK.Core's
/// <see cref="AWS4Signer"/> primitives (canonical request + signature), so hand-written REST clients
/// (OpenSearch, FSx) sign exactly like the SDK's own clients. Shared by source link (Catalog, CatalogSync).
/// </summary>
internal static class AwsSigV4
{
    /// <summary>Adds <c>host</c>, <c>x-amz-date</c>, <c>x-amz-content-sha256</c>, optional <c>x-amz-security-token</c> and <c>Authorization</c>.</summary>
    public static void Sign(HttpRequestMessage request, ReadOnlySpan<byte> body, ImmutableCredentials credentials, string region, string service, DateTime utcNow)
    {
        var uri = request.RequestUri ?? throw new ArgumentException("request has no URI", nameof(request));
        string bodyHash = Convert.ToHexStringLower(SHA256.HashData(body));
        string amzDate = utcNow.ToUniversalTime().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["host"] = uri.IsDefaultPort ? uri.Host : uri.Host + ":" + uri.Port.ToString(CultureInfo.InvariantCulture),
            ["x-amz-date"] = amzDate,
            ["x-amz-content-sha256"] = bodyHash,
        };
        if (request.Content?.Headers.ContentType is { } ct)
        {
            headers["content-type"] = ct.ToString();
        }

        if (request.Headers.TryGetValues("X-Amz-Target", out var target))
        {
            headers["x-amz-target"] = string.Join(",", target);
        }

        if (credentials.UseToken)
        {
            headers["x-amz-security-token"] = credentials.Token;
        }

        var names = new List<string>(headers.Count);
        foreach (string k in headers.Keys)
        {
            names.Add(k.ToLowerInvariant());
        }

        names.Sort(StringComparer.Ordinal);
        var sb = new StringBuilder();
        sb.Append(request.Method.Method).Append('\n');
        sb.Append(CanonicalPath(uri.AbsolutePath)).Append('\n');
        sb.Append(CanonicalQuery(uri.Query)).Append('\n');
        foreach (string n in names)
        {
            sb.Append(n).Append(':').Append(headers[n].Trim()).Append('\n');
        }

        sb.Append('\n');
        string signedHeaders = string.Join(";", names);
        sb.Append(signedHeaders).Append('\n').Append(bodyHash);
        string canonical = sb.ToString();
        var result = AWS4Signer.ComputeSignature(credentials, region, utcNow.ToUniversalTime(), service, signedHeaders, canonical);

        request.Headers.TryAddWithoutValidation("x-amz-date", amzDate);
        request.Headers.TryAddWithoutValidation("x-amz-content-sha256", bodyHash);
        if (credentials.UseToken)
        {
            request.Headers.TryAddWithoutValidation("x-amz-security-token", credentials.Token);
        }

        request.Headers.TryAddWithoutValidation("Authorization", result.ForAuthorizationHeader);
    }

    // Non-S3 services: each path segment is URI-encoded again on top of the request's own encoding.
    internal static string CanonicalPath(string absolutePath)
    {
        if (absolutePath.Length == 0)
        {
            return "/";
        }

        var sb = new StringBuilder();
        string[] segs = absolutePath.Split('/');
        for (int i = 0; i < segs.Length; i++)
        {
            if (i > 0)
            {
                sb.Append('/');
            }

            sb.Append(Encode(segs[i]));
        }

        return sb.ToString();
    }

    internal static string CanonicalQuery(string query)
    {
        var pairs = new List<(string K, string V)>();
        foreach (string part in query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            string k = Uri.UnescapeDataString(eq < 0 ? part : part[..eq]);
            string v = eq < 0 ? "" : Uri.UnescapeDataString(part[(eq + 1)..]);
            pairs.Add((Encode(k), Encode(v)));
        }

        pairs.Sort(static (a, b) =>
        {
            int c = string.CompareOrdinal(a.K, b.K);
            return c != 0 ? c : string.CompareOrdinal(a.V, b.V);
        });
        var sb = new StringBuilder();
        foreach (var (k, v) in pairs)
        {
            sb.Append(sb.Length == 0 ? "" : "&").Append(k).Append('=').Append(v);
        }

        return sb.ToString();
    }

    /// <summary>RFC 3986 encoding as SigV4 wants it: unreserved characters kept, everything else %XX (upper hex) of UTF-8.</summary>
    internal static string Encode(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (byte b in Encoding.UTF8.GetBytes(s))
        {
            char c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~')
            {
                sb.Append(c);
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    /// <summary>Credentials from the SDK's default chain (environment, profile, container/instance role).</summary>
    public static async Task<ImmutableCredentials> ResolveAsync(AWSCredentials? explicitCredentials)
    {
        var creds = explicitCredentials ?? await DefaultAWSCredentialsIdentityResolver.GetCredentialsAsync(null).ConfigureAwait(false);
        return await creds.GetCredentialsAsync().ConfigureAwait(false);
    }
}
