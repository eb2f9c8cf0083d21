using System.Buffers;
using System.Net;
using System.Runtime.CompilerServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Proxima.Arrays.Storage;

/// <summary>
/// An S3 bucket/prefix as <see cref="IStorage"/> through AWSSDK.S3: ranged GETs, bounded request
/// concurrency, retries with full-jitter backoff on 5xx/SlowDown/timeouts and none on other 4xx.
/// </summary>
public sealed class S3Storage : IWritableStorage, IDisposable
{
    private readonly IAmazonS3 _client;
    private readonly bool _ownsClient;
    private readonly S3StorageOptions _options;
    private readonly SemaphoreSlim _gate;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    public S3Storage(IAmazonS3 client, S3StorageOptions options, ILogger<S3Storage>? logger = null, TimeProvider? timeProvider = null)
        : this(client, false, options, logger, timeProvider)
    {
    }

    private S3Storage(IAmazonS3 client, bool ownsClient, S3StorageOptions options, ILogger? logger, TimeProvider? timeProvider)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _client = client;
        _ownsClient = ownsClient;
        _options = options;
        _gate = new SemaphoreSlim(options.MaxConcurrency, options.MaxConcurrency);
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Creates a client from <paramref name="options"/> (endpoint, region, credentials) and owns it.</summary>
    public static S3Storage Create(S3StorageOptions options, ILogger<S3Storage>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            MaxErrorRetry = 0, // retries are ours, with jitter and the 4xx rule
            Timeout = options.RequestTimeout,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (options.ServiceUrl is not null)
        {
            config.ServiceURL = options.ServiceUrl;
            config.AuthenticationRegion = options.Region;
        }
        else
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(options.Region);
        }

