using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;

namespace Proxima.Protocol.Grpc;

/// <summary>Runs one gRPC method on an ASP.NET Core request: validates the call, reads the request
/// message, runs the handler, writes messages and the status (trailers, or trailers-only on an early
/// error).</summary>
internal sealed class ServerCallHandler<TRequest, TResponse>
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    private readonly GrpcMethod<TRequest, TResponse> _method;
    private readonly UnaryServerMethod<TRequest, TResponse>? _unary;
    private readonly ServerStreamingServerMethod<TRequest, TResponse>? _streaming;
    private readonly GrpcServerOptions _options;
    private readonly ILogger _logger;
    private readonly int _maxReceive;
    private readonly int _maxSend;

    public ServerCallHandler(
        GrpcMethod<TRequest, TResponse> method,
        UnaryServerMethod<TRequest, TResponse>? unary,
        ServerStreamingServerMethod<TRequest, TResponse>? streaming,
        GrpcServerOptions options,
        ILogger logger)
    {
        _method = method;
        _unary = unary;
        _streaming = streaming;
        _options = options;
        _logger = logger;
        _maxReceive = options.MaxReceiveMessageSize ?? int.MaxValue;
        _maxSend = options.MaxSendMessageSize ?? int.MaxValue;
    }

    public async Task HandleAsync(HttpContext http)
    {
        if (!ServerCallValidation.Validate(http, _method.FullName, _logger))
        {
            return;
        }

        ServerCallValidation.DisableBodyLimits(http);

        var deadline = DateTime.MaxValue;
        CancellationTokenSource? deadlineCts = null;
        CancellationTokenSource? linkedCts = null;
        var token = http.RequestAborted;
        var timeoutHeader = http.Request.Headers[GrpcProtocol.TimeoutHeader];
        if (timeoutHeader.Count > 0)
        {
            if (GrpcTimeout.TryParse(timeoutHeader[0], out var timeout))
            {
                var time = _options.TimeProvider;
                deadline = time.GetUtcNow().UtcDateTime + timeout;
                deadlineCts = new CancellationTokenSource(timeout, time);
                linkedCts = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, deadlineCts.Token);
                token = linkedCts.Token;
            }
            else
            {
                GrpcServerLog.BadTimeout(_logger, _method.FullName, timeoutHeader[0] ?? string.Empty);
            }
        }

        var context = new GrpcServerCallContext(http, _method.FullName, deadline, token);
        try
        {
            var encoding = http.Request.Headers[GrpcProtocol.EncodingHeader];
            var encodingValue = encoding.Count > 0 ? encoding[0] : null;
            var reader = http.Request.BodyReader;
            var request = await MessageFraming.ReadMessageAsync(reader, _method.RequestParser, _maxReceive, encodingValue, token).ConfigureAwait(false)
                ?? throw new RpcException(StatusCode.Internal, "The request ended without a message.");
            if (await MessageFraming.ReadMessageAsync(reader, _method.RequestParser, _maxReceive, encodingValue, token).ConfigureAwait(false) is not null)
            {
                throw new RpcException(StatusCode.Internal, "Additional data after the request message (this method takes one request).");
            }

            if (_unary is not null)
            {
                var response = await _unary(request, context).ConfigureAwait(false);
                if (context.Status.StatusCode != StatusCode.OK)
                {
                    ServerCallValidation.WriteStatus(http, context, context.Status);
                    return;
                }

                ArgumentNullException.ThrowIfNull(response);
                context.PrepareResponseHeaders();
                MessageFraming.Write(http.Response.BodyWriter, response, _maxSend);
            }
            else
            {
                var writer = new HttpServerStreamWriter<TResponse>(http, context, _maxSend);
                try
                {
                    await _streaming!(request, writer, context).ConfigureAwait(false);
                }
                finally
                {
                    writer.Complete();
                }
            }

            ServerCallValidation.WriteStatus(http, context, context.Status);
        }
        catch (Exception ex)
        {
            HandleException(http, context, ex, deadlineCts);
        }
        finally
        {
            linkedCts?.Dispose();
            deadlineCts?.Dispose();
        }
    }

    private void HandleException(HttpContext http, GrpcServerCallContext context, Exception ex, CancellationTokenSource? deadlineCts)
    {
        Status status;
        if (ex is RpcException rpc)
        {
            status = rpc.Status;
            foreach (var entry in rpc.Trailers)
            {
                context.ResponseTrailers.Add(entry);
            }

            GrpcServerLog.CallFailed(_logger, _method.FullName, status.StatusCode, status.Detail);
        }
        else if (deadlineCts is { IsCancellationRequested: true } && !http.RequestAborted.IsCancellationRequested)
        {
            GrpcServerLog.DeadlineExceeded(_logger, _method.FullName);
            status = new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        }
        else if (http.RequestAborted.IsCancellationRequested)
        {
            // RST_STREAM from the client (or a lost connection): nobody is listening any more.
            GrpcServerLog.CallCancelled(_logger, _method.FullName);
            return;
        }
        else
        {
            GrpcServerLog.HandlerError(_logger, _method.FullName, ex);
            var detail = _options.EnableDetailedErrors
                ? "Exception was thrown by handler. " + ex.GetType().Name + ": " + ex.Message
                : "Exception was thrown by handler.";
            status = new Status(StatusCode.Unknown, detail);
        }

        ServerCallValidation.WriteStatus(http, context, status);
    }
}

