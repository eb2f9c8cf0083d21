using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Proxima.Protocol.Grpc;

/// <summary>Per-call state a server handler sees: request metadata, deadline, cancellation,
/// response headers and trailers.</summary>
public sealed class GrpcServerCallContext
{
    private readonly HttpContext _http;
    private Metadata? _requestHeaders;
    private Metadata? _responseTrailers;
    private bool _headersPrepared;

    // Serializes the end of the call (status) with message writes when a deadline can end the call
    // from a timer thread; null (no locking) for calls without a deadline.
    private SemaphoreSlim? _gate;
    private bool _completed;

    internal GrpcServerCallContext(HttpContext http, string method, DateTime deadline, CancellationToken cancellationToken)
    {
        _http = http;
        Method = method;
        Deadline = deadline;
        CancellationToken = cancellationToken;
    }

    /// <summary>The method's full name, <c>/package.Service/Method</c>.</summary>
    public string Method { get; }

    /// <summary>The <c>:authority</c> of the request.</summary>
    public string Host => _http.Request.Host.Value ?? string.Empty;

    /// <summary>The client's address in gRPC form: <c>ipv4:127.0.0.1:5000</c> or <c>ipv6:[::1]:5000</c>.</summary>
    public string Peer => FormatPeer(_http.Connection.RemoteIpAddress, _http.Connection.RemotePort);

    /// <summary>UTC deadline from <c>grpc-timeout</c>; <see cref="DateTime.MaxValue"/> when none.</summary>
    public DateTime Deadline { get; }

    /// <summary>Fires when the client cancels (RST_STREAM), disconnects, or the deadline passes.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Custom metadata the client sent (reserved and pseudo headers excluded).</summary>
    public Metadata RequestHeaders => _requestHeaders ??= ReadRequestHeaders(_http.Request.Headers);

    /// <summary>Trailers sent with the status at the end of the call.</summary>
    public Metadata ResponseTrailers => _responseTrailers ??= new Metadata();

    /// <summary>Status to send when the handler completes normally (default OK). Throwing
    /// <see cref="RpcException"/> is the usual way to fail a call.</summary>
    public Status Status { get; set; } = Status.DefaultSuccess;

    /// <summary>True once response headers were sent.</summary>
    public bool ResponseStarted => _http.Response.HasStarted;

    internal bool HasResponseTrailers => _responseTrailers is { Count: > 0 };

    /// <summary>The underlying ASP.NET Core request (escape hatch; not available after a swap to
    /// another gRPC stack).</summary>
    public HttpContext GetHttpContext() => _http;

    /// <summary>Sends response headers now, before any message. Allowed once, before the first message.</summary>
    public async Task WriteResponseHeadersAsync(Metadata responseHeaders)
    {
        ArgumentNullException.ThrowIfNull(responseHeaders);
        if (_http.Response.HasStarted)
        {
            throw new InvalidOperationException("Response headers can only be sent once per call, before the first message.");
        }

        if (!await TryEnterWriteAsync().ConfigureAwait(false))
        {
            throw new OperationCanceledException("The gRPC call is complete (deadline exceeded).", CancellationToken);
        }

        try
        {
            PrepareResponseHeaders();
            foreach (var entry in responseHeaders)
            {
                _http.Response.Headers.Append(entry.Key, MetadataCodec.EncodeValue(entry));
            }

            await _http.Response.StartAsync(CancellationToken).ConfigureAwait(false);
            await _http.Response.BodyWriter.FlushAsync(CancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ExitCompletion();
        }
    }

    internal void EnableCompletionGate() => _gate = new SemaphoreSlim(1, 1);

    /// <summary>Enters the gate to finish the call; false if it was already finished.</summary>
    internal async ValueTask<bool> TryEnterCompletionAsync()
    {
        if (_gate is not null)
        {
            await _gate.WaitAsync().ConfigureAwait(false);
        }

        if (_completed)
        {
            _gate?.Release();
            return false;
        }

        _completed = true;
        return true;
    }

    /// <summary>Enters the gate to write a message; false if the call was already finished.</summary>
    internal async ValueTask<bool> TryEnterWriteAsync()
    {
        if (_gate is not null)
        {
            await _gate.WaitAsync().ConfigureAwait(false);
        }

        if (_completed)
        {
            _gate?.Release();
            return false;
        }

        return true;
    }

    internal void ExitCompletion() => _gate?.Release();

    /// <summary>Sets :status 200 and the gRPC content type, once.</summary>
    internal void PrepareResponseHeaders()
    {
        if (_headersPrepared)
        {
            return;
        }

        _headersPrepared = true;
        var response = _http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = GrpcProtocol.ContentType;
        response.Headers[GrpcProtocol.AcceptEncodingHeader] = GrpcProtocol.SupportedEncodings;
    }

    internal static string FormatPeer(IPAddress? address, int port)
    {
        if (address is null)
        {
            return "unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return address.AddressFamily == AddressFamily.InterNetworkV6
            ? $"ipv6:[{address}]:{port}"
            : $"ipv4:{address}:{port}";
    }

    private static Metadata ReadRequestHeaders(IHeaderDictionary headers)
    {
        var metadata = new Metadata();
        foreach (var header in headers)
        {
            if (GrpcProtocol.IsReservedHeader(header.Key))
            {
                continue;
            }

            var key = header.Key.ToLowerInvariant();
            StringValues values = header.Value;
            for (var i = 0; i < values.Count; i++)
            {
                MetadataCodec.AddReceived(metadata, key, values[i] ?? string.Empty);
            }
        }

        return metadata;
    }
}
