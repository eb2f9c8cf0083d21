using Microsoft.Extensions.Logging;

namespace Proxima.RegionalWorker;

internal static partial class WorkerLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Worker {Name} for {Region} listening on {Url}, data root {DataRoot}")]
    public static partial void Listening(ILogger logger, string name, string region, string url, string dataRoot);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Unit {UnitId} ({Dataset}) done: {Chunks}/{ChunksTotal} chunks, {BytesRead} bytes read in {Ms:0.0} ms")]
    public static partial void UnitDone(ILogger logger, string unitId, string dataset, long chunks, long chunksTotal, long bytesRead, double ms);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Unit {UnitId} ({Dataset}) rejected: {Status} {Detail}")]
    public static partial void UnitRejected(ILogger logger, string unitId, string dataset, string status, string detail);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Unit {UnitId} cancelled after {Ms:0.0} ms")]
    public static partial void UnitCancelled(ILogger logger, string unitId, double ms);

    [LoggerMessage(EventId = 6, Level = LogLevel.Warning, Message = "Unit {UnitId} refused: {MaxRunning} unit(s) running and {MaxQueued} queued already")]
    public static partial void UnitRefused(ILogger logger, string unitId, int maxRunning, int maxQueued);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "Unit {UnitId} coordinated in the pool: {Shares} share(s) over this worker and {Peers} peer(s)")]
    public static partial void UnitCoordinating(ILogger logger, string unitId, int shares, int peers);

    [LoggerMessage(EventId = 9, Level = LogLevel.Information, Message = "Share {ShareId} on {Worker} hedged on {Other} after {AfterMs:0.0} ms (p95 of this coordinator's shares)")]
    public static partial void ShareHedged(ILogger logger, string shareId, string worker, string other, double afterMs);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "Share {ShareId} failed on {Worker} ({Status} {Detail}); retrying on {Next}")]
    public static partial void ShareRetrying(ILogger logger, string shareId, string worker, string status, string detail, string next);

    [LoggerMessage(EventId = 5, Level = LogLevel.Error, Message = "Unit {UnitId} ({Dataset}) failed")]
    public static partial void UnitFailed(ILogger logger, string unitId, string dataset, Exception exception);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Pool peers from DNS {Name}: {Count} peer(s) [{Peers}]")]
    public static partial void PeersChanged(ILogger logger, string name, int count, string peers);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "Pool peer discovery of {Name} failed (keeping the peers known): {Detail}")]
    public static partial void PeersDiscoveryFailed(ILogger logger, string name, string detail);
}
