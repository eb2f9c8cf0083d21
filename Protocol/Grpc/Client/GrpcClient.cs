using System.Collections.Concurrent;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Proxima.Protocol.Grpc;

/// <summary>
/// A gRPC client for one server address over HTTP/2: <c>http://</c> = cleartext with prior knowledge
/// (h2c), <c>https://</c> = TLS with ALPN h2. Thread-safe; create one per address and share it
/// (connections are pooled and multiplexed). Shaped like Grpc.Net.Client's channel + invoker.
/// </summary>
public sealed class GrpcClient : IDisposable
{
    private readonly HttpMessageInvoker _invoker;
    private readonly ConcurrentDictionary<string, Uri> _uris = new(StringComparer.Ordinal);
    private readonly string _baseAddress;

    public GrpcClient(Uri address, GrpcClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        options ??= new GrpcClientOptions();
        options.Validate();
        if (!address.IsAbsoluteUri || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"gRPC address '{address}' must be an absolute http:// (h2c) or https:// (TLS) URI.", nameof(address));
        }

        Address = address;
        Options = options;
        _baseAddress = address.GetLeftPart(UriPartial.Path).TrimEnd('/');
        MaxReceiveMessageSize = options.MaxReceiveMessageSize ?? int.MaxValue;
        MaxSendMessageSize = options.MaxSendMessageSize ?? int.MaxValue;
        TimeProvider = options.TimeProvider;
        Logger = options.LoggerFactory?.CreateLogger("Proxima.Protocol.Grpc.Client") ?? NullLogger.Instance;
        _invoker = options.HttpHandler is { } handler
            ? new HttpMessageInvoker(handler, disposeHandler: false)
            : new HttpMessageInvoker(CreateHandler(options), disposeHandler: true);
    }

    /// <summary>The server address.</summary>
    public Uri Address { get; }

    public GrpcClientOptions Options { get; }

    internal HttpMessageInvoker Invoker => _invoker;

    internal int MaxReceiveMessageSize { get; }

    internal int MaxSendMessageSize { get; }

    internal TimeProvider TimeProvider { get; }

    internal ILogger Logger { get; }

    /// <summary>Calls a unary method. Throws <see cref="RpcException"/> for any non-OK outcome.</summary>
    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(GrpcMethod<TRequest, TResponse> method, TRequest request, GrpcCallOptions options = default)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        CheckMethod(method, GrpcMethodType.Unary, request);
        using var call = new ClientCall<TRequest, TResponse>(this, method, options, alwaysCancellable: false);
        await call.StartAsync(request).ConfigureAwait(false);
        return await ReadUnaryResponseAsync(call).ConfigureAwait(false);
    }

    /// <summary>Calls a unary method and also returns response headers and trailers.</summary>
    public async Task<GrpcUnaryResult<TResponse>> UnaryWithMetadataAsync<TRequest, TResponse>(GrpcMethod<TRequest, TResponse> method, TRequest request, GrpcCallOptions options = default)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        CheckMethod(method, GrpcMethodType.Unary, request);
        using var call = new ClientCall<TRequest, TResponse>(this, method, options, alwaysCancellable: false);
        await call.StartAsync(request).ConfigureAwait(false);
        var headers = call.ResponseHeaders;
        var response = await ReadUnaryResponseAsync(call).ConfigureAwait(false);
        return new GrpcUnaryResult<TResponse>(response, headers, call.Trailers);
    }

    /// <summary>Starts a server-streaming call. Read <see cref="GrpcServerStreamingCall{TResponse}.ResponseStream"/>;
    /// dispose the call to end it early (the server sees CANCELLED).</summary>
    public GrpcServerStreamingCall<TResponse> ServerStreaming<TRequest, TResponse>(GrpcMethod<TRequest, TResponse> method, TRequest request, GrpcCallOptions options = default)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        CheckMethod(method, GrpcMethodType.ServerStreaming, request);
        var call = new ClientCall<TRequest, TResponse>(this, method, options, alwaysCancellable: true);
        return new GrpcServerStreamingCall<TResponse>(new StreamingCallAdapter<TRequest, TResponse>(call, request));
    }

    /// <summary>Server streaming as an async sequence; breaking out of the loop cancels the call.</summary>
    public async IAsyncEnumerable<TResponse> ServerStreamingAsync<TRequest, TResponse>(
        GrpcMethod<TRequest, TResponse> method,
        TRequest request,
        GrpcCallOptions options = default,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        using var call = ServerStreaming(method, request, options);
        while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            yield return call.ResponseStream.Current;
        }
    }

    public void Dispose() => _invoker.Dispose();

    internal Uri GetMethodUri(string fullName) =>
        _uris.GetOrAdd(fullName, static (name, self) => new Uri(self._baseAddress + name, UriKind.Absolute), this);

    private static async Task<TResponse> ReadUnaryResponseAsync<TRequest, TResponse>(ClientCall<TRequest, TResponse> call)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        var response = await call.ReadMessageAsync().ConfigureAwait(false)
            ?? throw new RpcException(new Status(StatusCode.Internal, "The server ended a unary call with status OK but without a response message."), call.Trailers);
        if (await call.ReadMessageAsync().ConfigureAwait(false) is not null)
        {
            throw new RpcException(StatusCode.Internal, "The server sent more than one response message for a unary call.");
        }

        return response;
    }

    private static void CheckMethod<TRequest, TResponse>(GrpcMethod<TRequest, TResponse> method, GrpcMethodType expected, TRequest request)
        where TRequest : class, IMessage<TRequest>
        where TResponse : class, IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(request);
        if (method.Type != expected)
        {
            throw new ArgumentException($"gRPC method {method.FullName} is {method.Type}, not {expected}.", nameof(method));
        }
    }

    private static SocketsHttpHandler CreateHandler(GrpcClientOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(30),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            ConnectTimeout = options.ConnectTimeout,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
        };
        if (options.InitialStreamWindowSize is { } window)
        {
            handler.InitialHttp2StreamWindowSize = window;
        }

        if (options.RemoteCertificateValidationCallback is { } callback)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = callback;
        }
        else if (options.ServerCertificate is { } pinned)
        {
            var pinnedHash = pinned.GetCertHash(HashAlgorithmName.SHA256);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                errors == SslPolicyErrors.None
                || (certificate is not null && CryptographicOperations.FixedTimeEquals(certificate.GetCertHash(HashAlgorithmName.SHA256), pinnedHash));
        }

        return handler;
    }
}
