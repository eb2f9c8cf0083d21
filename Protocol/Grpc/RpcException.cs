namespace Proxima.Protocol.Grpc;

/// <summary>A call that ended with a non-OK status, on the client (from the server's trailers or
/// generated locally, e.g. on deadline) or thrown by a server handler to fail the call.</summary>
public sealed class RpcException : Exception
{
    public RpcException(Status status)
        : this(status, new Metadata())
    {
    }

    public RpcException(StatusCode statusCode, string detail)
        : this(new Status(statusCode, detail), new Metadata())
    {
    }

    public RpcException(Status status, Metadata trailers)
        : base(FormatMessage(status))
    {
        Status = status;
        Trailers = trailers;
    }

    public RpcException(Status status, Metadata trailers, Exception? innerException)
        : base(FormatMessage(status), innerException)
    {
        Status = status;
        Trailers = trailers;
    }

    public RpcException()
        : this(new Status(StatusCode.Unknown, string.Empty))
    {
    }

    public RpcException(string message)
        : this(new Status(StatusCode.Unknown, message))
    {
    }

    public RpcException(string message, Exception innerException)
        : this(new Status(StatusCode.Unknown, message), new Metadata(), innerException)
    {
    }

    /// <summary>The call's status.</summary>
    public Status Status { get; }

    /// <summary>The status code, shorthand for <c>Status.StatusCode</c>.</summary>
    public StatusCode StatusCode => Status.StatusCode;

    /// <summary>Trailers sent by the server with the status (empty when generated locally).
    /// A server handler may add trailers here; they are sent with the status.</summary>
    public Metadata Trailers { get; }

    private static string FormatMessage(Status status) =>
        $"Status(StatusCode=\"{status.StatusCode}\", Detail=\"{status.Detail}\")";
}
