using Microsoft.Extensions.Logging;

namespace Proxima.Arrays.Storage;

internal static partial class S3StorageLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "S3 {Operation} {Location} failed (attempt {Attempt}); retrying in {DelayMs} ms: {Reason}")]
    public static partial void Retrying(ILogger logger, string operation, string location, int attempt, long delayMs, string reason);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "S3 {Operation} {Location} failed after {Attempts} attempts: {Reason}")]
    public static partial void GaveUp(ILogger logger, string operation, string location, int attempts, string reason);
}
