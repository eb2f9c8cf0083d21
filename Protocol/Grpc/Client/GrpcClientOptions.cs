using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Proxima.Protocol.Grpc;

/// <summary>Options of a <see cref="GrpcClient"/> (one per server address; share the client).</summary>
public sealed class GrpcClientOptions
{
    /// <summary>Largest response message accepted, in bytes (default 4 MiB). Larger → RESOURCE_EXHAUSTED.
    /// Null = unlimited.</summary>
    public int? MaxReceiveMessageSize { get; init; } = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>Largest request message sent, in bytes (default unlimited). Larger → RESOURCE_EXHAUSTED
    /// before anything is sent.</summary>
    public int? MaxSendMessageSize { get; init; }

    /// <summary>For <c>https://</c> addresses: trust exactly this (e.g. self-signed) server certificate,
    /// in addition to certificates the system trusts.</summary>
    public X509Certificate2? ServerCertificate { get; init; }

    /// <summary>For <c>https://</c> addresses: full control over server certificate validation
    /// (overrides <see cref="ServerCertificate"/>).</summary>
    public RemoteCertificateValidationCallback? RemoteCertificateValidationCallback { get; init; }

    /// <summary>A handler to send requests with instead of the built-in <see cref="SocketsHttpHandler"/>
    /// (not disposed by the client). TLS options above are then ignored.</summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    /// <summary>Initial HTTP/2 receive window per stream of the built-in handler, in bytes (null = the
    /// .NET default of 64 KiB, grown dynamically). Larger values help big responses over long links.</summary>
    public int? InitialStreamWindowSize { get; init; }

    /// <summary>TCP/TLS connect timeout of the built-in handler (default 10 s).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Clock for deadlines (tests may substitute one).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Logger factory for client diagnostics (default none).</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    internal void Validate()
    {
        if (MaxReceiveMessageSize is < 0)
        {
            throw new ArgumentException($"GrpcClientOptions.MaxReceiveMessageSize must be >= 0 (was {MaxReceiveMessageSize}).");
        }

        if (MaxSendMessageSize is < 0)
        {
            throw new ArgumentException($"GrpcClientOptions.MaxSendMessageSize must be >= 0 (was {MaxSendMessageSize}).");
        }

        if (ConnectTimeout <= TimeSpan.Zero && ConnectTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException($"GrpcClientOptions.ConnectTimeout must be positive (was {ConnectTimeout}).");
        }

        if (TimeProvider is null)
        {
            throw new ArgumentException("GrpcClientOptions.TimeProvider must not be null.");
        }

        if (InitialStreamWindowSize is < 65535)
        {
            throw new ArgumentException($"GrpcClientOptions.InitialStreamWindowSize must be >= 65535 (was {InitialStreamWindowSize}).");
        }
    }
}

/// <summary>Per-call options, shaped like Grpc.Core's <c>CallOptions</c>.</summary>
/// <param name="Headers">Custom metadata sent as request headers (<c>-bin</c> keys base64-encoded).</param>
/// <param name="Deadline">UTC deadline: sent as <c>grpc-timeout</c> and enforced locally
/// (→ DEADLINE_EXCEEDED). Null or <see cref="DateTime.MaxValue"/> = none.</param>
/// <param name="CancellationToken">Cancels the call (RST_STREAM CANCEL to the server; → CANCELLED).</param>
public readonly record struct GrpcCallOptions(
    Metadata? Headers = null,
    DateTime? Deadline = null,
    CancellationToken CancellationToken = default)
{
    /// <summary>Options with a deadline <paramref name="timeout"/> from now.</summary>
    public static GrpcCallOptions WithTimeout(TimeSpan timeout, CancellationToken cancellationToken = default, Metadata? headers = null) =>
        new(headers, DateTime.UtcNow + timeout, cancellationToken);

    /// <summary>Options for an outgoing call made while serving <paramref name="context"/>: the same
    /// deadline and cancellation (router → worker propagation), plus <paramref name="headers"/>.</summary>
    public static GrpcCallOptions PropagateFrom(GrpcServerCallContext context, Metadata? headers = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new(headers, context.Deadline == DateTime.MaxValue ? null : context.Deadline, context.CancellationToken);
    }
}

/// <summary>A unary call's response with its response headers and trailers.</summary>
public sealed record GrpcUnaryResult<TResponse>(TResponse Response, Metadata ResponseHeaders, Metadata Trailers)
    where TResponse : class;
