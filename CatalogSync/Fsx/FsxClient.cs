using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Proxima.Aws;

namespace Proxima.CatalogSync.Fsx;

/// <summary>Options for <see cref="FsxClient"/>.</summary>
public sealed record FsxClientOptions
{
    /// <summary>AWS region of the file system (signing scope and default endpoint).</summary>
    public required string Region { get; init; }

    /// <summary>API endpoint; default <c>https://fsx.{Region}.amazonaws.com/</c>.</summary>
    public Uri? Endpoint { get; init; }

    /// <summary>Credentials; null = the SDK's default chain (environment, profile, ECS/EC2 role).</summary>
    public AWSCredentials? Credentials { get; init; }

    /// <summary>Delay between <c>DescribeDataRepositoryTasks</c> polls.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Give up (and fail the run) when the task has not finished after this long.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromHours(3);

    /// <summary>Attempts per API call on throttling / 5xx.</summary>
    public int MaxAttempts { get; init; } = 5;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

/// <summary>The FSx import failed, was cancelled, timed out, or the API refused the call.</summary>
public sealed class FsxException(string message) : Exception(message);

/// <summary>
/// Minimal Amazon FSx client (AWSSDK.FSx is not obtainable here): AWS JSON 1.1 over HttpClient, SigV4-signed with
/// AWSSDK.Core's signer. Starts an <c>IMPORT_METADATA_FROM_REPOSITORY</c> data repository task (re-reads S3 object
/// metadata into the Lustre namespace) and polls it until it ends.
/// </summary>
public sealed class FsxClient : IDisposable
{
    private const string TargetPrefix = "AWSSimbaAPIService_v20180301.";
    private readonly FsxClientOptions _options;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly ILogger _logger;
    private readonly Uri _endpoint;

    public FsxClient(FsxClientOptions options, HttpClient? httpClient = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Region))
        {
            throw new ArgumentException("FsxClientOptions.Region is required");
        }

        _options = options;
        _endpoint = options.Endpoint ?? new Uri($"https://fsx.{options.Region}.amazonaws.com/");
        _ownsHttp = httpClient is null;
        _http = httpClient ?? new HttpClient();
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>Runs an import-metadata task on <paramref name="fileSystemId"/> to completion. Returns the task id.</summary>
    /// <exception cref="FsxException">The task ended FAILED or CANCELED, timed out, or the API returned an error.</exception>
    public async Task<string> ImportMetadataAsync(string fileSystemId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileSystemId);
        var time = _options.TimeProvider;
        long start = time.GetTimestamp();
        var created = await CallAsync("CreateDataRepositoryTask", new JsonObject
        {
            ["Type"] = "IMPORT_METADATA_FROM_REPOSITORY",
            ["FileSystemId"] = fileSystemId,
            ["Report"] = new JsonObject { ["Enabled"] = false },
            ["ClientRequestToken"] = Guid.NewGuid().ToString("N"),
        }, cancellationToken).ConfigureAwait(false);
        string taskId = created["DataRepositoryTask"]?["TaskId"]?.GetValue<string>()
            ?? throw new FsxException("CreateDataRepositoryTask response has no DataRepositoryTask.TaskId");
        FsxLog.TaskStarted(_logger, fileSystemId, taskId);

        while (true)
        {
            var described = await CallAsync("DescribeDataRepositoryTasks", new JsonObject { ["TaskIds"] = new JsonArray(taskId) }, cancellationToken).ConfigureAwait(false);
            var task = described["DataRepositoryTasks"]?.AsArray().FirstOrDefault(t => t?["TaskId"]?.GetValue<string>() == taskId)
                ?? throw new FsxException($"DescribeDataRepositoryTasks did not return task {taskId}");
            string lifecycle = task["Lifecycle"]?.GetValue<string>() ?? "?";
            switch (lifecycle)
            {
                case "SUCCEEDED":
                    FsxLog.TaskSucceeded(_logger, fileSystemId, taskId);
                    return taskId;
                case "FAILED":
                case "CANCELED":
                    string why = task["FailureDetails"]?["Message"]?.GetValue<string>() ?? "no failure details";
                    throw new FsxException($"data repository task {taskId} on {fileSystemId} ended {lifecycle}: {why}");
                case "PENDING":
                case "EXECUTING":
                case "CANCELING":
                    break;
                default:
                    throw new FsxException($"data repository task {taskId} has unknown lifecycle '{lifecycle}'");
            }

            if (time.GetElapsedTime(start) > _options.Timeout)
            {
                throw new FsxException($"data repository task {taskId} on {fileSystemId} did not finish within {_options.Timeout}");
            }

            await Task.Delay(_options.PollInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>One AWS JSON 1.1 call; retries throttling and 5xx with backoff; maps error bodies to <see cref="FsxException"/>.</summary>
    internal async Task<JsonNode> CallAsync(string action, JsonObject body, CancellationToken ct)
    {
        byte[] payload = Encoding.UTF8.GetBytes(body.ToJsonString());
        for (int attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = new ByteArrayContent(payload) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-amz-json-1.1");
            request.Headers.TryAddWithoutValidation("X-Amz-Target", TargetPrefix + action);
            var creds = await AwsSigV4.ResolveAsync(_options.Credentials).ConfigureAwait(false);
            AwsSigV4.Sign(request, payload, creds, _options.Region, "fsx", _options.TimeProvider.GetUtcNow().UtcDateTime);
            string raw;
            int status;
            try
            {
                using var response = await _http.SendAsync(request, ct).ConfigureAwait(false);
                raw = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
                status = (int)response.StatusCode;
            }
            catch (HttpRequestException e)
            {
                if (attempt >= _options.MaxAttempts)
                {
                    throw new FsxException($"{action}: {e.Message}");
                }

                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), _options.TimeProvider, ct).ConfigureAwait(false);
                continue;
            }

            JsonNode? json = null;
            try
            {
                json = raw.Length > 0 ? JsonNode.Parse(raw) : new JsonObject();
            }
            catch (System.Text.Json.JsonException)
            {
            }

            if (status is >= 200 and < 300 && json is not null)
            {
                return json;
            }

            string type = json?["__type"]?.GetValue<string>() ?? "";
            type = type[(type.LastIndexOf('#') + 1)..];
            string message = json?["Message"]?.GetValue<string>() ?? json?["message"]?.GetValue<string>() ?? raw;
            bool retryable = status >= 500 || status == 429 || type is "ThrottlingException" or "TooManyRequestsException" or "ServiceUnavailable";
            if (!retryable || attempt >= _options.MaxAttempts)
            {
                throw new FsxException($"{action} failed: HTTP {status} {type} {message}".TrimEnd());
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), _options.TimeProvider, ct).ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }
}

internal static partial class FsxLog
{
    [LoggerMessage(1, LogLevel.Information, "FSx {FileSystemId}: import task {TaskId} started")]
    public static partial void TaskStarted(ILogger logger, string fileSystemId, string taskId);

    [LoggerMessage(2, LogLevel.Information, "FSx {FileSystemId}: import task {TaskId} succeeded")]
    public static partial void TaskSucceeded(ILogger logger, string fileSystemId, string taskId);
}
