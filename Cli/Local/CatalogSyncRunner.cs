using Microsoft.Extensions.Logging;
using Proxima.Catalog;
using Proxima.CatalogSync;

namespace Proxima.Cli.Local;

/// <summary>Runs one region's catalog sync against the state folder's embedded catalog.</summary>
internal static class CatalogSyncRunner
{
    public static async Task<SyncReport> SyncRegionAsync(StateDirectory state, string region, string regionRoot, ILoggerFactory loggers,
        IProgress<SyncProgress>? progress, CancellationToken cancellationToken)
    {
        state.Create();
        Directory.CreateDirectory(regionRoot);
        // The state folder's SQLite catalog, or OpenSearch when PROXIMA_OPENSEARCH_URL names one (the AWS sync task).
        await using var catalog = await CatalogFactory.OpenAsync(CatalogFactory.FromEnvironment(state.Root), loggers, cancellationToken);
        var options = new SyncOptions { Region = region, RegionRoot = regionRoot, Catalog = catalog, MetadataCacheDirectory = state.MetadataCacheFor(region) };
        return await SyncRunner.RunAsync(options, progress, loggers.CreateLogger("Proxima.CatalogSync"), cancellationToken);
    }

    /// <summary>One line for people: what the run did.</summary>
    public static string Describe(SyncReport report) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{report.Status}: found {report.Found}, registered {report.Registered}, unchanged {report.Unchanged}, removed {report.Removed}, failed {report.Failed} in {report.DurationSeconds:0.00} s{(report.Message is null ? "" : " — " + report.Message)}");
}