        IAmazonS3 client = options.AccessKey is not null
            ? new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config)
            : new AmazonS3Client(config);
        return new S3Storage(client, true, options, logger, timeProvider);
    }

    public string Bucket => _options.Bucket;

    public string Prefix => _options.Prefix;

    /// <inheritdoc />
    public string Describe(string key)
    {
        string full = FullKey(key, validate: false);
        return $"s3://{_options.Bucket}/{full}";
    }

    private string FullKey(string key, bool validate = true)
    {
        string norm = validate ? KeyValidator.Normalize(key, k => $"s3://{_options.Bucket}/{StorageExtensions.Join(_options.Prefix, k)}") : key.Trim('/');
        return StorageExtensions.Join(_options.Prefix, norm);
    }

    /// <inheritdoc />
    public async ValueTask<IMemoryOwner<byte>?> ReadAsync(string key, long offset, long? length, long maxBytes, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        string full = FullKey(key);
        if (length is 0)
        {
            return await GetSizeAsync(key, cancellationToken).ConfigureAwait(false) is null ? null : new PooledBuffer(0);
        }

        if (length is long l && l > maxBytes)
        {
            throw new StorageException(Describe(key), $"range of {l} bytes exceeds the allowed {maxBytes} bytes");
        }

        return await WithRetries("GET", key, async ct =>
        {
            var request = new GetObjectRequest { BucketName = _options.Bucket, Key = full };
            if (length is not null || offset > 0)
            {
                long end = length is long len ? offset + len - 1 : long.MaxValue;
                request.ByteRange = length is null ? new ByteRange($"bytes={offset}-") : new ByteRange(offset, end);
            }

            GetObjectResponse response;
            try
            {
                response = await _client.GetObjectAsync(request, ct).ConfigureAwait(false);
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                return new PooledBuffer(0);
            }

            using (response)
            {
                long size = response.ContentLength;
                if (size > maxBytes || size > Array.MaxLength)
                {
                    throw new StorageException(Describe(key), $"object of {size} bytes exceeds the allowed {maxBytes} bytes");
                }

                var buffer = new PooledBuffer((int)size);
                try
                {
                    int done = 0;
                    Stream body = response.ResponseStream;
                    while (done < size)
                    {
                        int n = await body.ReadAsync(buffer.Array.AsMemory(done, (int)size - done), ct).ConfigureAwait(false);
                        if (n == 0)
                        {
                            throw new IOException($"connection closed after {done} of {size} bytes");
                        }

                        done += n;
                    }

                    return (IMemoryOwner<byte>?)buffer;
                }
                catch
                {
                    buffer.Dispose();
                    throw;
                }
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask<long?> GetSizeAsync(string key, CancellationToken cancellationToken)
    {
        string full = FullKey(key);
        return await WithRetries<long?>("HEAD", key, async ct =>
        {
            try
            {
                GetObjectMetadataResponse r = await _client.GetObjectMetadataAsync(_options.Bucket, full, ct).ConfigureAwait(false);
                return r.ContentLength;
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<StorageEntry> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string norm = KeyValidator.Normalize(prefix, Describe);
        string full = StorageExtensions.Join(_options.Prefix, norm);
        string listPrefix = full.Length == 0 ? "" : full + "/";
        string? token = null;
        do
        {
            var request = new ListObjectsV2Request
            {
                BucketName = _options.Bucket,
                Prefix = listPrefix,
                Delimiter = "/",
                ContinuationToken = token,
            };
            ListObjectsV2Response response = await WithRetries("LIST", norm, ct => _client.ListObjectsV2Async(request, ct), cancellationToken).ConfigureAwait(false);
            var entries = new List<StorageEntry>();
            foreach (string p in response.CommonPrefixes ?? [])
            {
                string name = p[listPrefix.Length..].TrimEnd('/');
                if (name.Length > 0)
                {
                    entries.Add(new StorageEntry(StorageExtensions.Join(norm, name), name, true, 0, null));
                }
            }

            foreach (S3Object o in response.S3Objects ?? [])
            {
                string name = o.Key[listPrefix.Length..];
                if (name.Length > 0 && !name.Contains('/', StringComparison.Ordinal))
                {
                    entries.Add(new StorageEntry(StorageExtensions.Join(norm, name), name, false, o.Size ?? 0, o.LastModified is DateTime lm ? new DateTimeOffset(lm.ToUniversalTime()) : null));
                }
            }

            entries.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            foreach (StorageEntry e in entries)
            {
                yield return e;
            }

            token = response.IsTruncated == true ? response.NextContinuationToken : null;
        }
        while (token is not null);
    }

    /// <inheritdoc />
    public async ValueTask WriteAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        string full = FullKey(key);
        await WithRetries("PUT", key, async ct =>
        {
            using var stream = new MemoryStream(data.ToArray(), writable: false);
            var request = new PutObjectRequest
            {
                BucketName = _options.Bucket,
                Key = full,
                InputStream = stream,
                AutoCloseStream = false,
                UseChunkEncoding = false,
            };
            await _client.PutObjectAsync(request, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DeleteAsync(string key, CancellationToken cancellationToken)
    {
        string full = FullKey(key);
        await WithRetries("DELETE", key, async ct =>
        {
            await _client.DeleteObjectAsync(_options.Bucket, full, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<T> WithRetries<T>(string operation, string key, Func<CancellationToken, Task<T>> action, CancellationToken cancellationToken)
    {
        for (int attempt = 0; ; attempt++)
        {
            string reason;
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await action(cancellationToken).ConfigureAwait(false);
            }
            catch (AmazonS3Exception e) when (IsRetryable(e))
            {
                reason = $"{(int)e.StatusCode} {e.ErrorCode}: {e.Message}";
                if (attempt >= _options.MaxRetries)
                {
                    S3StorageLog.GaveUp(_logger, operation, Describe(key), attempt + 1, reason);
                    throw new StorageException(Describe(key), $"S3 {operation} failed after {attempt + 1} attempts: {reason}", e);
                }
            }
            catch (AmazonS3Exception e)
            {
                throw new StorageException(Describe(key), $"S3 {operation} failed: {(int)e.StatusCode} {e.ErrorCode}: {e.Message}", e);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && e is HttpRequestException or IOException or TimeoutException or OperationCanceledException or AmazonServiceException or AmazonClientException && e is not StorageException)
            {
                reason = e.GetType().Name + ": " + e.Message;
                if (attempt >= _options.MaxRetries)
                {
                    S3StorageLog.GaveUp(_logger, operation, Describe(key), attempt + 1, reason);
                    throw new StorageException(Describe(key), $"S3 {operation} failed after {attempt + 1} attempts: {reason}", e);
                }
            }
            finally
            {
                _gate.Release();
            }

            double capMs = Math.Min(_options.MaxDelay.TotalMilliseconds, _options.BaseDelay.TotalMilliseconds * Math.Pow(2, attempt));
            var delay = TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * capMs);
            S3StorageLog.Retrying(_logger, operation, Describe(key), attempt + 1, (long)delay.TotalMilliseconds, reason);
            await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool IsRetryable(AmazonS3Exception e) =>
        (int)e.StatusCode >= 500 || e.ErrorCode is "SlowDown" or "RequestTimeout" or "InternalError" or "ServiceUnavailable" or "RequestTimeTooSkewed";

    public void Dispose()
    {
        _gate.Dispose();
        if (_ownsClient)
        {
            _client.Dispose();
        }
    }
}
