namespace Proxima.Arrays.Storage;

/// <summary>Where and how <see cref="S3Storage"/> reads. Validated by <see cref="Validate"/> (called by the constructor).</summary>
public sealed record S3StorageOptions
{
    /// <summary>Bucket name (required).</summary>
    public string Bucket { get; init; } = "";

    /// <summary>Key prefix the storage is rooted at ("" for the bucket root; no leading or trailing '/').</summary>
    public string Prefix { get; init; } = "";

    /// <summary>Endpoint for S3-compatible servers (e.g. <c>http://127.0.0.1:4568</c> for s3rver); null for AWS.</summary>
    public string? ServiceUrl { get; init; }

    /// <summary>AWS region (used for signing; also with <see cref="ServiceUrl"/>).</summary>
    public string Region { get; init; } = "us-east-1";

    /// <summary>Static credentials; when null the SDK's default chain (env, profile, instance role) is used.</summary>
    public string? AccessKey { get; init; }

    public string? SecretKey { get; init; }

    /// <summary>Path-style addressing (required by s3rver and most S3-compatible servers).</summary>
    public bool ForcePathStyle { get; init; }

    /// <summary>Requests in flight at once for this storage (16–64 suits S3). Default 32.</summary>
    public int MaxConcurrency { get; init; } = 32;

    /// <summary>Retries after the first attempt on 5xx, SlowDown and timeouts (never on other 4xx). Default 4.</summary>
    public int MaxRetries { get; init; } = 4;

    /// <summary>First backoff step; attempt n waits a random time in [0, min(MaxDelay, BaseDelay·2^n)] (full jitter).</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Per-request timeout. Default 60 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Parses <c>s3://bucket/prefix</c>.</summary>
    public static S3StorageOptions FromUri(string uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!uri.StartsWith("s3://", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"'{uri}' is not an s3:// URI", nameof(uri));
        }

        string rest = uri[5..];
        int slash = rest.IndexOf('/', StringComparison.Ordinal);
        return slash < 0
            ? new S3StorageOptions { Bucket = rest }
            : new S3StorageOptions { Bucket = rest[..slash], Prefix = rest[(slash + 1)..].Trim('/') };
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad field.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Bucket) || Bucket.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"S3StorageOptions.Bucket '{Bucket}' must be a bucket name");
        }

        if (Prefix.StartsWith('/') || Prefix.EndsWith('/'))
        {
            throw new ArgumentException($"S3StorageOptions.Prefix '{Prefix}' must not start or end with '/'");
        }

        if (MaxConcurrency is < 1 or > 1024)
        {
            throw new ArgumentException($"S3StorageOptions.MaxConcurrency {MaxConcurrency} must be in 1..1024");
        }

        if (MaxRetries is < 0 or > 20)
        {
            throw new ArgumentException($"S3StorageOptions.MaxRetries {MaxRetries} must be in 0..20");
        }

        if ((AccessKey is null) != (SecretKey is null))
        {
            throw new ArgumentException("S3StorageOptions.AccessKey and SecretKey must be given together");
        }
    }
}
