using Amazon.Runtime;
using Microsoft.Extensions.Logging;

namespace Proxima.Catalog.Aws;

/// <summary>
/// Credentials of an assumed IAM role (STS <c>AssumeRole</c>), fetched on first use and refreshed
/// <see cref="RefreshBefore"/> ahead of their expiry; callers never see expired keys. If a refresh fails while the current
/// keys are still valid, they stay in use (logged) and the next signing tries again.
/// </summary>
internal sealed class AssumeRoleCredentials : AWSCredentials
{
    /// <summary>Role chaining (an ECS task role assuming another role) caps sessions at one hour.</summary>
    public static readonly TimeSpan DefaultDuration = TimeSpan.FromHours(1);

    private readonly StsClient _sts;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private AssumedRole? _current;

    public AssumeRoleCredentials(StsClient sts, string roleArn, string sessionName, ILogger logger, TimeProvider? timeProvider = null)
    {
        _sts = sts;
        RoleArn = roleArn;
        SessionName = sessionName;
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
    }

    public string RoleArn { get; }

    public string SessionName { get; }

    public TimeSpan Duration { get; init; } = DefaultDuration;

    /// <summary>How long before expiry new keys are fetched (the SDK's own refreshing credentials use 5 minutes too).</summary>
    public TimeSpan RefreshBefore { get; init; } = TimeSpan.FromMinutes(5);

    public override ImmutableCredentials GetCredentials() => GetAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();

    public override Task<ImmutableCredentials> GetCredentialsAsync() => GetAsync(CancellationToken.None).AsTask();

    public async ValueTask<ImmutableCredentials> GetAsync(CancellationToken cancellationToken)
    {
        if (_current is { } fresh && _time.GetUtcNow() < fresh.Expiration - RefreshBefore)
        {
            return fresh.Credentials;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            var current = _current;
            if (current is not null && now < current.Expiration - RefreshBefore)
            {
                return current.Credentials; // another caller refreshed while this one waited
            }

            try
            {
                var assumed = await _sts.AssumeRoleAsync(RoleArn, SessionName, Duration, cancellationToken).ConfigureAwait(false);
                _current = assumed;
                AwsLog.RoleAssumed(_logger, RoleArn, assumed.AssumedRoleArn, assumed.Expiration);
                return assumed.Credentials;
            }
            catch (CatalogException e) when (current is not null && now < current.Expiration)
            {
                AwsLog.RefreshFailed(_logger, RoleArn, current.Expiration, e.Message);
                return current.Credentials;
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}

internal static partial class AwsLog
{
    [LoggerMessage(1, LogLevel.Information, "Assumed {RoleArn} as {AssumedRoleArn} until {Expiration}")]
    public static partial void RoleAssumed(ILogger logger, string roleArn, string assumedRoleArn, DateTimeOffset expiration);

    [LoggerMessage(2, LogLevel.Warning, "Refreshing the credentials of {RoleArn} failed; the current ones stay in use until {Expiration}: {Reason}")]
    public static partial void RefreshFailed(ILogger logger, string roleArn, DateTimeOffset expiration, string reason);
}
