using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Amazon.Runtime;
using Proxima.Aws;

namespace Proxima.Catalog.Aws;

/// <summary>Options for <see cref="StsClient"/>.</summary>
internal sealed record StsClientOptions
{
    /// <summary>Region of the STS endpoint (signing scope and default endpoint).</summary>
    public required string Region { get; init; }

    /// <summary>API endpoint; default the regional <c>https://sts.{Region}.amazonaws.com/</c>.</summary>
    public Uri? Endpoint { get; init; }

    /// <summary>Credentials that call AssumeRole; null = the SDK's default chain (the ECS task role in AWS).</summary>
    public AWSCredentials? Credentials { get; init; }

    /// <summary>Attempts per call on throttling, 5xx and connection errors.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>First retry delay; doubles per attempt, with jitter.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>Temporary credentials of an assumed role and when they expire.</summary>
internal sealed record AssumedRole(ImmutableCredentials Credentials, DateTimeOffset Expiration, string AssumedRoleArn);

/// <summary>
/// Minimal AWS STS client (AWSSDK.SecurityToken does not restore against the pinned AWSSDK.Core here): the Query API
/// (form-encoded POST, SigV4 service <c>sts</c>, XML answer) for the one call Proxima needs, <c>AssumeRole</c>.
/// </summary>
internal sealed class StsClient
{
    private const string Version = "2011-06-15";

    // One pooled client for the process: credentials are refreshed about hourly, DNS may move in between.
    private static readonly HttpClient SharedHttp = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = TimeSpan.FromSeconds(30),
    };

    private readonly StsClientOptions _options;
    private readonly HttpClient _http;

    public StsClient(StsClientOptions options, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Region))
        {
            throw new ArgumentException("StsClientOptions.Region is required");
        }

        if (options.MaxAttempts < 1)
        {
            throw new ArgumentException("StsClientOptions.MaxAttempts must be >= 1");
        }

        _options = options;
        Endpoint = options.Endpoint ?? new Uri($"https://sts.{options.Region}.amazonaws.com/");
        _http = httpClient ?? SharedHttp;
    }

    public Uri Endpoint { get; }

    /// <summary>Calls <c>AssumeRole</c>; retries throttling, 5xx and connection errors with backoff.</summary>
    /// <exception cref="CatalogException">STS refused (the message names the role, the HTTP status and STS's error code), or kept failing.</exception>
    public async Task<AssumedRole> AssumeRoleAsync(string roleArn, string sessionName, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(roleArn);
        ArgumentException.ThrowIfNullOrEmpty(sessionName);
        string form = string.Concat(
            "Action=AssumeRole&Version=", Version,
            "&RoleArn=", AwsSigV4.Encode(roleArn),
            "&RoleSessionName=", AwsSigV4.Encode(sessionName),
            "&DurationSeconds=", ((long)duration.TotalSeconds).ToString(CultureInfo.InvariantCulture));
        byte[] payload = Encoding.UTF8.GetBytes(form);
        for (int attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, Endpoint) { Content = new ByteArrayContent(payload) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded") { CharSet = "utf-8" };
            var creds = await AwsSigV4.ResolveAsync(_options.Credentials).ConfigureAwait(false);
            AwsSigV4.Sign(request, payload, creds, _options.Region, "sts", _options.TimeProvider.GetUtcNow().UtcDateTime);
            string reason;
            try
            {
                using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
                string raw = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                int status = (int)response.StatusCode;
                if (status is >= 200 and < 300)
                {
                    return Parse(raw, roleArn);
                }

                var (code, message) = ParseError(raw);
                reason = $"HTTP {status.ToString(CultureInfo.InvariantCulture)} {code}: {message}";
                bool retryable = status >= 500 || status == 429 || code is "Throttling" or "ThrottlingException" or "RequestLimitExceeded" or "ServiceUnavailable";
                if (!retryable)
                {
                    throw new CatalogException($"STS AssumeRole of {roleArn} failed: {reason}");
                }
            }
            catch (HttpRequestException e)
            {
                reason = $"{Endpoint}: {e.Message}";
            }

            if (attempt >= _options.MaxAttempts)
            {
                throw new CatalogException($"STS AssumeRole of {roleArn} failed after {attempt.ToString(CultureInfo.InvariantCulture)} attempts: {reason}");
            }

            double ms = Math.Min(10_000, _options.InitialBackoff.TotalMilliseconds * Math.Pow(2, attempt - 1) * (0.5 + Random.Shared.NextDouble() * 0.5));
            await Task.Delay(TimeSpan.FromMilliseconds(ms), _options.TimeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary><c>AssumeRoleResponse/AssumeRoleResult/Credentials</c> (+ <c>AssumedRoleUser/Arn</c>).</summary>
    internal static AssumedRole Parse(string xml, string roleArn)
    {
        XElement root;
        try
        {
            root = XDocument.Parse(xml).Root ?? throw new XmlException("empty document");
        }
        catch (XmlException e)
        {
            throw new CatalogException($"STS AssumeRole of {roleArn}: the answer is not XML ({e.Message})");
        }

        var result = Child(root, "AssumeRoleResult") ?? throw new CatalogException($"STS AssumeRole of {roleArn}: the answer has no AssumeRoleResult");
        var credentials = Child(result, "Credentials") ?? throw new CatalogException($"STS AssumeRole of {roleArn}: the answer has no AssumeRoleResult/Credentials");
        string Field(string name) => Child(credentials, name)?.Value is { Length: > 0 } v
            ? v
            : throw new CatalogException($"STS AssumeRole of {roleArn}: the answer has no Credentials/{name}");

        string expiration = Field("Expiration");
        if (!DateTimeOffset.TryParse(expiration, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var expires))
        {
            throw new CatalogException($"STS AssumeRole of {roleArn}: Credentials/Expiration is not a timestamp: '{expiration}'");
        }

        return new AssumedRole(
            new ImmutableCredentials(Field("AccessKeyId"), Field("SecretAccessKey"), Field("SessionToken")),
            expires,
            Child(Child(result, "AssumedRoleUser"), "Arn")?.Value ?? roleArn);
    }

    /// <summary><c>ErrorResponse/Error/{Code,Message}</c>; the raw text when the body is not STS's XML.</summary>
    internal static (string Code, string Message) ParseError(string raw)
    {
        try
        {
            var root = XDocument.Parse(raw).Root;
            var error = root is null ? null : root.Name.LocalName == "Error" ? root : Child(root, "Error");
            if (error is not null)
            {
                return (Child(error, "Code")?.Value ?? "", Child(error, "Message")?.Value ?? "");
            }
        }
        catch (XmlException)
        {
        }

        return ("", raw.Length <= 300 ? raw : raw[..300] + "...");
    }

    // STS answers in its own namespace; match local names so a proxy or a test server without it still parses.
    private static XElement? Child(XElement? parent, string localName)
    {
        if (parent is null)
        {
            return null;
        }

        foreach (var e in parent.Elements())
        {
            if (e.Name.LocalName == localName)
            {
                return e;
            }
        }

        return null;
    }
}
