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
        CancellationTokenRegistration deadlineRegistration = default;
        if (deadlineCts is not null)
        {
            // At the deadline the client gets DEADLINE_EXCEEDED at once, even if the handler ignores
            // its token; the handler's later writes are refused (grpc-dotnet does the same).
            context.EnableCompletionGate();
            deadlineRegistration = deadlineCts.Token.UnsafeRegister(
                static s =>
                {
                    var (handler, h, c) = ((ServerCallHandler<TRequest, TResponse>, HttpContext, GrpcServerCallContext))s!;
                    _ = handler.CompleteOnDeadlineAsync(h, c);
                },
                (this, http, context));
        }

        TResponse? unaryResponse = null;
        Status status;
        try
        {
            var encoding = http.Request.Headers[GrpcProtocol.EncodingHeader];
            var encodingValue = encoding.Count > 0 ? encoding[0] : null;
            var reader = http.Request.BodyReader;
            TRequest request;
            try
            {
                request = await MessageFraming.ReadMessageAsync(reader, _method.RequestParser, _maxReceive, encodingValue, token).ConfigureAwait(false)
                    ?? throw new RpcException(StatusCode.Internal, "The request ended without a message.");
                if (await MessageFraming.ReadMessageAsync(reader, _method.RequestParser, _maxReceive, encodingValue, token).ConfigureAwait(false) is not null)
                {
                    throw new RpcException(StatusCode.Internal, "Additional data after the request message (this method takes one request).");
                }
            }
            catch (IOException)
            {
                // Kestrel throws this when the client resets the stream (RST_STREAM) or the connection drops
                // while the request is read, sometimes before RequestAborted is signalled: a cancelled call,
                // not a handler error.
                GrpcServerLog.CallCancelled(_logger, _method.FullName);
                deadlineRegistration.Dispose();
                linkedCts?.Dispose();
                deadlineCts?.Dispose();
                return;
            }

            if (_unary is not null)
            {
                unaryResponse = await _unary(request, context).ConfigureAwait(false);
                if (context.Status.StatusCode == StatusCode.OK && unaryResponse is null)
                {
                    throw new InvalidOperationException("The unary handler returned null with status OK.");
                }
            }
            else
            {
                var writer = new HttpServerStreamWriter<TResponse>(http, context, _maxSend);
                await _streaming!(request, writer, context).ConfigureAwait(false);
            }

            status = context.Status;
        }
        catch (Exception ex)
        {
            unaryResponse = null;
            if (MapException(http, context, ex, deadlineCts) is not { } failure)
            {
                deadlineRegistration.Dispose();
                linkedCts?.Dispose();
                deadlineCts?.Dispose();
                return;
            }

            status = failure;
        }

        try
        {
            await FinishAsync(http, context, status, unaryResponse).ConfigureAwait(false);
        }
        finally
        {
            deadlineRegistration.Dispose();
            linkedCts?.Dispose();
            deadlineCts?.Dispose();
        }
    }

    /// <summary>Writes the unary response (if any) and the status, unless the deadline already
    /// completed the call.</summary>
    private async ValueTask FinishAsync(HttpContext http, GrpcServerCallContext context, Status status, TResponse? unaryResponse)
    {
        if (!await context.TryEnterCompletionAsync().ConfigureAwait(false))
        {
            return;
        }

        try
        {
            if (unaryResponse is not null && status.StatusCode == StatusCode.OK)
            {
                try
                {
                    context.PrepareResponseHeaders();
                    MessageFraming.Write(http.Response.BodyWriter, unaryResponse, _maxSend);
                }
                catch (RpcException ex)
                {
                    // Too large to send: checked before any byte is written.
                    GrpcServerLog.CallFailed(_logger, _method.FullName, ex.StatusCode, ex.Status.Detail);
                    status = ex.Status;
                }
            }

            ServerCallValidation.WriteStatus(http, context, status, includeTrailers: true);
        }
        finally
        {
            context.ExitCompletion();
        }
    }

    private async Task CompleteOnDeadlineAsync(HttpContext http, GrpcServerCallContext context)
    {
        try
        {
            if (http.RequestAborted.IsCancellationRequested || !await context.TryEnterCompletionAsync().ConfigureAwait(false))
            {
                return;
            }

            try
            {
                GrpcServerLog.DeadlineExceeded(_logger, _method.FullName);

                // The handler may still be adding trailers on another thread: send only the status.
                ServerCallValidation.WriteStatus(http, context, new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"), includeTrailers: false);
                await http.Response.CompleteAsync().ConfigureAwait(false);
            }
            finally
            {
                context.ExitCompletion();
            }
        }
        catch (Exception ex)
        {
            // The client may have gone at the same moment; nothing else to do.
            GrpcServerLog.DeadlineCompletionFailed(_logger, _method.FullName, ex);
        }
    }

    /// <summary>The status for a failed handler, or null when the client is gone (nothing to send).</summary>
    private Status? MapException(HttpContext http, GrpcServerCallContext context, Exception ex, CancellationTokenSource? deadlineCts)
    {
        if (ex is RpcException rpc)
        {
            foreach (var entry in rpc.Trailers)
            {
                context.ResponseTrailers.Add(entry);
            }

            GrpcServerLog.CallFailed(_logger, _method.FullName, rpc.StatusCode, rpc.Status.Detail);
            return rpc.Status;
        }

        if (deadlineCts is { IsCancellationRequested: true } && !http.RequestAborted.IsCancellationRequested)
        {
            return new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        }

        if (http.RequestAborted.IsCancellationRequested)
        {
            // RST_STREAM from the client (or a lost connection): nobody is listening any more.
            GrpcServerLog.CallCancelled(_logger, _method.FullName);
            return null;
        }

        GrpcServerLog.HandlerError(_logger, _method.FullName, ex);
        var detail = _options.EnableDetailedErrors
            ? "Exception was thrown by handler. " + ex.GetType().Name + ": " + ex.Message
            : "Exception was thrown by handler.";
        return new Status(StatusCode.Unknown, detail);
    }
}

