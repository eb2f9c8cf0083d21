namespace Proxima.Cdk;

/// <summary>
/// Names shared between stacks in different regions. CloudFormation cannot export values across regions, so the
/// client stack publishes deploy-time values as SSM parameters under these names and worker stacks read them in the
/// client region; IAM role names are fixed so policies in one region can name a role created in another.
/// </summary>
internal static class Naming
{
    public const string ClientParameterPrefix = "/proxima/client";

    public const string TransitGatewayIdParameter = "/proxima/client/transit-gateway-id";

    public const string TransitGatewayRouteTableIdParameter = "/proxima/client/transit-gateway-route-table-id";

    public const string ClientCidrParameter = "/proxima/client/cidr";

    public const string CatalogEndpointParameter = "/proxima/client/catalog-endpoint";

    public const string CatalogWriterRoleParameter = "/proxima/client/catalog-writer-role-arn";

    /// <summary>The router task role; the sync (catalog master) maps it to OpenSearch's read-only role.</summary>
    public const string RouterRoleParameter = "/proxima/client/router-role-arn";

    public const string NamespaceIdParameter = "/proxima/client/workers-namespace-id";

    /// <summary>The Route 53 private hosted zone behind the namespace; worker stacks write their CNAME record into it.</summary>
    public const string NamespaceHostedZoneIdParameter = "/proxima/client/workers-namespace-hosted-zone-id";

    /// <summary>The private DNS domain of the worker services, resolved in the client VPC (<c>worker-REGION.workers.proxima.internal</c>; two labels under the private-use .internal TLD, as a private hosted zone name).</summary>
    public const string NamespaceName = "workers.proxima.internal";

    /// <summary>TTL of a region's CNAME; the router re-resolves every 15 s, so this bounds how stale an answer is.</summary>
    public const int WorkerDnsTtlSeconds = 30;

    /// <summary>
    /// The private DNS namespace (Cloud Map, one per worker region, in that region's VPC) where the worker service registers
    /// its tasks, so a worker can find the rest of its pool (region-local merge behind the NLB: <c>PROXIMA_PEERS_DNS</c>).
    /// </summary>
    public const string PoolNamespaceName = "pool.proxima.internal";

    /// <summary>The worker tasks' Cloud Map service in <see cref="PoolNamespaceName"/>: one A record per task IP.</summary>
    public const string PoolServiceName = "workers";

    /// <summary>The name whose A records are a worker region's task IPs (<c>workers.pool.proxima.internal</c>).</summary>
    public const string PoolDnsName = PoolServiceName + "." + PoolNamespaceName;

    /// <summary>TTL of the task records: workers re-resolve every 10 s, so a new or stopped task is seen within about 20 s.</summary>
    public const int PoolDnsTtlSeconds = 10;

    public const string RouterTlsSecretName = "proxima/tls/router";

    /// <summary>Replicated to every worker region under the same name.</summary>
    public const string WorkerTlsSecretName = "proxima/tls/worker";

    public const string RouterTokensSecretName = "proxima/router/tokens";

    public const string CatalogWriterRoleName = "proxima-catalog-writer";

    public const int RouterContainerPort = 8443;

    public const int RouterListenerPort = 443;

    /// <summary>The nightly catalog sync, 00:00 UTC (DESIGN.md §2).</summary>
    public const string SyncSchedule = "cron(0 0 * * ? *)";

    /// <summary>
    /// Where the sync's NetCDF collection metadata caches live on the region's Lustre mount: a dot folder (the scan
    /// skips it; no data repository association covers it, so nothing is exported to S3) that every worker host sees.
    /// </summary>
    public const string MetadataCacheRoot = "/fsx/.proxima/metadata-cache";

    public static string MetadataCacheFor(string region) => $"{MetadataCacheRoot}/{region}";

    public static string ClientStackId(string region) => $"Proxima-Client-{region}";

    public static string WorkerStackId(string region) => $"Proxima-Worker-{region}";

    public static string WorkerServiceParameter(string region) => $"{ClientParameterPrefix}/workers/{region}/cloud-map-service-id";

    public static string CloudMapServiceName(string region) => $"worker-{region}";

    public static string SyncRoleName(string region) => $"proxima-sync-{region}";

    /// <summary>
    /// Private ASNs (64512-65534) for the Transit Gateways, derived from the region name so that reordering or adding
    /// regions in the file never changes (and so never replaces) an existing gateway. The rare hash collision is
    /// resolved by probing in file order (client first), which keeps the ASNs distinct.
    /// </summary>
    public static IReadOnlyDictionary<string, int> TransitGatewayAsns(string clientRegion, IEnumerable<string> workerRegions)
    {
        const int first = 64512;
        const int count = 65534 - first + 1;
        var taken = new HashSet<int>();
        var asns = new Dictionary<string, int>(StringComparer.Ordinal);

        void Assign(string region)
        {
            // FNV-1a: stable across processes and .NET versions, unlike string.GetHashCode.
            var hash = 2166136261u;
            foreach (var c in region)
            {
                hash = (hash ^ c) * 16777619u;
            }

            var slot = (int)(hash % count);
            while (!taken.Add(first + slot))
            {
                slot = (slot + 1) % count;
            }

            asns[region] = first + slot;
        }

        Assign(clientRegion);
        foreach (var region in workerRegions)
        {
            Assign(region);
        }

        return asns;
    }
}
