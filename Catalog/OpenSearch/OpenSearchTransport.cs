using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Microsoft.Extensions.Logging;
using Proxima.Aws;
using Proxima.Catalog.Aws;

namespace Proxima.Catalog.OpenSearch;

/// <summary>Options for <see cref="OpenSearchCatalog"/>, validated by its constructor.</summary>
public sealed record OpenSearchCatalogOptions
{
    /// <summary>Cluster endpoint, e.g. <c>https://search-x.eu-west-2.es.amazonaws.com</c> or <c>http://localhost:9200</c>.</summary>
    public required Uri Endpoint { get; init; }

    /// <summary>Prefix of every index/alias this catalog owns: indices <c>{prefix}-datasets-{region}-{run}</c>, aliases
    /// <c>{prefix}-datasets</c> (all live) and <c>{prefix}-datasets-{region}</c>, plus <c>{prefix}-runs</c>, <c>{prefix}-regions</c>, <c>{prefix}-locks</c>.</summary>
    public string IndexPrefix { get; init; } = "proxima";

    /// <summary>AWS region for SigV4 signing. Null = the region in an Amazon OpenSearch Service host name
    /// (<c>search-NAME-ID.REGION.es.amazonaws.com</c>, <c>vpc-...</c>, <c>....aos.REGION.on.aws</c>), which such a domain
    /// requires; any other host (a self-managed cluster, a custom endpoint without a region) is sent unsigned.</summary>
    public string? SigningRegion { get; init; }

    /// <summary><see cref="SigningRegion"/>, else the region of an Amazon OpenSearch Service endpoint; null = unsigned.</summary>
    internal string? EffectiveSigningRegion => SigningRegion ?? RegionOfManagedDomain(Endpoint.Host);

    /// <summary>SigV4 service name: <c>es</c> (managed domains) or <c>aoss</c> (serverless).</summary>
    public string SigningService { get; init; } = "es";

    /// <summary>Credentials for signing; null = the SDK's default chain.</summary>
    public AWSCredentials? Credentials { get; init; }

    /// <summary>IAM role ARN that <see cref="OpenSearchCatalog.EnsureReaderMappingAsync"/> maps to the built-in <c>readall</c>
    /// role (fine-grained access control: the router's role, mapped by the sync, which is the domain's master); null = none.</summary>
    public string? ReaderRoleArn { get; init; }

    /// <summary>Optional basic auth (self-managed clusters).</summary>
    public string? Username { get; init; }

    public string? Password { get; init; }

    /// <summary>Attempts per request on 429/502/503/504 or connection errors.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>First retry delay; doubles per attempt, with jitter, capped at 10 s; <c>Retry-After</c> wins when larger.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Bulk request size in documents.</summary>
    public int BulkSize { get; init; } = 500;

    /// <summary>Refresh after every write (tests); otherwise only before the alias swap.</summary>
    public bool RefreshOnWrite { get; init; }

    /// <summary>Heartbeat age after which another writer's lock on a region is considered dead.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>The region of an Amazon OpenSearch Service domain endpoint, or null when the host is not one.</summary>
    internal static string? RegionOfManagedDomain(string host)
    {
        // search-NAME-ID.REGION.es.amazonaws.com(.cn) and vpc-NAME-ID.REGION.es.amazonaws.com(.cn); dual-stack
        // search-NAME-ID.aos.REGION.on.aws. Labels are lowercase in DNS but users may paste them in any case.
        string[] labels = host.TrimEnd('.').ToLowerInvariant().Split('.');
        if (labels.Length < 4 || !(labels[0].StartsWith("search-", StringComparison.Ordinal) || labels[0].StartsWith("vpc-", StringComparison.Ordinal)))
        {
            return null;
        }

        string suffix = string.Join('.', labels, 2, labels.Length - 2);
        if (suffix is "es.amazonaws.com" or "es.amazonaws.com.cn")
        {
            return labels[1];
        }

        return labels.Length == 5 && labels[1] == "aos" && labels[3] == "on" && labels[4] == "aws" ? labels[2] : null;
    }

    internal void Validate()
    {
        if (!Endpoint.IsAbsoluteUri || (Endpoint.Scheme != "http" && Endpoint.Scheme != "https"))
        {
            throw new ArgumentException($"OpenSearchCatalogOptions.Endpoint must be an absolute http(s) URL (got '{Endpoint}')");
        }

        foreach (char c in IndexPrefix)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-' || c == '_'))
            {
                throw new ArgumentException($"OpenSearchCatalogOptions.IndexPrefix must be lowercase letters, digits, '-' or '_' (got '{IndexPrefix}')");
            }
        }

        if (MaxAttempts < 1)
        {
            throw new ArgumentException("OpenSearchCatalogOptions.MaxAttempts must be >= 1");
        }

        if (BulkSize < 1)
        {
            throw new ArgumentException("OpenSearchCatalogOptions.BulkSize must be >= 1");
        }
    }
}

