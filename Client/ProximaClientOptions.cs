namespace Proxima.Client;

/// <summary>Where a <see cref="ProximaClient"/> finds the router and how it authenticates.</summary>
public sealed class ProximaClientOptions
{
    /// <summary>Options with defaults; set <see cref="RouterUrl"/>.</summary>
    public ProximaClientOptions()
    {
    }

    /// <summary>The router's HTTP address (<c>POST /v1/query</c>, <c>GET /v1/datasets</c>), for example <c>http://127.0.0.1:8080/</c>.</summary>
    public required Uri RouterUrl { get; init; }

    /// <summary>The router's gRPC address (<c>proxima.v1.QueryRouter</c>). With it, queries stream progress;
    /// without it, queries go to <c>POST /v1/query</c> and progress jumps from 0 to 1.</summary>
    public Uri? GrpcUrl { get; init; }

    /// <summary>Bearer token sent as <c>authorization: Bearer ...</c> on every HTTP and gRPC request
    /// (<c>proxima up</c> writes it to <c>STATE/token</c>). Null sends none.</summary>
    public string? Token { get; init; }

    /// <summary>Client-side time limit of one request (default 10 minutes). A query's own
    /// <see cref="ProximaQuery.Deadline"/> is enforced by the router as well.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Largest gRPC answer accepted (default 256 MiB).</summary>
    public int MaxReceiveMessageSize { get; init; } = 256 << 20;
}
