namespace Proxima.QueryRouter;

/// <summary>Options of the query router.</summary>
public sealed record RouterOptions
{
    /// <summary>The client region the router runs in.</summary>
    public string Region { get; init; } = "local";

    /// <summary>Address to bind; loopback by default.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>HTTP port of the REST API (0 = any free port).</summary>
    public int Port { get; init; }

    /// <summary>gRPC (HTTP/2) port for SDK clients (0 = any free port).</summary>
    public int GrpcPort { get; init; }

    /// <summary>Path of the embedded SQLite catalog.</summary>
    public required string CatalogPath { get; init; }

    /// <summary>Worker endpoints per region (local mode: the link emulators' addresses).</summary>
    public required IReadOnlyDictionary<string, IReadOnlyList<Uri>> Workers { get; init; }

    /// <summary>Deadline applied when a query sets none.</summary>
    public TimeSpan DefaultDeadline { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Largest accepted request body.</summary>
    public int MaxRequestBytes { get; init; } = 1 << 20;

    /// <summary>Checks the options and names the bad field.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException($"RouterOptions.Port: {Port} is not a TCP port", nameof(Port));
        }

        if (GrpcPort is < 0 or > 65535)
        {
            throw new ArgumentException($"RouterOptions.GrpcPort: {GrpcPort} is not a TCP port", nameof(GrpcPort));
        }

        if (string.IsNullOrWhiteSpace(CatalogPath))
        {
            throw new ArgumentException("RouterOptions.CatalogPath is required", nameof(CatalogPath));
        }

        foreach (var (region, endpoints) in Workers)
        {
            if (endpoints.Count == 0)
            {
                throw new ArgumentException($"RouterOptions.Workers[{region}] has no endpoints", nameof(Workers));
            }
        }
    }
}
