using Microsoft.Extensions.Logging;

namespace Proxima.Catalog.Sqlite;

internal static partial class SqliteCatalogLog
{
    [LoggerMessage(1, LogLevel.Information, "Region {Region}: generation {Generation} begun for run {RunId}")]
    public static partial void GenerationBegun(ILogger logger, string region, string runId, long generation);

    [LoggerMessage(2, LogLevel.Information, "Region {Region}: generation {Generation} of run {RunId} is live")]
    public static partial void GenerationCommitted(ILogger logger, string region, string runId, long generation);

    [LoggerMessage(3, LogLevel.Warning, "Region {Region}: generation {Generation} of run {RunId} aborted; previous generation stays live")]
    public static partial void GenerationAborted(ILogger logger, string region, string runId, long generation);

    [LoggerMessage(4, LogLevel.Warning, "Region {Region}: taking over from a dead sync owned by {Owner}")]
    public static partial void StaleGeneration(ILogger logger, string region, string owner);

    [LoggerMessage(5, LogLevel.Information, "Region {Region}: cleaned {Rows} rows left by an unfinished or superseded generation")]
    public static partial void CleanedLeftovers(ILogger logger, string region, int rows);
}
