namespace Proxima.Protocol.Grpc;

/// <summary>Handler of a unary method.</summary>
public delegate Task<TResponse> UnaryServerMethod<TRequest, TResponse>(TRequest request, GrpcServerCallContext context)
    where TRequest : class
    where TResponse : class;

/// <summary>Handler of a server-streaming method: write responses to <paramref name="responseStream"/>,
/// one at a time; the call ends (status OK) when the returned task completes.</summary>
public delegate Task ServerStreamingServerMethod<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, GrpcServerCallContext context)
    where TRequest : class
    where TResponse : class;

/// <summary>Writes a server's response stream. Writes must not overlap.</summary>
public interface IServerStreamWriter<in T>
    where T : class
{
    /// <summary>Sends one message (headers go out with the first). Throws
    /// <see cref="OperationCanceledException"/> when the call was cancelled or its deadline passed.</summary>
    Task WriteAsync(T message, CancellationToken cancellationToken = default);
}
