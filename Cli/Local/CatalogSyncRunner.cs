using Microsoft.Extensions.Logging;
using Proxima.Catalog;
using Proxima.Catalog.OpenSearch;
using Proxima.CatalogSync;
using Proxima.CatalogSync.Fsx;

namespace Proxima.Cli.Local;

/// <summary>Runs one region's catalog sync against the state folder's embedded catalog.</summary>
internal static class CatalogSyncRunner
{
    public static async Task<SyncReport> SyncRegionAsync(StateDirectory state, string region, string regionRoot, ILoggerFactory loggers,
        IProgress<SyncProgress>? progress, CancellationToken cancellationToken, RegionSyncExtras? extras = null)
    {
        extras ??= RegionSyncExtras.None;
        state.Create();
        if (extras.FsxFileSystemId is null)
        {
            Directory.CreateDirectory(regionRoot); // a local region may start empty; an FSx mount must exist
        }

        var started = DateTimeOffset.UtcNow;
        ICatalog catalog;
        try
        {
            catalog = await OpenForWritingAsync(state, loggers, cancellationToken);
        }
        catch (CatalogException e)
        {
            // Unreachable or refused (STS would not give the writer role, the readall mapping was refused): a failed run
            // whose message says why, not a crash.
            return new SyncReport { Region = region, RunId = "none", Status = "failed", StartedUtc = started, FinishedUtc = DateTimeOffset.UtcNow, Message = e.Message };
        }

        await using (catalog)
        {
            using var fsx = extras.FsxFileSystemId is null ? null : new FsxClient(
                new FsxClientOptions { Region = region, Endpoint = FsxEndpointFromEnvironment() }, logger: loggers.CreateLogger("Proxima.CatalogSync.Fsx"));
            var options = new SyncOptions
            {
                Region = region,
                RegionRoot = regionRoot,
                Catalog = catalog,
                MetadataCacheDirectory = extras.MetadataCache ?? state.MetadataCacheFor(region),
                FsxFileSystemId = extras.FsxFileSystemId,
                Fsx = fsx,
            };
            return await SyncRunner.RunAsync(options, progress, loggers.CreateLogger("Proxima.CatalogSync"), cancellationToken);
        }
    }

    /// <summary>
    /// The state folder's SQLite catalog, or OpenSearch when PROXIMA_OPENSEARCH_URL names one (the AWS sync task: it signs as
    /// the assumed PROXIMA_CATALOG_ROLE_ARN, the domain's master, and maps the router's role to readall before writing).
    /// </summary>
    private static async Task<ICatalog> OpenForWritingAsync(StateDirectory state, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var catalog = await CatalogFactory.OpenAsync(CatalogFactory.FromEnvironment(state.Root, loggers), loggers, cancellationToken);
        try
        {
            if (catalog is OpenSearchCatalog openSearch)
            {
                await openSearch.EnsureReaderMappingAsync(cancellationToken);
            }

            return catalog;
        }
        catch
        {
            await catalog.DisposeAsync();
            throw;
        }
    }

    /// <summary><c>PROXIMA_FSX_ENDPOINT</c> (a VPC endpoint, or a test's loopback server); null = <c>https://fsx.REGION.amazonaws.com/</c>.</summary>
    private static Uri? FsxEndpointFromEnvironment() =>
        Environment.GetEnvironmentVariable("PROXIMA_FSX_ENDPOINT") is { Length: > 0 } url
            ? Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri : throw new Proxima.Catalog.InvalidConfigurationException($"PROXIMA_FSX_ENDPOINT is not an absolute URL: '{url}'")
            : null;

    /// <summary>One line for people: what the run did.</summary>
    public static string Describe(SyncReport report) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{report.Status}: found {report.Found}, registered {report.Registered}, unchanged {report.Unchanged}, removed {report.Removed}, failed {report.Failed} in {report.DurationSeconds:0.00} s{(report.Message is null ? "" : " — " + report.Message)}");
}

/// <summary>What a single-region sync may add to the local defaults: an FSx re-import first, and where the metadata caches go.</summary>
internal sealed record RegionSyncExtras(string? FsxFileSystemId, string? MetadataCache)
{
    public static RegionSyncExtras None { get; } = new(null, null);
}
