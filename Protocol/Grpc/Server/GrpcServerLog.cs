using Microsoft.Extensions.Logging;

namespace Proxima.Protocol.Grpc;

internal static partial class GrpcServerLog
{
    [LoggerMessage(1, LogLevel.Debug, "Unimplemented gRPC method '{Path}' called.")]
    public static partial void UnimplementedMethod(ILogger logger, string path);

    [LoggerMessage(2, LogLevel.Error, "Error when executing gRPC method '{Method}'.")]
    public static partial void HandlerError(ILogger logger, string method, Exception exception);

    [LoggerMessage(3, LogLevel.Debug, "gRPC call '{Method}' exceeded its deadline.")]
    public static partial void DeadlineExceeded(ILogger logger, string method);

    [LoggerMessage(4, LogLevel.Debug, "gRPC call '{Method}' was cancelled by the client.")]
    public static partial void CallCancelled(ILogger logger, string method);

    [LoggerMessage(5, LogLevel.Information, "gRPC call '{Method}' rejected: {Reason}")]
    public static partial void RequestRejected(ILogger logger, string method, string reason);

    [LoggerMessage(6, LogLevel.Debug, "gRPC call '{Method}' ended with status {StatusCode}: {Detail}")]
    public static partial void CallFailed(ILogger logger, string method, StatusCode statusCode, string detail);

    [LoggerMessage(7, LogLevel.Debug, "Ignoring malformed grpc-timeout header '{Value}' on '{Method}'.")]
    public static partial void BadTimeout(ILogger logger, string method, string value);

    [LoggerMessage(8, LogLevel.Debug, "Could not complete gRPC call '{Method}' at its deadline.")]
    public static partial void DeadlineCompletionFailed(ILogger logger, string method, Exception exception);
}
