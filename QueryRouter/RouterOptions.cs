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

    /// <summary>
    /// The in-region address of a worker whose <see cref="Workers"/> address is not one its pool peers can use
    /// (local mode: the router's address is the link emulator, the peers call the worker's own port), so a
    /// coordinator's fan-out does not cross the emulated link. Workers not listed: their address is in-region already.
    /// </summary>
    public IReadOnlyDictionary<Uri, Uri> InRegionAddresses { get; init; } = new Dictionary<Uri, Uri>();

    /// <summary>
    /// A part whose partial is expected larger than this (bytes: 40 per output cell, from the catalog's shapes or
    /// the workers' plan) and whose pool has 2+ workers is sent as ONE unit to a coordinator worker, which splits
    /// it over the pool in-region and merges there, so one partial crosses regions instead of one per worker.
    /// Smaller answers (scalars, small maps) keep one share per worker (nothing to save). Default 64 KiB.
    /// </summary>
    public long CoordinateAboveBytes { get; init; } = 64 * 1024;

    /// <summary>
    /// Whether pools merge maps in-region at all (see <see cref="CoordinateAboveBytes"/>). A region behind a load balancer
    /// (<see cref="IsLoadBalanced"/>) merges in-region through peers its workers discover themselves; off, its reductions go
    /// as one share per load-balancer address.
    /// </summary>
    public bool RegionLocalMerge { get; init; } = true;

    /// <summary>Worker discovery by DNS (AWS), for regions not in <see cref="Workers"/>; null = static endpoints only.</summary>
    public Dispatch.WorkerDiscoveryOptions? Discovery { get; init; }

    /// <summary>
    /// Whether <paramref name="region"/>'s address is a load balancer in front of its pool
    /// (<see cref="Dispatch.WorkerDiscoveryOptions.LoadBalanced"/>, for discovered regions only; static <see cref="Workers"/> are the workers' own).
    /// </summary>
    public bool IsLoadBalanced(string region) =>
        Discovery is { LoadBalanced: true } d && !Workers.ContainsKey(region) && d.Regions.Contains(region);

    /// <summary>Deadline applied when a query sets none.</summary>
    public TimeSpan DefaultDeadline { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Largest accepted request body.</summary>
    public int MaxRequestBytes { get; init; } = 1 << 20;

    /// <summary>Work units per worker of a pool a dataset part's chunk range is split into (pools of 2+ workers). Each unit of a reduction sends a full-size partial across regions, so more units cost more cross-region bytes; 1 keeps it to one partial per worker.</summary>
    public int UnitsPerWorker { get; init; } = 1;

    /// <summary>Attempts per work unit (first try + retries on other workers), for retryable failures only.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>Base of the jittered exponential backoff between attempts.</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(25);

    /// <summary>Start a second copy of a unit on another worker once it runs longer than the pool's observed p95.</summary>
    public bool Hedging { get; init; } = true;

    /// <summary>Unit latencies a pool must have observed before hedging starts (p95 needs a sample).</summary>
    public int HedgeMinSamples { get; init; } = 20;

    /// <summary>Hedges a pool may start per dispatched unit in the long run (a token bucket, <see cref="Shared.HedgeBudget"/>): 0.05 caps hedging's extra work units at 5% plus <see cref="HedgeBurst"/>.</summary>
    public double HedgeRatio { get; init; } = 0.05;

    /// <summary>Hedges a pool may start in a row once it has earned them (the budget's bucket size).</summary>
    public double HedgeBurst { get; init; } = 10;

    /// <summary>Bearer tokens accepted, with their names and groups; null = no authentication (trusted networks only).</summary>
    public IReadOnlyList<Security.TokenGrant>? Tokens { get; init; }

    /// <summary>OIDC/JWT bearer-token validation, alongside <see cref="Tokens"/>; null = static tokens only.</summary>
    public Security.JwtOptions? Jwt { get; init; }

    /// <summary>
    /// Certificate the router presents to workers (mTLS, with <see cref="ClientKeyPath"/> and
    /// <see cref="CaCertificatePath"/>); each a PEM file path or the PEM contents (AWS: PROXIMA_TLS_CERT/KEY/CA). Null = plain h2c.
    /// </summary>
    public string? ClientCertificatePath { get; init; }

    public string? ClientKeyPath { get; init; }

    /// <summary>The CA that signed the workers' certificates (trusted for worker TLS), path or PEM contents.</summary>
    public string? CaCertificatePath { get; init; }

    /// <summary>Most datasets in one query.</summary>
    public int MaxDatasets { get; init; } = 16;

    /// <summary>Most output cells a query may produce (summed over its datasets, each op counted); refused with 400 at planning, before any data is read.</summary>
    public long MaxOutputCells { get; init; } = 50_000_000;

    /// <summary>Queries one client (token) may run at once; more get 429.</summary>
    public int MaxConcurrentQueriesPerClient { get; init; } = 8;

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

        if (UnitsPerWorker < 1)
        {
            throw new ArgumentException("RouterOptions.UnitsPerWorker must be at least 1", nameof(UnitsPerWorker));
        }

        if (MaxAttempts is < 1 or > 10)
        {
            throw new ArgumentException($"RouterOptions.MaxAttempts: {MaxAttempts} is not in 1..10", nameof(MaxAttempts));
        }

        if (CoordinateAboveBytes < 0)
        {
            throw new ArgumentException($"RouterOptions.CoordinateAboveBytes: {CoordinateAboveBytes} must be at least 0", nameof(CoordinateAboveBytes));
        }

        if (MaxOutputCells < 1)
        {
            throw new ArgumentException($"RouterOptions.MaxOutputCells: {MaxOutputCells} must be at least 1", nameof(MaxOutputCells));
        }

        Jwt?.Validate();
        Discovery?.Validate();

        foreach (var (region, endpoints) in Workers)
        {
            if (endpoints.Count == 0)
            {
                throw new ArgumentException($"RouterOptions.Workers[{region}] has no endpoints", nameof(Workers));
            }
        }
    }
}