/// <summary>A response: status and parsed JSON body (null when empty or not JSON).</summary>
internal sealed record OsResponse(HttpStatusCode Status, JsonNode? Body, string Raw)
{
    public bool Ok => (int)Status is >= 200 and < 300;
}

/// <summary>REST transport: JSON in/out, retries with exponential backoff + jitter on 429/5xx, optional SigV4.</summary>
internal sealed class OpenSearchTransport
{
    private readonly HttpClient _http;
    private readonly OpenSearchCatalogOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly string? _signingRegion;

    public OpenSearchTransport(HttpClient http, OpenSearchCatalogOptions options, ILogger logger, TimeProvider time)
    {
        _http = http;
        _options = options;
        _signingRegion = options.EffectiveSigningRegion;
        _logger = logger;
        _time = time;
    }

    public Task<OsResponse> SendAsync(HttpMethod method, string pathAndQuery, JsonNode? body, CancellationToken ct) =>
        SendRawAsync(method, pathAndQuery, body is null ? null : Encoding.UTF8.GetBytes(body.ToJsonString()), "application/json", ct);

    public async Task<OsResponse> SendRawAsync(HttpMethod method, string pathAndQuery, byte[]? body, string contentType, CancellationToken ct)
    {
        var uri = new Uri(_options.Endpoint, pathAndQuery);
        for (int attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, uri);
            if (body is not null)
            {
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
            }

            if (_options.Username is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                    Convert.ToBase64String(Encoding.UTF8.GetBytes(_options.Username + ":" + _options.Password)));
            }

            if (_signingRegion is not null)
            {
                // An assumed role may call STS here: give it the request's token.
                var creds = _options.Credentials is AssumeRoleCredentials assumed
                    ? await assumed.GetAsync(ct).ConfigureAwait(false)
                    : await AwsSigV4.ResolveAsync(_options.Credentials).ConfigureAwait(false);
                AwsSigV4.Sign(request, body ?? [], creds, _signingRegion, _options.SigningService, _time.GetUtcNow().UtcDateTime);
            }

            TimeSpan? retryAfter = null;
            string reason;
            try
            {
                using var response = await _http.SendAsync(request, ct).ConfigureAwait(false);
                string raw = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
                int code = (int)response.StatusCode;
                if (code is not (429 or 502 or 503 or 504))
                {
                    return new OsResponse(response.StatusCode, TryParse(raw), raw);
                }

                reason = string.Concat(code.ToString(System.Globalization.CultureInfo.InvariantCulture), " ", Truncate(raw));
                retryAfter = response.Headers.RetryAfter?.Delta;
            }
            catch (HttpRequestException e)
            {
                reason = e.Message;
            }

            if (attempt >= _options.MaxAttempts)
            {
                throw new CatalogException($"OpenSearch {method} {pathAndQuery} failed after {attempt} attempts: {reason}");
            }

            var delay = Backoff(attempt, retryAfter);
            OpenSearchLog.Retrying(_logger, method.Method, pathAndQuery, attempt, delay.TotalMilliseconds, reason);
            await Task.Delay(delay, _time, ct).ConfigureAwait(false);
        }
    }

    internal TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        double baseMs = _options.InitialBackoff.TotalMilliseconds * Math.Pow(2, attempt - 1);
        double ms = Math.Min(10_000, baseMs * (0.5 + Random.Shared.NextDouble() * 0.5));
        var d = TimeSpan.FromMilliseconds(ms);
        return retryAfter is { } ra && ra > d ? ra : d;
    }

    private static JsonNode? TryParse(string raw)
    {
        if (raw.Length == 0)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(raw);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    internal static string Truncate(string s) => s.Length <= 300 ? s : s[..300] + "...";
}

internal static partial class OpenSearchLog
{
    [LoggerMessage(1, LogLevel.Warning, "OpenSearch {Method} {Path} attempt {Attempt} failed ({Reason}); retrying in {DelayMs} ms")]
    public static partial void Retrying(ILogger logger, string method, string path, int attempt, double delayMs, string reason);

    [LoggerMessage(2, LogLevel.Information, "Region {Region}: index {Index} is live (run {RunId})")]
    public static partial void Swapped(ILogger logger, string region, string index, string runId);

    [LoggerMessage(3, LogLevel.Warning, "Region {Region}: deleting leftover index {Index}")]
    public static partial void DeletingLeftover(ILogger logger, string region, string index);

    [LoggerMessage(4, LogLevel.Warning, "Bulk: {Count} items rejected with 429, retrying them (attempt {Attempt})")]
    public static partial void BulkRetry(ILogger logger, int count, int attempt);

    [LoggerMessage(5, LogLevel.Information, "OpenSearch role {Role}: backend role {BackendRole} mapped")]
    public static partial void BackendRoleMapped(ILogger logger, string role, string backendRole);

    [LoggerMessage(6, LogLevel.Warning, "OpenSearch refused the index template (HTTP {Status}): this process can only read the catalog (the sync, as the domain's master, installs it)")]
    public static partial void ReadOnlyOpen(ILogger logger, int status);
}
