using Microsoft.Extensions.Logging;
using Proxima.Catalog.Sqlite;
using Proxima.CatalogSync;
using Proxima.CatalogSync.Scheduling;
using NightlySync = Proxima.CatalogSync.Scheduling.SyncScheduler;

namespace Proxima.Cli.Local;

/// <summary>
/// While <c>up</c> runs: one catalog sync per region at start (as the AWS deployment does at deploy
/// time), then nightly at 00:00 UTC with Quartz (one catch-up run after a missed night, concurrent
/// triggers joined, graceful stop) — CatalogSync's scheduler over the state folder's catalog.
/// </summary>
internal sealed class SyncScheduler : IAsyncDisposable
{
    private readonly SqliteCatalog _catalog;
    private readonly NightlySync _nightly;

    private SyncScheduler(SqliteCatalog catalog, NightlySync nightly)
    {
        _catalog = catalog;
        _nightly = nightly;
    }

    public static async Task<SyncScheduler> StartAsync(LocalFederationOptions options, FederationFile federation, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger("Proxima.Up");
        var catalog = await SqliteCatalog.OpenAsync(options.State.CatalogPath, loggers.CreateLogger("Proxima.Catalog"), cancellationToken: cancellationToken);
        var regions = new List<SyncOptions>(federation.Workers.Count);
        foreach (var worker in federation.Workers)
        {
            var regionRoot = Path.Combine(Path.GetFullPath(options.DataRoot), worker.Region);
            Directory.CreateDirectory(regionRoot);
            regions.Add(new SyncOptions { Region = worker.Region, RegionRoot = regionRoot, Catalog = catalog, MetadataCacheDirectory = options.State.MetadataCacheFor(worker.Region) });
        }

        var nightly = new NightlySync(new SyncScheduleOptions { Regions = regions, RunAtStart = true }, progress: null, loggers.CreateLogger("Proxima.CatalogSync"));
        var scheduler = new SyncScheduler(catalog, nightly);
        try
        {
            await nightly.StartAsync(cancellationToken);
            if (nightly.StartupRun is { } startup)
            {
                foreach (var report in await startup.WaitAsync(cancellationToken))
                {
                    UpLog.Synced(logger, report.Region, CatalogSyncRunner.Describe(report));
                }
            }
        }
        catch
        {
            await scheduler.DisposeAsync();
            throw;
        }

        return scheduler;
    }

    public async ValueTask DisposeAsync()
    {
        await _nightly.StopAsync(CancellationToken.None);
        await _nightly.DisposeAsync();
        await _catalog.DisposeAsync();
    }
}

internal static partial class UpLog
{
    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Catalog sync of {Region}: {Summary}")]
    public static partial void Synced(ILogger logger, string region, string summary);
}
