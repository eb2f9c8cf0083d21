using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;

namespace Proxima.Protocol.Grpc;

/// <summary>
/// One client call: sends the request, validates response headers (HTTP status, content type,
/// trailers-only), reads length-prefixed messages, then the status from trailers. Deadline and
/// cancellation end the call locally; disposing an unfinished call disposes the HTTP response,
/// which makes SocketsHttpHandler send RST_STREAM(CANCEL).
/// </summary>
internal sealed class ClientCall<TRequest, TResponse> : IDisposable
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    private readonly GrpcClient _client;
    private readonly GrpcMethod<TRequest, TResponse> _method;
    private readonly GrpcCallOptions _options;
    private readonly CancellationTokenSource? _cts;
    private readonly ITimer? _deadlineTimer;
    private readonly CancellationToken _token;
    private HttpResponseMessage? _response;
    private Stream? _responseStream;
    private byte[]? _headerBuffer;
    private string? _encoding;
    private Metadata? _responseHeaders;
    private Metadata? _trailers;
    private Status? _status;
    private readonly CancellationTokenRegistration _cancelRegistration;
    private volatile bool _deadlineExceeded;
    private int _disposed;

    public ClientCall(GrpcClient client, GrpcMethod<TRequest, TResponse> method, in GrpcCallOptions options, bool alwaysCancellable)
    {
        _client = client;
        _method = method;
        _options = options;
        var deadline = options.Deadline;
        if (deadline == DateTime.MaxValue)
        {
            deadline = null;
        }

        if (deadline is not null || alwaysCancellable)
        {
            _cts = options.CancellationToken.CanBeCanceled
                ? CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken)
                : new CancellationTokenSource();
            _token = _cts.Token;
            if (deadline is { } d)
            {
                var remaining = ToUtc(d) - client.TimeProvider.GetUtcNow().UtcDateTime;
                if (remaining <= TimeSpan.Zero)
                {
                    _deadlineExceeded = true;
                }
                else
                {
                    Timeout = remaining;
                    _deadlineTimer = client.TimeProvider.CreateTimer(static s => ((ClientCall<TRequest, TResponse>)s!).OnDeadline(), this, remaining, System.Threading.Timeout.InfiniteTimeSpan);
                }
            }
        }
        else
        {
            _token = options.CancellationToken;
        }

        if (_cts is not null)
        {
            // Cancellation (or the deadline) resets the stream at once, even when no read is pending.
            _cancelRegistration = _token.UnsafeRegister(static s => ((ClientCall<TRequest, TResponse>)s!).AbortResponse(), this);
        }
    }

    /// <summary>Time left at the start of the call, sent as grpc-timeout.</summary>
    public TimeSpan? Timeout { get; }

    public CancellationToken Token => _token;

    public Metadata ResponseHeaders => _responseHeaders ??= ReadMetadata(_response?.Headers);

    public Metadata Trailers => _trailers ?? new Metadata();

    /// <summary>Final status; null while the call runs.</summary>
    public Status? FinalStatus => _status;

    public async Task StartAsync(TRequest request)
    {
        try
        {
            if (_deadlineExceeded)
            {
                throw DeadlineException();
            }

            _token.ThrowIfCancellationRequested();
            var buffer = MessageFraming.WriteToPooledArray(request, _client.MaxSendMessageSize, out var length);
            using var httpRequest = CreateRequest(new PooledMessageContent(buffer, length));
            _response = await _client.Invoker.SendAsync(httpRequest, _token).ConfigureAwait(false);
            ValidateResponseHeaders(_response);
            if (_status is { } trailersOnly && trailersOnly.StatusCode != StatusCode.OK)
            {
                throw new RpcException(trailersOnly, Trailers);
            }

            if (_status is null)
            {
                _responseStream = await _response.Content.ReadAsStreamAsync(_token).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            throw Fail(ex);
        }
    }

    /// <summary>Next message, or null at the end of a successful stream; throws <see cref="RpcException"/>
    /// for a non-OK status or any failure.</summary>
    public async ValueTask<TResponse?> ReadMessageAsync(CancellationToken extraToken = default)
    {
        if (_status is { } done)
        {
            // Trailers-only OK, or already finished.
            return done.StatusCode == StatusCode.OK ? null : throw new RpcException(done, Trailers);
        }

        CancellationTokenRegistration registration = default;
        if (extraToken.CanBeCanceled)
        {
            registration = extraToken.UnsafeRegister(static s => ((ClientCall<TRequest, TResponse>)s!).Cancel(), this);
        }

        try
        {
            _headerBuffer ??= ArrayPool<byte>.Shared.Rent(GrpcProtocol.MessageHeaderSize);
            var stream = _responseStream!;
            var got = await stream.ReadAtLeastAsync(_headerBuffer.AsMemory(0, GrpcProtocol.MessageHeaderSize), GrpcProtocol.MessageHeaderSize, throwOnEndOfStream: false, _token).ConfigureAwait(false);
            if (got == 0)
            {
                FinishFromTrailers();
                return null;
            }

            if (got < GrpcProtocol.MessageHeaderSize)
            {
                ThrowHelper.Incomplete(got);
            }

            var (compressed, length) = MessageFraming.ReadHeader(_headerBuffer.AsSpan(0, GrpcProtocol.MessageHeaderSize));
            if (length > _client.MaxReceiveMessageSize)
            {
                ThrowHelper.ReceiveTooLarge(length, _client.MaxReceiveMessageSize);
            }

            var payload = ArrayPool<byte>.Shared.Rent(length);
            try
            {
                got = await stream.ReadAtLeastAsync(payload.AsMemory(0, length), length, throwOnEndOfStream: false, _token).ConfigureAwait(false);
                if (got < length)
                {
                    ThrowHelper.Incomplete(GrpcProtocol.MessageHeaderSize + got);
                }

                try
                {
                    return compressed
                        ? MessageFraming.ParseCompressed(new ReadOnlySequence<byte>(payload, 0, length), _method.ResponseParser, _client.MaxReceiveMessageSize, _encoding)
                        : _method.ResponseParser.ParseFrom(payload.AsSpan(0, length));
                }
                catch (InvalidProtocolBufferException ex)
                {
                    throw new RpcException(new Status(StatusCode.Internal, "Failed to deserialize response message: " + ex.Message), new Metadata(), ex);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(payload);
            }
        }
        catch (Exception ex)
        {
            if (extraToken.IsCancellationRequested && !_deadlineExceeded && ex is not RpcException)
            {
                throw Fail(new OperationCanceledException(extraToken));
            }

            throw Fail(ex);
        }
        finally
        {
            registration.Dispose();
        }
    }

    public void Cancel()
    {
        try
        {
            _cts?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The call already ended.
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _deadlineTimer?.Dispose();
        _cancelRegistration.Dispose();
        AbortResponse();
        _cts?.Dispose();
        if (_headerBuffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_headerBuffer);
            _headerBuffer = null;
        }
    }

    /// <summary>Disposing an unfinished response resets the HTTP/2 stream (RST_STREAM CANCEL);
    /// after the end of the stream it only releases the connection's stream slot.</summary>
    private void AbortResponse()
    {
        try
        {
            _responseStream?.Dispose();
            _response?.Dispose();
        }
        catch (Exception)
        {
            // Best effort: the stream may already be gone.
        }
    }

    private void OnDeadline()
    {
        _deadlineExceeded = true;
        GrpcClientLog.DeadlineExceeded(_client.Logger, _method.FullName);
        Cancel();
    }

    private HttpRequestMessage CreateRequest(HttpContent content)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _client.GetMethodUri(_method.FullName))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        var headers = request.Headers;
        headers.TryAddWithoutValidation(GrpcProtocol.TeHeader, GrpcProtocol.TeTrailers);
        headers.TryAddWithoutValidation("user-agent", GrpcProtocol.UserAgent);
        headers.TryAddWithoutValidation(GrpcProtocol.AcceptEncodingHeader, GrpcProtocol.SupportedEncodings);
        if (Timeout is { } timeout)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(timeout));
        }

        if (_options.Headers is { } metadata)
        {
            foreach (var entry in metadata)
            {
                headers.TryAddWithoutValidation(entry.Key, MetadataCodec.EncodeValue(entry));
            }
        }

        return request;
    }

    private void ValidateResponseHeaders(HttpResponseMessage response)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new RpcException(GrpcProtocol.StatusFromHttpStatus((int)response.StatusCode), ResponseHeaders);
        }

        var headers = response.Headers.NonValidated;
        if (headers.TryGetValues(GrpcProtocol.StatusHeader, out var statusValues))
        {
            // Trailers-Only: the status (and any trailers) came in the only HEADERS frame.
            _trailers = ResponseHeaders;
            _status = ParseStatus(statusValues, headers);
            return;
        }

        var contentType = response.Content.Headers.NonValidated.TryGetValues("content-type", out var ct) ? First(ct) : null;
        if (!GrpcProtocol.IsGrpcProtoContentType(contentType))
        {
            throw new RpcException(new Status(StatusCode.Internal, "Bad gRPC response. Invalid content-type value: " + (contentType ?? "(none)")), ResponseHeaders);
        }

        if (headers.TryGetValues(GrpcProtocol.EncodingHeader, out var encoding))
        {
            _encoding = First(encoding);
        }
    }

    private void FinishFromTrailers()
    {
        var trailers = _response!.TrailingHeaders.NonValidated;
        _trailers = ReadMetadata(_response.TrailingHeaders);
        if (!trailers.TryGetValues(GrpcProtocol.StatusHeader, out var statusValues))
        {
            _status = new Status(StatusCode.Internal, "The response ended without a grpc-status trailer.");
        }
        else
        {
            _status = ParseStatus(statusValues, trailers);
        }

        if (_status.Value.StatusCode != StatusCode.OK)
        {
            throw new RpcException(_status.Value, _trailers);
        }
    }

    private static Status ParseStatus(HeaderStringValues statusValues, HttpHeadersNonValidated headers)
    {
        var statusText = First(statusValues);
        if (!GrpcProtocol.TryParseStatusCode(statusText, out var code))
        {
            return new Status(StatusCode.Unknown, "Invalid grpc-status value: " + statusText);
        }

        var detail = headers.TryGetValues(GrpcProtocol.MessageHeader, out var messageValues)
            ? PercentEncoding.Decode(First(messageValues) ?? string.Empty)
            : string.Empty;
        return new Status(code, detail);
    }

    private static string? First(HeaderStringValues values)
    {
        foreach (var v in values)
        {
            return v;
        }

        return null;
    }

    private static Metadata ReadMetadata(HttpHeaders? headers)
    {
        var metadata = new Metadata();
        if (headers is null)
        {
            return metadata;
        }

        foreach (var header in headers.NonValidated)
        {
            if (GrpcProtocol.IsReservedHeader(header.Key))
            {
                continue;
            }

            var key = header.Key.ToLowerInvariant();
            foreach (var value in header.Value)
            {
                MetadataCodec.AddReceived(metadata, key, value);
            }
        }

        return metadata;
    }

    private RpcException DeadlineException() => new(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"));

    /// <summary>Maps any failure to the RpcException the caller sees, and ends the call.</summary>
    private RpcException Fail(Exception ex)
    {
        RpcException result;
        if (_deadlineExceeded && (ex is not RpcException r0 || r0.StatusCode == StatusCode.Cancelled))
        {
            // PROTOCOL-HTTP2.md: a CANCELLED call whose deadline passed is reported as DEADLINE_EXCEEDED,
            // generated locally.
            result = DeadlineException();
        }
        else if (_options.CancellationToken.IsCancellationRequested || _token.IsCancellationRequested)
        {
            // Whatever the failure looks like (OCE, or IOException from the reset stream), the caller cancelled.
            result = new RpcException(new Status(StatusCode.Cancelled, "Call canceled by the client."), new Metadata(), ex);
        }
        else if (ex is RpcException rpc)
        {
            result = rpc;
        }
        else if (FindHttp2Error(ex) is { } protocolError)
        {
            var code = GrpcProtocol.StatusFromHttp2ErrorCode(protocolError.ErrorCode, beforeResponseHeaders: _response is null);
            result = new RpcException(new Status(code, "HTTP/2 stream error: " + protocolError.Message), new Metadata(), ex);
        }
        else if (ex is HttpRequestException or IOException)
        {
            result = new RpcException(new Status(StatusCode.Unavailable, "Error talking to " + _client.Address + ": " + ex.Message), new Metadata(), ex);
        }
        else if (ex is OperationCanceledException)
        {
            result = new RpcException(new Status(StatusCode.Cancelled, "Call canceled."), new Metadata(), ex);
        }
        else
        {
            result = new RpcException(new Status(StatusCode.Internal, "gRPC client error: " + ex.GetType().Name + ": " + ex.Message), new Metadata(), ex);
        }

        _status ??= result.Status;
        AbortResponse();
        GrpcClientLog.CallFailed(_client.Logger, _method.FullName, _client.Address, result.StatusCode, result.Status.Detail);
        return result;
    }

    private static HttpProtocolException? FindHttp2Error(Exception? ex)
    {
        while (ex is not null)
        {
            if (ex is HttpProtocolException p)
            {
                return p;
            }

            ex = ex.InnerException;
        }

        return null;
    }

    private static DateTime ToUtc(DateTime d) => d.Kind == DateTimeKind.Local ? d.ToUniversalTime() : d;
}
