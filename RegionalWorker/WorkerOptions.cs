namespace Proxima.RegionalWorker;

/// <summary>Options of one regional worker process.</summary>
public sealed record WorkerOptions
{
    /// <summary>The region this worker serves (e.g. <c>us-east-1</c>).</summary>
    public required string Region { get; init; }

    /// <summary>The region's data root: the FSx for Lustre mount in AWS, <c>DIR/region</c> locally.</summary>
    public required string DataRoot { get; init; }

    /// <summary>The worker's name in logs and stats.</summary>
    public string Name { get; init; } = Environment.MachineName;

    /// <summary>Address to bind; loopback by default.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>gRPC port (0 = any free port).</summary>
    public int Port { get; init; }

    /// <summary>
    /// The catalog sync's NetCDF collection metadata caches (<c>SyncOptions.MetadataCacheDirectory</c>): with
    /// it, an unchanged collection opens without opening its files. Null (default): every file is opened.
    /// </summary>
    public string? MetadataCacheDirectory { get; init; }

    /// <summary>Work units executed at once; further units queue (up to <see cref="MaxQueuedUnits"/>).</summary>
    public int MaxConcurrentUnits { get; init; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>
    /// Work units that may wait for a slot when <see cref="MaxConcurrentUnits"/> run; one more is refused
    /// with RESOURCE_EXHAUSTED, which the router retries on another worker of the pool (or on this one after a backoff).
    /// </summary>
    public int MaxQueuedUnits { get; init; } = 64;

    /// <summary>
    /// Mutual TLS: the worker's certificate and key and the CA client certificates must chain to, each a
    /// PEM file path or the PEM contents (AWS: PROXIMA_TLS_CERT/KEY/CA from Secrets Manager). All three
    /// set = TLS with a required client certificate; none = h2c (trusted networks only).
    /// </summary>
    public string? TlsCertificatePath { get; init; }

    public string? TlsKeyPath { get; init; }

    public string? ClientCaPath { get; init; }

    /// <summary>
    /// Region-local merge behind a load balancer: a DNS name whose SRV or A records are this worker's pool (this worker
    /// included; AWS: the Cloud Map name of the region's worker tasks), for units that ask their coordinator to find its
    /// peers itself (<c>WorkUnit.discover_peers</c>). Null: such a unit runs on this worker alone. <c>PROXIMA_PEERS_DNS</c>.
    /// </summary>
    public string? PeersDns { get; init; }

    /// <summary>Port of peers found by A records (no SRV); null = this worker's own port. <c>PROXIMA_PEERS_PORT</c>.</summary>
    public int? PeersPort { get; init; }

    /// <summary>DNS servers asked for <see cref="PeersDns"/>; null = the <c>nameserver</c>s of <c>/etc/resolv.conf</c>. <c>PROXIMA_PEERS_DNS_SERVER</c>.</summary>
    public IReadOnlyList<System.Net.IPEndPoint>? PeersDnsServers { get; init; }

    /// <summary>How often <see cref="PeersDns"/> is resolved again (tasks come and go). <c>PROXIMA_PEERS_REFRESH</c> (seconds).</summary>
    public TimeSpan PeersRefresh { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>HTTP/1.1 port of <c>GET /metrics</c> (Prometheus); 0 = any free port, -1 = none.</summary>
    public int MetricsPort { get; init; } = -1;

    /// <summary>
    /// Fault injection for tests and benchmarks: this fraction of work units (evenly spaced: every 20th for 0.05) waits <see cref="FaultDelay"/>
    /// (cancellably) before running. Off by default; <c>proxima worker</c> reads
    /// <c>PROXIMA_FAULT_DELAY_MS</c>, <c>PROXIMA_FAULT_FRACTION</c> and <c>PROXIMA_FAULT_WORKER</c> (worker names, comma-separated).
    /// </summary>
    public TimeSpan FaultDelay { get; init; }

    public double FaultFraction { get; init; }

    /// <summary>Only units of these dataset ids are delayed (null = all); <c>PROXIMA_FAULT_DATASET</c> (comma-separated).</summary>
    public IReadOnlyList<string>? FaultDatasets { get; init; }

    /// <summary>
    /// Only shares a pool coordinator sent (<c>WorkUnit.coordinator</c> set) are delayed, not units from the
    /// router; <c>PROXIMA_FAULT_SHARES_ONLY=1</c> (a test can then hold a peer's share, never the coordinator).
    /// </summary>
    public bool FaultSharesOnly { get; init; }

    /// <summary>Checks the options and names the bad field.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Region))
        {
            throw new ArgumentException("WorkerOptions.Region is required", nameof(Region));
        }

        if (!Directory.Exists(DataRoot))
        {
            throw new ArgumentException($"WorkerOptions.DataRoot: '{DataRoot}' is not a directory", nameof(DataRoot));
        }

        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException($"WorkerOptions.Port: {Port} is not a TCP port", nameof(Port));
        }

        if ((TlsCertificatePath is null) != (TlsKeyPath is null) || (TlsCertificatePath is null) != (ClientCaPath is null))
        {
            throw new ArgumentException("WorkerOptions.TlsCertificatePath, TlsKeyPath and ClientCaPath go together (mutual TLS)", nameof(TlsCertificatePath));
        }

        if (FaultFraction is < 0 or > 1)
        {
            throw new ArgumentException($"WorkerOptions.FaultFraction: {FaultFraction} is not in 0..1", nameof(FaultFraction));
        }

        if (MaxConcurrentUnits < 1)
        {
            throw new ArgumentException("WorkerOptions.MaxConcurrentUnits must be at least 1", nameof(MaxConcurrentUnits));
        }

        if (PeersPort is < 1 or > 65535)
        {
            throw new ArgumentException($"WorkerOptions.PeersPort: {PeersPort} is not a TCP port", nameof(PeersPort));
        }

        if (PeersRefresh < TimeSpan.FromMilliseconds(10))
        {
            throw new ArgumentException($"WorkerOptions.PeersRefresh: {PeersRefresh} is too short", nameof(PeersRefresh));
        }

        if (MaxQueuedUnits < 0)
        {
            throw new ArgumentException($"WorkerOptions.MaxQueuedUnits: {MaxQueuedUnits} must be at least 0", nameof(MaxQueuedUnits));
        }
    }
}
