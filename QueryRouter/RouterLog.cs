using Microsoft.Extensions.Logging;

namespace Proxima.QueryRouter;

internal static partial class RouterLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Query {QueryId}: {Datasets} dataset(s), {Units} unit(s) planned")]
    public static partial void QueryPlanned(ILogger logger, string queryId, int datasets, int units);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Query {QueryId} answered in {Ms:0.0} ms (parse+plan {PlanMs:0.0}, dispatch {DispatchMs:0.0}, merge+finalise {FinaliseMs:0.0}); {CrossRegionBytes} bytes crossed regions")]
    public static partial void QueryAnswered(ILogger logger, string queryId, double ms, double planMs, double dispatchMs, double finaliseMs, long crossRegionBytes);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "Query answer encoded and written in {Ms:0.0} ms ({Bytes} bytes, {ContentType})")]
    public static partial void AnswerWritten(ILogger logger, double ms, long bytes, string contentType);

    [LoggerMessage(EventId = 3, Level = LogLevel.Information, Message = "Query {QueryId} rejected: {Status} {Code} at {Field}: {Message}")]
    public static partial void QueryRejected(ILogger logger, string queryId, int status, string code, string? field, string message);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Unit {UnitId} failed in {Region} at {Worker}: {Status} {Detail}")]
    public static partial void UnitFailed(ILogger logger, string unitId, string region, string worker, string status, string detail);

    [LoggerMessage(EventId = 5, Level = LogLevel.Error, Message = "Query {QueryId} failed unexpectedly")]
    public static partial void QueryCrashed(ILogger logger, string queryId, Exception exception);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "Router listening: HTTP {HttpUrl}, gRPC {GrpcUrl}; regions {Regions}")]
    public static partial void Listening(ILogger logger, string httpUrl, string grpcUrl, string regions);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information, Message = "Unit {UnitId} in {Region}: attempt {Attempt} after {BackoffMs:0} ms backoff")]
    public static partial void UnitRetrying(ILogger logger, string unitId, string region, int attempt, double backoffMs);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "Unit {UnitId} in {Region}: every worker is full; asking again in {WaitMs:0} ms")]
    public static partial void UnitWaiting(ILogger logger, string unitId, string region, double waitMs);

    [LoggerMessage(EventId = 8, Level = LogLevel.Information, Message = "Unit {UnitId} in {Region} hedged on {Worker} after {AfterMs:0.0} ms (pool p95)")]
    public static partial void UnitHedged(ILogger logger, string unitId, string region, string worker, double afterMs);

    [LoggerMessage(EventId = 24, Level = LogLevel.Information, Message = "Unit {UnitId} in {Region} not hedged after {AfterMs:0.0} ms: the pool's hedge budget ({Ratio:P0} of units) is spent")]
    public static partial void HedgeDenied(ILogger logger, string unitId, string region, double afterMs, double ratio);

    [LoggerMessage(EventId = 9, Level = LogLevel.Warning, Message = "Request rejected: {Status} {Code}: {Message}")]
    public static partial void RequestRejected(ILogger logger, int status, string code, string message);

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Loaded {Count} JWT signing key(s) from {Source}")]
    public static partial void SigningKeysLoaded(ILogger logger, int count, string source);

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "Could not load JWT signing keys from {Source}: {Message}")]
    public static partial void SigningKeysFailed(ILogger logger, string source, string message);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Worker discovery for {Region} ({Name}) failed; keeping its current workers: {Message}")]
    public static partial void DiscoveryFailed(ILogger logger, string region, string name, string message);

    [LoggerMessage(EventId = 23, Level = LogLevel.Information, Message = "Region {Region}: {Count} worker(s) from DNS {Name} ({Added} joined, {Removed} left)")]
    public static partial void DiscoveryChanged(ILogger logger, string region, string name, int count, int added, int removed);
}
