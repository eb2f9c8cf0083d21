using Google.Protobuf;

namespace Proxima.Protocol.Grpc;

/// <summary>The shape of a gRPC method. Client and bidirectional streaming are not supported.</summary>
public enum GrpcMethodType
{
    /// <summary>One request, one response.</summary>
    Unary = 0,

    /// <summary>One request, a stream of responses.</summary>
    ServerStreaming = 2,
}

/// <summary>
/// Describes one gRPC method: <c>/{package.Service}/{Method}</c>, its kind, and the protobuf parsers
/// of its messages. Create one static instance per method and share it between client and server.
/// </summary>
/// <example><code>
/// static readonly GrpcMethod&lt;QueryRequest, QueryReply&gt; Query = new(
///     GrpcMethodType.Unary, "proxima.v1.Router", "Query", QueryRequest.Parser, QueryReply.Parser);
/// </code></example>
public sealed class GrpcMethod<TRequest, TResponse>
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    public GrpcMethod(
        GrpcMethodType type,
        string serviceName,
        string name,
        MessageParser<TRequest> requestParser,
        MessageParser<TResponse> responseParser)
    {
        ArgumentException.ThrowIfNullOrEmpty(serviceName);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(requestParser);
        ArgumentNullException.ThrowIfNull(responseParser);
        if (type is not (GrpcMethodType.Unary or GrpcMethodType.ServerStreaming))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "Only Unary and ServerStreaming methods are supported.");
        }

        if (serviceName.Contains('/', StringComparison.Ordinal) || name.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"Service '{serviceName}' and method '{name}' must not contain '/'.");
        }

        Type = type;
        ServiceName = serviceName;
        Name = name;
        RequestParser = requestParser;
        ResponseParser = responseParser;
        FullName = "/" + serviceName + "/" + name;
    }

    /// <summary>Unary or server streaming.</summary>
    public GrpcMethodType Type { get; }

    /// <summary>Fully qualified service name, e.g. <c>proxima.v1.Router</c>.</summary>
    public string ServiceName { get; }

    /// <summary>Method name, e.g. <c>Query</c>.</summary>
    public string Name { get; }

    /// <summary>The HTTP/2 <c>:path</c>: <c>/{ServiceName}/{Name}</c>.</summary>
    public string FullName { get; }

    public MessageParser<TRequest> RequestParser { get; }

    public MessageParser<TResponse> ResponseParser { get; }

    public override string ToString() => FullName;
}

/// <summary>Creates <see cref="GrpcMethod{TRequest, TResponse}"/> instances from protoc's service
/// descriptors, so a mismatch between the .proto and the C# types fails at start-up, not on the wire.</summary>
public static class GrpcMethods
{
    /// <summary>
    /// The method <paramref name="methodName"/> of <paramref name="service"/> (from
    /// <c>XxxReflection.Descriptor.Services</c> or <c>FindTypeByName</c>), checked against the message
    /// types and streaming shape. Client and bidirectional streaming methods are rejected.
    /// </summary>
    public static GrpcMethod<TRequest, TResponse> FromDescriptor<TRequest, TResponse>(Google.Protobuf.Reflection.ServiceDescriptor service, string methodName)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(service);
        var method = service.FindMethodByName(methodName)
            ?? throw new ArgumentException($"Service {service.FullName} has no method '{methodName}'.", nameof(methodName));
        if (method.IsClientStreaming)
        {
            throw new ArgumentException($"{service.FullName}/{methodName} is client- or bidirectional-streaming, which this transport does not support.", nameof(methodName));
        }

        if (method.InputType.ClrType != typeof(TRequest))
        {
            throw new ArgumentException($"{service.FullName}/{methodName} takes {method.InputType.FullName} ({method.InputType.ClrType?.Name}), not {typeof(TRequest).Name}.", nameof(methodName));
        }

        if (method.OutputType.ClrType != typeof(TResponse))
        {
            throw new ArgumentException($"{service.FullName}/{methodName} returns {method.OutputType.FullName} ({method.OutputType.ClrType?.Name}), not {typeof(TResponse).Name}.", nameof(methodName));
        }

        return new GrpcMethod<TRequest, TResponse>(
            method.IsServerStreaming ? GrpcMethodType.ServerStreaming : GrpcMethodType.Unary,
            service.FullName,
            method.Name,
            (MessageParser<TRequest>)method.InputType.Parser,
            (MessageParser<TResponse>)method.OutputType.Parser);
    }
}
