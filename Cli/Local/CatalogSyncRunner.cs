using Microsoft.Extensions.Logging;

namespace Proxima.Cli.Local;

/// <summary>Runs one region's catalog sync against the state folder's catalog.</summary>
internal static class CatalogSyncRunner
{
    public static Task<string> SyncRegionAsync(StateDirectory state, string region, string regionRoot, ILoggerFactory loggers, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        _ = state;
        _ = regionRoot;
        _ = loggers;
        _ = progress;
        _ = cancellationToken;
        throw new NotSupportedException($"sync of {region} arrives with CatalogSync");
    }
}