/// <summary>Checks and status writing shared by method handlers and the unimplemented fallback.</summary>
internal static class ServerCallValidation
{
    /// <summary>Trailers after messages; trailers-only (all in the one HEADERS frame) when nothing was sent.</summary>
    internal static void WriteStatus(HttpContext http, GrpcServerCallContext context, Status status, bool includeTrailers)
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

            if (includeTrailers && context.HasResponseTrailers)
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

        if (includeTrailers && context.HasResponseTrailers)
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
    private int _writing;

    public HttpServerStreamWriter(HttpContext http, GrpcServerCallContext context, int maxSend)
    {
        _http = http;
        _context = context;
        _maxSend = maxSend;
    }

    public async Task WriteAsync(T message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (Interlocked.CompareExchange(ref _writing, 1, 0) != 0)
        {
            throw new InvalidOperationException("Only one write at a time is allowed on a gRPC response stream.");
        }

        try
        {
            var token = _context.CancellationToken;
            token.ThrowIfCancellationRequested();
            cancellationToken.ThrowIfCancellationRequested();
            if (!await _context.TryEnterWriteAsync().ConfigureAwait(false))
            {
                throw new OperationCanceledException("The gRPC call is complete (deadline exceeded); its response stream can no longer be written.", token);
            }

            try
            {
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
                _context.ExitCompletion();
            }
        }
        finally
        {
            Volatile.Write(ref _writing, 0);
        }
    }

    private static async ValueTask<System.IO.Pipelines.FlushResult> FlushWithTwoTokensAsync(
        System.IO.Pipelines.PipeWriter writer, CancellationToken a, CancellationToken b)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(a, b);
        return await writer.FlushAsync(linked.Token).ConfigureAwait(false);
    }
}
