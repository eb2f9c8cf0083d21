using Microsoft.Extensions.Logging;

namespace Proxima.Protocol.Grpc;

internal static partial class GrpcClientLog
{
    [LoggerMessage(101, LogLevel.Debug, "gRPC call '{Method}' to {Address} failed with {StatusCode}: {Detail}")]
    public static partial void CallFailed(ILogger logger, string method, Uri address, StatusCode statusCode, string detail);

    [LoggerMessage(102, LogLevel.Debug, "gRPC call '{Method}' exceeded its deadline.")]
    public static partial void DeadlineExceeded(ILogger logger, string method);
}