/// <summary>Checks and status writing shared by method handlers and the unimplemented fallback.</summary>
internal static class ServerCallValidation
{
    /// <summary>Trailers after messages; trailers-only (all in the one HEADERS frame) when nothing was sent.</summary>
    internal static void WriteStatus(HttpContext http, GrpcServerCallContext context, Status status)
    {
        var response = http.Response;
        if (!response.HasStarted && response.BodyWriter.UnflushedBytes == 0 && !context.ResponseStarted)
        {
            context.PrepareResponseHeaders();
            var headers = response.Headers;
            headers[GrpcProtocol.StatusHeader] = GrpcProtocol.StatusCodeToString(status.StatusCode);
            if (!string.IsNullOrEmpty(status.Detail))
            {
                headers[GrpcProtocol.MessageHeader] = PercentEncoding.Encode(status.Detail);
            }

            if (context.HasResponseTrailers)
            {
                foreach (var entry in context.ResponseTrailers)
                {
                    headers.Append(entry.Key, MetadataCodec.EncodeValue(entry));
                }
            }

            return;
        }

        response.AppendTrailer(GrpcProtocol.StatusHeader, GrpcProtocol.StatusCodeToString(status.StatusCode));
        if (!string.IsNullOrEmpty(status.Detail))
        {
            response.AppendTrailer(GrpcProtocol.MessageHeader, PercentEncoding.Encode(status.Detail));
        }

        if (context.HasResponseTrailers)
        {
            foreach (var entry in context.ResponseTrailers)
            {
                response.AppendTrailer(entry.Key, MetadataCodec.EncodeValue(entry));
            }
        }
    }

    /// <summary>HTTP/2 (or 3), POST, gRPC protobuf content type; otherwise writes an HTTP error.</summary>
    public static bool Validate(HttpContext http, string method, ILogger logger)
    {
        var request = http.Request;
        if (!HttpMethods.IsPost(request.Method))
        {
            GrpcServerLog.RequestRejected(logger, method, "method is not POST");
            http.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            return false;
        }

        if (!GrpcProtocol.IsGrpcProtoContentType(request.ContentType))
        {
            // PROTOCOL-HTTP2.md: a content type not starting with application/grpc → 415, so that a
            // non-gRPC client does not read a gRPC error (HTTP 200) as success.
            GrpcServerLog.RequestRejected(logger, method, "content-type is not application/grpc or application/grpc+proto");
            http.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return false;
        }

        if (!HttpProtocol.IsHttp2(request.Protocol) && !HttpProtocol.IsHttp3(request.Protocol))
        {
            GrpcServerLog.RequestRejected(logger, method, "protocol is " + request.Protocol);
            http.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            http.Response.Headers.Upgrade = "h2c";
            return false;
        }

        return true;
    }

    /// <summary>A <c>application/grpc+json</c> request is gRPC but not ours to parse.</summary>
    public static bool IsGrpcContentType(string? contentType) =>
        contentType is not null && contentType.StartsWith(GrpcProtocol.ContentType, StringComparison.OrdinalIgnoreCase)
        && (contentType.Length == GrpcProtocol.ContentType.Length || contentType[GrpcProtocol.ContentType.Length] is '+' or ';');

    /// <summary>gRPC streams are long-lived and may be large: Kestrel's body size and data rate
    /// limits do not apply (message size limits do).</summary>
    public static void DisableBodyLimits(HttpContext http)
    {
        var size = http.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (size is { IsReadOnly: false })
        {
            size.MaxRequestBodySize = null;
        }

        var rate = http.Features.Get<IHttpMinRequestBodyDataRateFeature>();
        if (rate is not null)
        {
            rate.MinDataRate = null;
        }
    }
}

/// <summary>Response stream of a server-streaming call.</summary>
internal sealed class HttpServerStreamWriter<T> : IServerStreamWriter<T>
    where T : class, IMessage<T>
{
    private readonly HttpContext _http;
    private readonly GrpcServerCallContext _context;
    private readonly int _maxSend;
    private int _state; // 0 idle, 1 writing, 2 completed

    public HttpServerStreamWriter(HttpContext http, GrpcServerCallContext context, int maxSend)
    {
        _http = http;
        _context = context;
        _maxSend = maxSend;
    }

    public async Task WriteAsync(T message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var previous = Interlocked.CompareExchange(ref _state, 1, 0);
        if (previous != 0)
        {
            throw new InvalidOperationException(previous == 1
                ? "Only one write at a time is allowed on a gRPC response stream."
                : "The gRPC call is complete; its response stream can no longer be written.");
        }

        try
        {
            var token = _context.CancellationToken;
            token.ThrowIfCancellationRequested();
            cancellationToken.ThrowIfCancellationRequested();
            _context.PrepareResponseHeaders();
            var writer = _http.Response.BodyWriter;
            MessageFraming.Write(writer, message, _maxSend);
            var flush = cancellationToken.CanBeCanceled
                ? await FlushWithTwoTokensAsync(writer, token, cancellationToken).ConfigureAwait(false)
                : await writer.FlushAsync(token).ConfigureAwait(false);
            if (flush.IsCanceled || flush.IsCompleted)
            {
                throw new OperationCanceledException("The client is no longer reading the response stream.", token);
            }
        }
        finally
        {
            Interlocked.CompareExchange(ref _state, 0, 1);
        }
    }

    public void Complete() => Volatile.Write(ref _state, 2);

    private static async ValueTask<System.IO.Pipelines.FlushResult> FlushWithTwoTokensAsync(
        System.IO.Pipelines.PipeWriter writer, CancellationToken a, CancellationToken b)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(a, b);
        return await writer.FlushAsync(linked.Token).ConfigureAwait(false);
    }
}
