namespace Proxima.Protocol.Grpc;

/// <summary>
/// Options of the gRPC server side. Register with
/// <c>services.AddProximaGrpc(o =&gt; o.MaxReceiveMessageSize = ...)</c>; without registration the
/// defaults below apply.
/// </summary>
public sealed class GrpcServerOptions
{
    /// <summary>Largest request message accepted, in bytes (default 4 MiB, gRPC's default).
    /// Larger → RESOURCE_EXHAUSTED. Null = unlimited.</summary>
    public int? MaxReceiveMessageSize { get; set; } = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>Largest response message sent, in bytes (default unlimited).
    /// Larger → the call fails with RESOURCE_EXHAUSTED.</summary>
    public int? MaxSendMessageSize { get; set; }

    /// <summary>When true, the message of an unexpected handler exception is sent to the client in
    /// <c>grpc-message</c>; otherwise a generic text is sent (default false).</summary>
    public bool EnableDetailedErrors { get; set; }

    /// <summary>Clock used for <c>grpc-timeout</c> deadlines (tests may substitute one).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad field.</summary>
    public void Validate()
    {
        if (MaxReceiveMessageSize is < 0)
        {
            throw new ArgumentException($"GrpcServerOptions.MaxReceiveMessageSize must be >= 0 (was {MaxReceiveMessageSize}).");
        }

        if (MaxSendMessageSize is < 0)
        {
            throw new ArgumentException($"GrpcServerOptions.MaxSendMessageSize must be >= 0 (was {MaxSendMessageSize}).");
        }

        if (TimeProvider is null)
        {
            throw new ArgumentException("GrpcServerOptions.TimeProvider must not be null.");
        }
    }
}
