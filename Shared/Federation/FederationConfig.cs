namespace Proxima.Federation;

/// <summary>The federation described by <c>bin/variables.json</c>: one client region and its worker regions.</summary>
internal sealed record FederationConfig
{
    public required ClientConfig Client { get; init; }

    public required IReadOnlyList<WorkerConfig> Workers { get; init; }
}

/// <summary>The client region: router, catalog (OpenSearch) and the hub Transit Gateway.</summary>
internal sealed record ClientConfig
{
    public required string Region { get; init; }

    public required Ipv4Cidr Cidr { get; init; }

    /// <summary>Fargate CPU units of one router task.</summary>
    public int RouterCpu { get; init; } = 1024;

    /// <summary>Fargate memory (MiB) of one router task.</summary>
    public int RouterMemoryMiB { get; init; } = 2048;

    /// <summary>Number of router tasks behind the NLB.</summary>
    public int RouterTasks { get; init; } = 2;

    /// <summary>Optional ACM certificate: when set the NLB terminates TLS with it and re-encrypts to the router;
    /// when absent the NLB passes TLS through and the router terminates it with the certificate from Secrets Manager.</summary>
    public string? CertificateArn { get; init; }

    public string OpenSearchInstanceType { get; init; } = "r6g.large.search";

    public int OpenSearchNodes { get; init; } = 2;

    public int OpenSearchVolumeGiB { get; init; } = 100;

    public int NatGateways { get; init; } = 1;

    public int MaxAzs { get; init; } = 2;
}

/// <summary>One worker region: its data (S3 dataset linked to FSx for Lustre), worker pool and nightly sync.</summary>
internal sealed record WorkerConfig
{
    public required string Region { get; init; }

    public required Ipv4Cidr Cidr { get; init; }

    /// <summary>The S3 URI the region's Lustre file system imports from, e.g. <c>s3://era5-pds</c>.</summary>
    public required string Dataset { get; init; }

    /// <summary>Where the dataset appears under the region's folder: <c>/fsx/&lt;region&gt;/&lt;path&gt;</c>.</summary>
    public required string LustreFileSystemPath { get; init; }

    /// <summary>gRPC-over-TLS port of the RegionalWorker.</summary>
    public int Port { get; init; } = 7443;

    /// <summary>ECS CPU units of one worker task.</summary>
    public int Cpu { get; init; } = 4096;

    /// <summary>Memory (MiB) of one worker task.</summary>
    public int MemoryMiB { get; init; } = 14336;

    public int MinTasks { get; init; } = 1;

    /// <summary>Worker processes of the region's pool in local mode (<c>proxima up</c>), JSON field <c>workers</c>.</summary>
    public int LocalWorkers { get; init; } = 1;

    public int MaxTasks { get; init; } = 16;

    /// <summary>Average service CPU utilisation the target-tracking policy keeps.</summary>
    public int CpuTargetPercent { get; init; } = 60;

    /// <summary>EC2 instance type of the container hosts (Lustre needs EC2 hosts, not Fargate).</summary>
    public string InstanceType { get; init; } = "m6i.xlarge";

    /// <summary>Upper bound of the host Auto Scaling group; defaults to <see cref="MaxTasks"/>.</summary>
    public int? MaxInstances { get; init; }

    public int FsxFileSystemStorageGiB { get; init; } = 1200;

    /// <summary>Import new/changed/deleted S3 objects as they happen (needs the bucket owner's event notifications).</summary>
    public bool AutoImport { get; init; } = true;

    /// <summary>PERSISTENT_2 throughput (MB/s per TiB): 125, 250, 500 or 1000.</summary>
    public int FsxThroughputPerTiB { get; init; } = 125;

    public int SyncCpu { get; init; } = 1024;

    public int SyncMemoryMiB { get; init; } = 4096;

    public int NatGateways { get; init; } = 1;

    public int MaxAzs { get; init; } = 2;

    public int EffectiveMaxInstances => MaxInstances ?? MaxTasks;
}
