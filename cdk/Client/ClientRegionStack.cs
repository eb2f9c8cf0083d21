using Amazon.CDK;
using Amazon.CDK.AWS.CertificateManager;
using Amazon.CDK.AWS.EC2;
using Amazon.CDK.AWS.ECS;
using Amazon.CDK.AWS.ElasticLoadBalancingV2;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.Logs;
using Amazon.CDK.AWS.OpenSearchService;
using Amazon.CDK.AWS.SecretsManager;
using Amazon.CDK.AWS.ServiceDiscovery;
using Amazon.CDK.AWS.SSM;
using Constructs;
using Proxima.Cdk.Images;
using Proxima.Cdk.Network;
using Proxima.Federation;
using EcsSecret = Amazon.CDK.AWS.ECS.Secret;
using Protocol = Amazon.CDK.AWS.ElasticLoadBalancingV2.Protocol;
using SecretsSecret = Amazon.CDK.AWS.SecretsManager.Secret;

namespace Proxima.Cdk.Client;

/// <summary>
/// The client region: the hub VPC and Transit Gateway, the catalog (OpenSearch in the VPC), the QueryRouter on
/// Fargate behind an internal NLB, the Cloud Map private DNS namespace where each worker region registers its NLB, the
/// TLS/token secrets and the SSM parameters the worker stacks read from their own regions.
/// </summary>
internal sealed class ClientRegionStack : Stack
{
    public ClientRegionStack(Construct scope, string id, FederationConfig federation, int transitGatewayAsn, ProximaImages images, IStackProps props)
        : base(scope, id, props)
    {
        var client = federation.Client;
        var workerCidrs = new List<Ipv4Cidr>(federation.Workers.Count);
        var workerRegions = new List<string>(federation.Workers.Count);
        foreach (var worker in federation.Workers)
        {
            workerCidrs.Add(worker.Cidr);
            workerRegions.Add(worker.Region);
        }

        Network = new RegionNetwork(this, "Network", new RegionNetworkProps
        {
            Cidr = client.Cidr,
            MaxAzs = client.MaxAzs,
            NatGateways = client.NatGateways,
            TransitGatewayAsn = transitGatewayAsn,
            RemoteCidrs = workerCidrs,
        });
        var vpc = Network.Vpc;
        var privateSubnets = new SubnetSelection { SubnetType = SubnetType.PRIVATE_WITH_EGRESS };

        // Secrets. TLS material is put in by the deployer (docs/deploy.md); the worker bundle is replicated to every
        // worker region under the same name so worker tasks read it locally.
        var routerTls = new SecretsSecret(this, "RouterTls", new SecretProps
        {
            SecretName = Naming.RouterTlsSecretName,
            Description = "Proxima router TLS: PEM ca, cert, key (server cert for clients, client cert for workers)",
            GenerateSecretString = TlsPlaceholder(),
        });
        var replicas = new List<ReplicaRegion>(workerRegions.Count);
        foreach (var region in workerRegions)
        {
            replicas.Add(new ReplicaRegion { Region = region });
        }

        WorkerTls = new SecretsSecret(this, "WorkerTls", new SecretProps
        {
            SecretName = Naming.WorkerTlsSecretName,
            Description = "Proxima worker mutual TLS: PEM ca, cert, key; replicated to every worker region",
            GenerateSecretString = TlsPlaceholder(),
            ReplicaRegions = replicas.ToArray(),
        });
        RouterTokens = new SecretsSecret(this, "RouterTokens", new SecretProps
        {
            SecretName = Naming.RouterTokensSecretName,
            Description = "Bearer tokens the QueryRouter accepts (JSON: {\"tokens\": \"t1,t2\"}); rotate with put-secret-value",
            GenerateSecretString = new SecretStringGenerator
            {
                SecretStringTemplate = "{}",
                GenerateStringKey = "tokens",
                ExcludePunctuation = true,
                PasswordLength = 48,
            },
        });

        // Catalog writer: a fixed-name role the nightly sync in every worker region assumes; it is the fine-grained
        // access control master of the catalog domain (it creates generations and swaps the alias).
        var syncRoleArns = new List<string>(workerRegions.Count);
        foreach (var region in workerRegions)
        {
            syncRoleArns.Add(Arn.Format(new ArnComponents { Service = "iam", Region = "", Resource = "role", ResourceName = Naming.SyncRoleName(region) }, this));
        }

        CatalogWriter = new Role(this, "CatalogWriter", new RoleProps
        {
            RoleName = Naming.CatalogWriterRoleName,
            Description = "Assumed by CatalogSync tasks to write the Proxima catalog",
            AssumedBy = new AccountPrincipal(Account).WithConditions(new Dictionary<string, object>
            {
                ["ArnEquals"] = new Dictionary<string, object> { ["aws:PrincipalArn"] = syncRoleArns.ToArray() },
            }),
            MaxSessionDuration = Duration.Hours(4),
        });

        // Router task role is created up front so the domain policy can name it.
        var routerTaskRole = new Role(this, "RouterTaskRole", new RoleProps
        {
            AssumedBy = new ServicePrincipal("ecs-tasks.amazonaws.com"),
            Description = "Proxima QueryRouter task",
        });

        CatalogSecurityGroup = new SecurityGroup(this, "CatalogSg", new SecurityGroupProps
        {
            Vpc = vpc,
            AllowAllOutbound = false,
            Description = "Proxima catalog (OpenSearch): HTTPS from the client VPC and the worker VPCs (sync)",
        });
        CatalogSecurityGroup.AddIngressRule(Peer.Ipv4(client.Cidr.ToString()), Port.Tcp(443), "router");
        for (var i = 0; i < federation.Workers.Count; i++)
        {
            var worker = federation.Workers[i];
            CatalogSecurityGroup.AddIngressRule(Peer.Ipv4(worker.Cidr.ToString()), Port.Tcp(443), $"catalog sync {worker.Region}");
        }

        var zoneAware = client.OpenSearchNodes > 1;
        Catalog = new Domain(this, "Catalog", new DomainProps
        {
            Version = EngineVersion.OPENSEARCH_2_15,
            Vpc = vpc,
            VpcSubnets = [new SubnetSelection { SubnetType = SubnetType.PRIVATE_WITH_EGRESS, AvailabilityZones = zoneAware ? null : [vpc.AvailabilityZones[0]] }],
            SecurityGroups = [CatalogSecurityGroup],
            Capacity = new CapacityConfig
            {
                DataNodes = client.OpenSearchNodes,
                DataNodeInstanceType = client.OpenSearchInstanceType,
                MultiAzWithStandbyEnabled = false,
            },
            ZoneAwareness = new ZoneAwarenessConfig { Enabled = zoneAware, AvailabilityZoneCount = zoneAware ? 2 : null },
            Ebs = new EbsOptions { VolumeSize = client.OpenSearchVolumeGiB, VolumeType = EbsDeviceVolumeType.GP3 },
            EncryptionAtRest = new EncryptionAtRestOptions { Enabled = true },
            NodeToNodeEncryption = true,
            EnforceHttps = true,
            TlsSecurityPolicy = TLSSecurityPolicy.TLS_1_2,
            FineGrainedAccessControl = new AdvancedSecurityOptions { MasterUserArn = CatalogWriter.RoleArn },
            Logging = new LoggingOptions
            {
                SlowSearchLogEnabled = true,
                SlowIndexLogEnabled = true,
                AppLogEnabled = true,
            },
            // The catalog is derived data: the nightly sync rebuilds it from the file systems.
            RemovalPolicy = RemovalPolicy.DESTROY,
        });
        Catalog.AddAccessPolicies(
            new PolicyStatement(new PolicyStatementProps
            {
                Sid = "CatalogWriter",
                Principals = [new ArnPrincipal(CatalogWriter.RoleArn)],
                Actions = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"],
                Resources = [Catalog.DomainArn + "/*"],
            }),
            new PolicyStatement(new PolicyStatementProps
            {
                Sid = "RouterReads",
                Principals = [new ArnPrincipal(routerTaskRole.RoleArn)],
                Actions = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost"],
                Resources = [Catalog.DomainArn + "/*"],
            }));
        routerTaskRole.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Actions = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost"],
            Resources = [Catalog.DomainArn + "/*"],
        }));
        CatalogWriter.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Actions = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut", "es:ESHttpDelete"],
            Resources = [Catalog.DomainArn + "/*"],
        }));

        // Cloud Map: a private DNS namespace (a Route 53 private zone on the client VPC, answered by its resolver) with one
        // CNAME service per worker region; each worker stack registers its NLB's DNS name there, and the router resolves
        // worker-REGION.proxima-workers (WorkerDiscovery) to the NLB's addresses on the one worker port.
        WorkersNamespace = new PrivateDnsNamespace(this, "WorkersNamespace", new PrivateDnsNamespaceProps
        {
            Name = Naming.NamespaceName,
            Vpc = vpc,
            Description = "Proxima worker regions: worker-REGION is a CNAME to the region's worker NLB",
        });
        foreach (var region in workerRegions)
        {
            var service = WorkersNamespace.CreateService($"Worker-{region}", new DnsServiceProps
            {
                Name = Naming.CloudMapServiceName(region),
                Description = $"Proxima workers in {region} (CNAME to their NLB)",
                DnsRecordType = DnsRecordType.CNAME,
                RoutingPolicy = RoutingPolicy.WEIGHTED, // CNAME records allow no other
                DnsTtl = Duration.Seconds(Naming.WorkerDnsTtlSeconds),
            });
            Parameter($"WorkerServiceParam-{region}", Naming.WorkerServiceParameter(region), service.ServiceId);
        }

        Router = BuildRouter(client, workerRegions, ProximaApp.WorkerPort(federation), vpc, privateSubnets, images, routerTaskRole, routerTls);

        Parameter("TgwParam", Naming.TransitGatewayIdParameter, Network.TransitGateway.Ref);
        Parameter("TgwRouteTableParam", Naming.TransitGatewayRouteTableIdParameter, Network.RouteTable.Ref);
        Parameter("CidrParam", Naming.ClientCidrParameter, client.Cidr.ToString());
        Parameter("CatalogParam", Naming.CatalogEndpointParameter, "https://" + Catalog.DomainEndpoint);
        Parameter("CatalogWriterParam", Naming.CatalogWriterRoleParameter, CatalogWriter.RoleArn);
        Parameter("RouterRoleParam", Naming.RouterRoleParameter, routerTaskRole.RoleArn);
        Parameter("NamespaceParam", Naming.NamespaceIdParameter, WorkersNamespace.NamespaceId);
        Parameter("NamespaceZoneParam", Naming.NamespaceHostedZoneIdParameter, WorkersNamespace.NamespaceHostedZoneId);

        _ = new CfnOutput(this, "RouterEndpoint", new CfnOutputProps
        {
            Value = $"https://{RouterLoadBalancer.LoadBalancerDnsName}",
            Description = "QueryRouter (internal NLB); reachable from the client VPC and networks attached to its Transit Gateway",
        });
        _ = new CfnOutput(this, "CatalogEndpoint", new CfnOutputProps { Value = "https://" + Catalog.DomainEndpoint });
    }

    public RegionNetwork Network { get; }

    public Domain Catalog { get; }

    public SecurityGroup CatalogSecurityGroup { get; }

    public Role CatalogWriter { get; }

    public PrivateDnsNamespace WorkersNamespace { get; }

    public SecretsSecret WorkerTls { get; }

    public SecretsSecret RouterTokens { get; }

    public FargateService Router { get; }

    public NetworkLoadBalancer RouterLoadBalancer { get; private set; } = null!;

    private FargateService BuildRouter(ClientConfig client, List<string> workerRegions, int workerPort, Vpc vpc, SubnetSelection privateSubnets, ProximaImages images, Role taskRole, ISecret routerTls)
    {
        var cluster = new Cluster(this, "RouterCluster", new ClusterProps { Vpc = vpc, ContainerInsights = true });
        var taskDefinition = new FargateTaskDefinition(this, "RouterTask", new FargateTaskDefinitionProps
        {
            Cpu = client.RouterCpu,
            MemoryLimitMiB = client.RouterMemoryMiB,
            TaskRole = taskRole,
            RuntimePlatform = new RuntimePlatform { CpuArchitecture = CpuArchitecture.X86_64, OperatingSystemFamily = OperatingSystemFamily.LINUX },
        });
        var logs = new LogGroup(this, "RouterLogs", new LogGroupProps { Retention = RetentionDays.ONE_MONTH, RemovalPolicy = RemovalPolicy.DESTROY });
        _ = taskDefinition.AddContainer("router", new ContainerDefinitionOptions
        {
            Image = images.Router,
            // --host 0.0.0.0: the task's ENI address, which the router NLB dials (the default is loopback).
            Command = ["router", "--host", "0.0.0.0", "--port", Naming.RouterContainerPort.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            PortMappings = [new PortMapping { ContainerPort = Naming.RouterContainerPort, Protocol = Amazon.CDK.AWS.ECS.Protocol.TCP }],
            Logging = LogDriver.AwsLogs(new AwsLogDriverProps { LogGroup = logs, StreamPrefix = "router" }),
            Environment = new Dictionary<string, string>
            {
                ["PROXIMA_REGION"] = Region,
                ["PROXIMA_CATALOG"] = "opensearch",
                ["PROXIMA_OPENSEARCH_URL"] = "https://" + Catalog.DomainEndpoint,
                ["PROXIMA_OPENSEARCH_REGION"] = Region, // SigV4 "es" scope: the domain lives in this region
                // DNS discovery (WorkerDiscovery): worker-REGION.proxima-workers for every region, all on one port.
                ["PROXIMA_WORKERS_NAMESPACE"] = Naming.NamespaceName,
                ["PROXIMA_WORKER_REGIONS"] = string.Join(',', workerRegions),
                ["PROXIMA_WORKERS_PORT"] = workerPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
                // The discovered addresses are each worker region's NLB, not its tasks: a reduction goes as one unit
                // through it to any task, which finds its pool by DNS (PROXIMA_PEERS_DNS) and merges in-region.
                ["PROXIMA_WORKERS_LOAD_BALANCED"] = "1",
            },
            Secrets = new Dictionary<string, EcsSecret>
            {
                ["PROXIMA_TLS_CA"] = EcsSecret.FromSecretsManager(routerTls, "ca"),
                ["PROXIMA_TLS_CERT"] = EcsSecret.FromSecretsManager(routerTls, "cert"),
                ["PROXIMA_TLS_KEY"] = EcsSecret.FromSecretsManager(routerTls, "key"),
                ["PROXIMA_TOKENS"] = EcsSecret.FromSecretsManager(RouterTokens, "tokens"),
            },
        });

        var routerSg = new SecurityGroup(this, "RouterSg", new SecurityGroupProps
        {
            Vpc = vpc,
            Description = "Proxima QueryRouter tasks",
            AllowAllOutbound = true,
        });
        var lbSg = new SecurityGroup(this, "RouterLbSg", new SecurityGroupProps
        {
            Vpc = vpc,
            Description = "Proxima router NLB: HTTPS from the client VPC",
            AllowAllOutbound = false,
        });
        lbSg.AddIngressRule(Peer.Ipv4(client.Cidr.ToString()), Port.Tcp(Naming.RouterListenerPort), "clients in the client VPC");
        lbSg.AddEgressRule(routerSg, Port.Tcp(Naming.RouterContainerPort), "to router tasks");
        routerSg.AddIngressRule(lbSg, Port.Tcp(Naming.RouterContainerPort), "from the router NLB");

        var service = new FargateService(this, "Router", new FargateServiceProps
        {
            Cluster = cluster,
            TaskDefinition = taskDefinition,
            DesiredCount = client.RouterTasks,
            VpcSubnets = privateSubnets,
            SecurityGroups = [routerSg],
            AssignPublicIp = false,
            CircuitBreaker = new DeploymentCircuitBreaker { Rollback = true },
            MinHealthyPercent = 100,
        });

        RouterLoadBalancer = new NetworkLoadBalancer(this, "RouterNlb", new NetworkLoadBalancerProps
        {
            Vpc = vpc,
            InternetFacing = false,
            VpcSubnets = privateSubnets,
            SecurityGroups = [lbSg],
            CrossZoneEnabled = true,
        });

        // With an ACM certificate the NLB terminates TLS and re-encrypts to the router; without one it passes TLS
        // through and the router terminates it with the certificate from Secrets Manager. Either way it is TLS end to end.
        var terminate = client.CertificateArn is not null;
        var listener = RouterLoadBalancer.AddListener("Https", new BaseNetworkListenerProps
        {
            Port = Naming.RouterListenerPort,
            Protocol = terminate ? Protocol.TLS : Protocol.TCP,
            Certificates = terminate ? [ListenerCertificate.FromCertificateManager(Certificate.FromCertificateArn(this, "RouterCertificate", client.CertificateArn!))] : null,
            SslPolicy = terminate ? SslPolicy.TLS13_RES : null,
        });
        _ = listener.AddTargets("RouterTargets", new AddNetworkTargetsProps
        {
            Port = Naming.RouterContainerPort,
            Protocol = terminate ? Protocol.TLS : Protocol.TCP,
            Targets = [service],
            HealthCheck = new Amazon.CDK.AWS.ElasticLoadBalancingV2.HealthCheck { Protocol = Protocol.TCP, Interval = Duration.Seconds(10) },
            DeregistrationDelay = Duration.Seconds(30),
        });

        return service;
    }

    private void Parameter(string id, string name, string value) => _ = new StringParameter(this, id, new StringParameterProps
    {
        ParameterName = name,
        StringValue = value,
        Description = "Read by Proxima worker stacks in other regions",
    });

    private static SecretStringGenerator TlsPlaceholder() => new()
    {
        // Empty PEM fields until the deployer puts real ones; the generated key only makes the secret creatable.
        SecretStringTemplate = "{\"ca\":\"\",\"cert\":\"\",\"key\":\"\"}",
        GenerateStringKey = "placeholder",
        ExcludePunctuation = true,
    };
}
