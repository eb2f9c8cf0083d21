using Microsoft.Extensions.Logging;

namespace Proxima.Cli.Local;

/// <summary>
/// While <c>up</c> runs: one catalog sync per region at start (as the AWS deployment does at deploy
/// time), then nightly at 00:00 UTC.
/// </summary>
internal sealed class SyncScheduler : IAsyncDisposable
{
    public static async Task<SyncScheduler> StartAsync(LocalFederationOptions options, FederationFile federation, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger("Proxima.Up");
        foreach (var worker in federation.Workers)
        {
            var regionRoot = Path.Combine(Path.GetFullPath(options.DataRoot), worker.Region);
            var report = await CatalogSyncRunner.SyncRegionAsync(options.State, worker.Region, regionRoot, loggers, progress: null, cancellationToken);
            UpLog.Synced(logger, worker.Region, CatalogSyncRunner.Describe(report));
        }

        return new SyncScheduler();
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

internal static partial class UpLog
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Catalog sync of {Region}: {Summary}")]
    public static partial void Synced(ILogger logger, string region, string summary);
}
