using System.Globalization;
using Amazon.CDK;
using Amazon.CDK.AWS.AutoScaling;
using Amazon.CDK.AWS.EC2;
using Amazon.CDK.AWS.ECS;
using Amazon.CDK.AWS.ElasticLoadBalancingV2;
using Amazon.CDK.AWS.Events;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.Logs;
using Amazon.CDK.AWS.SecretsManager;
using Amazon.CDK.AWS.ServiceDiscovery;
using Amazon.CDK.CustomResources;
using Constructs;
using Proxima.Cdk.Images;
using Proxima.Cdk.Network;
using Proxima.Federation;
using EcsSecret = Amazon.CDK.AWS.ECS.Secret;
using Protocol = Amazon.CDK.AWS.ElasticLoadBalancingV2.Protocol;

namespace Proxima.Cdk.Worker;

/// <summary>
/// One worker region: VPC and Transit Gateway peered with the client's, FSx for Lustre linked to the region's S3
/// dataset, the RegionalWorker pool on ECS (EC2 hosts, because Fargate cannot mount Lustre) behind an internal NLB
/// registered (as a CNAME) in the client's Cloud Map private DNS namespace, and the nightly CatalogSync task. The worker
/// tasks also register themselves (A records) in a private namespace of this region's VPC, so whichever task the NLB
/// hands a map to finds the rest of its pool, fans the shares out in-region and sends one partial back.
/// </summary>
internal sealed class WorkerRegionStack : Stack
{
    public WorkerRegionStack(Construct scope, string id, ClientConfig client, WorkerConfig worker, int transitGatewayAsn, ProximaImages images, IStackProps props)
        : base(scope, id, props)
    {
        var port = worker.Port.ToString(CultureInfo.InvariantCulture);
        Network = new RegionNetwork(this, "Network", new RegionNetworkProps
        {
            Cidr = worker.Cidr,
            MaxAzs = worker.MaxAzs,
            NatGateways = worker.NatGateways,
            TransitGatewayAsn = transitGatewayAsn,
            RemoteCidrs = [client.Cidr],
        });
        var vpc = Network.Vpc;
        var privateSubnets = new SubnetSelection { SubnetType = SubnetType.PRIVATE_WITH_EGRESS };

        var clientParameters = new ClientParameters(this, "ClientParameters", client.Region, worker.Region);
        Peering = new TransitGatewayPeering(this, "Peering", new TransitGatewayPeeringProps
        {
            Network = Network,
            ClientRegion = client.Region,
            ClientCidr = client.Cidr,
            WorkerCidr = worker.Cidr,
            ClientTransitGatewayId = clientParameters.TransitGatewayId,
            ClientRouteTableId = clientParameters.TransitGatewayRouteTableId,
        });

        Storage = new LustreStorage(this, "Storage", vpc, worker);

        // Container hosts: Lustre is mounted on the host at /fsx and bind-mounted read-only into the tasks.
        var hostSg = new SecurityGroup(this, "HostSg", new SecurityGroupProps
        {
            Vpc = vpc,
            Description = "Proxima worker hosts (Lustre client)",
            AllowAllOutbound = true,
        });
        LustreStorage.AllowLustreFromVpc(hostSg, worker.Cidr);
        var userData = UserData.ForLinux();
        userData.AddCommands(
            "set -euo pipefail",
            "dnf install -y lustre-client",
            "mkdir -p /fsx",
            $"echo '{Storage.DnsName}@tcp:/{Storage.MountName} /fsx lustre defaults,relatime,flock,_netdev,x-systemd.automount,x-systemd.requires=network.service 0 0' >> /etc/fstab",
            "for attempt in $(seq 1 60); do mount -a && break; sleep 10; done",
            "mountpoint -q /fsx",
            // The sync's NetCDF collection metadata caches, in a dot folder its scan skips, writable by the
            // images' non-root user (app, uid 1654), shared with every worker host through Lustre.
            $"install -d -o 1654 -g 1654 {Naming.MetadataCacheRoot}");
        var hosts = new AutoScalingGroup(this, "Hosts", new AutoScalingGroupProps
        {
            Vpc = vpc,
            VpcSubnets = privateSubnets,
            InstanceType = new InstanceType(worker.InstanceType),
            MachineImage = EcsOptimizedImage.AmazonLinux2023(),
            MinCapacity = 1,
            MaxCapacity = worker.EffectiveMaxInstances,
            SecurityGroup = hostSg,
            UserData = userData,
            RequireImdsv2 = true,
            BlockDevices =
            [
                new Amazon.CDK.AWS.AutoScaling.BlockDevice { DeviceName = "/dev/xvda", Volume = Amazon.CDK.AWS.AutoScaling.BlockDeviceVolume.Ebs(40, new Amazon.CDK.AWS.AutoScaling.EbsDeviceOptions { Encrypted = true, VolumeType = Amazon.CDK.AWS.AutoScaling.EbsDeviceVolumeType.GP3 }) },
            ],
        });
        hosts.Node.AddDependency(Storage.FileSystem);

        Cluster = new Cluster(this, "Cluster", new ClusterProps { Vpc = vpc, ContainerInsights = true });
        var capacity = new AsgCapacityProvider(this, "Capacity", new AsgCapacityProviderProps
        {
            AutoScalingGroup = hosts,
            EnableManagedScaling = true,
            TargetCapacityPercent = 100,
            EnableManagedTerminationProtection = false,
        });
        Cluster.AddAsgCapacityProvider(capacity);
        // Tasks started without a launch type (the sync) go through the capacity provider, so managed scaling adds a
        // host when the worker pool has taken every CPU instead of the task failing to place.
        Cluster.AddDefaultCapacityProviderStrategy([new CapacityProviderStrategy { CapacityProvider = capacity.CapacityProviderName, Weight = 1 }]);
        CapacityProviderName = capacity.CapacityProviderName;

        var workerTls = Amazon.CDK.AWS.SecretsManager.Secret.FromSecretNameV2(this, "WorkerTls", Naming.WorkerTlsSecretName);
        WorkerService = BuildWorkers(client, worker, images, vpc, privateSubnets, capacity, workerTls, port);
        RegisterInCloudMap(client.Region, worker, clientParameters.WorkerServiceId, clientParameters.WorkersHostedZoneId);
        BuildSync(worker, images, privateSubnets, clientParameters);
    }

    public RegionNetwork Network { get; }

    public TransitGatewayPeering Peering { get; }

    public LustreStorage Storage { get; }

    public Cluster Cluster { get; }

    public string CapacityProviderName { get; }

    public Ec2Service WorkerService { get; }

    public SecurityGroup WorkerSecurityGroup { get; private set; } = null!;

    public NetworkLoadBalancer WorkerLoadBalancer { get; private set; } = null!;

    /// <summary>The private DNS namespace of this region's VPC where the worker tasks register (<see cref="Naming.PoolDnsName"/>).</summary>
    public PrivateDnsNamespace PoolNamespace { get; private set; } = null!;

    public Role SyncTaskRole { get; private set; } = null!;

    public Rule SyncRule { get; private set; } = null!;

    private Ec2Service BuildWorkers(ClientConfig client, WorkerConfig worker, ProximaImages images, Vpc vpc, SubnetSelection privateSubnets, AsgCapacityProvider capacity, ISecret workerTls, string port)
    {
        var taskDefinition = new Ec2TaskDefinition(this, "WorkerTask", new Ec2TaskDefinitionProps
        {
            NetworkMode = NetworkMode.AWS_VPC,
            Volumes = [new Amazon.CDK.AWS.ECS.Volume { Name = "fsx", Host = new Host { SourcePath = "/fsx" } }],
        });
        var logs = new LogGroup(this, "WorkerLogs", new LogGroupProps { Retention = RetentionDays.ONE_MONTH, RemovalPolicy = RemovalPolicy.DESTROY });
        var container = taskDefinition.AddContainer("worker", new ContainerDefinitionOptions
        {
            Image = images.Worker,
            Cpu = worker.Cpu,
            MemoryLimitMiB = worker.MemoryMiB,
            // --host 0.0.0.0: the task's ENI address, which the NLB and the pool's other tasks dial (the default is loopback).
            Command = ["worker", "--region", worker.Region, "--data-root", "/fsx", "--host", "0.0.0.0", "--port", port, "--metadata-cache", Naming.MetadataCacheFor(worker.Region)],
            PortMappings = [new PortMapping { ContainerPort = worker.Port, Protocol = Amazon.CDK.AWS.ECS.Protocol.TCP }],
            Logging = LogDriver.AwsLogs(new AwsLogDriverProps { LogGroup = logs, StreamPrefix = "worker" }),
            Environment = new Dictionary<string, string>
            {
                ["PROXIMA_REGION"] = worker.Region,
                // Region-local merge behind the NLB: the pool's task IPs (this task's own excluded by the worker), on the worker port.
                ["PROXIMA_PEERS_DNS"] = Naming.PoolDnsName,
                ["PROXIMA_PEERS_PORT"] = port,
            },
            Secrets = new Dictionary<string, EcsSecret>
            {
                ["PROXIMA_TLS_CA"] = EcsSecret.FromSecretsManager(workerTls, "ca"),
                ["PROXIMA_TLS_CERT"] = EcsSecret.FromSecretsManager(workerTls, "cert"),
                ["PROXIMA_TLS_KEY"] = EcsSecret.FromSecretsManager(workerTls, "key"),
            },
        });
        container.AddMountPoints(new MountPoint { SourceVolume = "fsx", ContainerPath = "/fsx", ReadOnly = true });

        var lbSg = new SecurityGroup(this, "WorkerLbSg", new SecurityGroupProps
        {
            Vpc = vpc,
            Description = "Proxima worker NLB: worker port from the client CIDR only",
            AllowAllOutbound = false,
        });
        WorkerSecurityGroup = new SecurityGroup(this, "WorkerSg", new SecurityGroupProps
        {
            Vpc = vpc,
            Description = "Proxima worker tasks: worker port from the client CIDR (client IP preserved) and NLB health checks",
            AllowAllOutbound = true,
        });
        lbSg.AddIngressRule(Peer.Ipv4(client.Cidr.ToString()), Port.Tcp(worker.Port), "QueryRouter (client region)");
        lbSg.AddEgressRule(WorkerSecurityGroup, Port.Tcp(worker.Port), "to worker tasks");
        WorkerSecurityGroup.AddIngressRule(Peer.Ipv4(client.Cidr.ToString()), Port.Tcp(worker.Port), "QueryRouter (client region)");
        WorkerSecurityGroup.AddIngressRule(lbSg, Port.Tcp(worker.Port), "NLB health checks");
        WorkerSecurityGroup.AddIngressRule(WorkerSecurityGroup, Port.Tcp(worker.Port), "pool peers: a coordinator's shares (mutual TLS)");

        // The pool's tasks by IP (awsvpc: each task has its own ENI), for the workers' peer discovery (PROXIMA_PEERS_DNS).
        PoolNamespace = new PrivateDnsNamespace(this, "PoolNamespace", new PrivateDnsNamespaceProps
        {
            Name = Naming.PoolNamespaceName,
            Vpc = vpc,
            Description = $"Proxima worker tasks of {worker.Region} (region-local merge)",
        });

        var service = new Ec2Service(this, "Workers", new Ec2ServiceProps
        {
            Cluster = Cluster,
            TaskDefinition = taskDefinition,
            DesiredCount = worker.MinTasks,
            VpcSubnets = privateSubnets,
            SecurityGroups = [WorkerSecurityGroup],
            CapacityProviderStrategies = [new CapacityProviderStrategy { CapacityProvider = capacity.CapacityProviderName, Weight = 1 }],
            PlacementStrategies = [PlacementStrategy.SpreadAcrossInstances()],
            CircuitBreaker = new DeploymentCircuitBreaker { Rollback = true },
            MinHealthyPercent = 100,
            CloudMapOptions = new CloudMapOptions
            {
                CloudMapNamespace = PoolNamespace,
                Name = Naming.PoolServiceName,
                DnsRecordType = DnsRecordType.A,
                DnsTtl = Duration.Seconds(Naming.PoolDnsTtlSeconds),
            },
        });

        var scaling = service.AutoScaleTaskCount(new Amazon.CDK.AWS.ApplicationAutoScaling.EnableScalingProps { MinCapacity = worker.MinTasks, MaxCapacity = worker.MaxTasks });
        scaling.ScaleOnCpuUtilization("CpuTarget", new Amazon.CDK.AWS.ECS.CpuUtilizationScalingProps
        {
            TargetUtilizationPercent = worker.CpuTargetPercent,
            ScaleInCooldown = Duration.Minutes(5),
            ScaleOutCooldown = Duration.Minutes(1),
        });

        WorkerLoadBalancer = new NetworkLoadBalancer(this, "WorkerNlb", new NetworkLoadBalancerProps
        {
            Vpc = vpc,
            InternetFacing = false,
            VpcSubnets = privateSubnets,
            SecurityGroups = [lbSg],
            CrossZoneEnabled = true,
        });
        // TCP pass-through: mutual TLS is between the router and the worker, the NLB never sees plaintext.
        var listener = WorkerLoadBalancer.AddListener("Grpc", new BaseNetworkListenerProps { Port = worker.Port, Protocol = Protocol.TCP });
        _ = listener.AddTargets("WorkerTargets", new AddNetworkTargetsProps
        {
            Port = worker.Port,
            Protocol = Protocol.TCP,
            Targets = [service],
            PreserveClientIp = true,
            HealthCheck = new Amazon.CDK.AWS.ElasticLoadBalancingV2.HealthCheck { Protocol = Protocol.TCP, Interval = Duration.Seconds(10) },
            DeregistrationDelay = Duration.Seconds(60),
        });
        return service;
    }

    /// <summary>
    /// Registers this region's NLB in its Cloud Map CNAME service (client region): Cloud Map then answers
    /// <c>worker-REGION.proxima-workers</c> in the client VPC with a CNAME to the NLB's DNS name, which the router follows.
    /// Cloud Map writes the record into the namespace's Route 53 zone as the caller, hence the zone permissions.
    /// </summary>
    private void RegisterInCloudMap(string clientRegion, WorkerConfig worker, string serviceId, string hostedZoneId)
    {
        var instanceId = $"nlb-{worker.Region}";
        var serviceArn = FormatArn(new ArnComponents { Service = "servicediscovery", Region = clientRegion, Resource = "service", ResourceName = serviceId });
        var zoneArn = FormatArn(new ArnComponents { Service = "route53", Region = "", Account = "", Resource = "hostedzone", ResourceName = hostedZoneId });
        _ = new AwsCustomResource(this, "CloudMapRegistration", new AwsCustomResourceProps
        {
            OnCreate = Register(),
            OnUpdate = Register(),
            OnDelete = new AwsSdkCall
            {
                Service = "ServiceDiscovery",
                Action = "deregisterInstance",
                Region = clientRegion,
                Parameters = new Dictionary<string, object> { ["ServiceId"] = serviceId, ["InstanceId"] = instanceId },
                IgnoreErrorCodesMatching = "InstanceNotFound|ServiceNotFound",
            },
            Policy = AwsCustomResourcePolicy.FromStatements(
            [
                new PolicyStatement(new PolicyStatementProps
                {
                    Actions = ["servicediscovery:RegisterInstance", "servicediscovery:DeregisterInstance"],
                    Resources = [serviceArn],
                }),
                new PolicyStatement(new PolicyStatementProps
                {
                    Actions = ["route53:GetHostedZone", "route53:ChangeResourceRecordSets"],
                    Resources = [zoneArn],
                }),
            ]),
            InstallLatestAwsSdk = false,
        });

        AwsSdkCall Register() => new()
        {
            Service = "ServiceDiscovery",
            Action = "registerInstance",
            Region = clientRegion,
            Parameters = new Dictionary<string, object>
            {
                ["ServiceId"] = serviceId,
                ["InstanceId"] = instanceId,
                ["Attributes"] = new Dictionary<string, object>
                {
                    // The service's DNS record: worker-REGION.proxima-workers CNAME this NLB. The port is not in DNS:
                    // the router dials PROXIMA_WORKERS_PORT, the one port of all regions (ProximaApp.WorkerPort).
                    ["AWS_INSTANCE_CNAME"] = WorkerLoadBalancer.LoadBalancerDnsName,
                    ["region"] = worker.Region,
                    ["port"] = worker.Port.ToString(CultureInfo.InvariantCulture),
                },
            },
            PhysicalResourceId = PhysicalResourceId.Of(instanceId),
        };
    }

    private void BuildSync(WorkerConfig worker, ProximaImages images, SubnetSelection privateSubnets, ClientParameters clientParameters)
    {
        SyncTaskRole = new Role(this, "SyncTaskRole", new RoleProps
        {
            RoleName = Naming.SyncRoleName(worker.Region),
            AssumedBy = new ServicePrincipal("ecs-tasks.amazonaws.com"),
            Description = $"Proxima CatalogSync in {worker.Region}",
        });
        // Data repository tasks on this file system only (a task ARN is created under it by CreateDataRepositoryTask).
        var taskArn = FormatArn(new ArnComponents { Service = "fsx", Resource = "task", ResourceName = "*" });
        SyncTaskRole.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "ResyncThisFileSystem",
            Actions = ["fsx:CreateDataRepositoryTask"],
            Resources = [Storage.FileSystemArn, taskArn],
        }));
        SyncTaskRole.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "WatchThisFileSystemTasks",
            Actions = ["fsx:DescribeDataRepositoryTasks"],
            Resources = [Storage.FileSystemArn, taskArn],
        }));
        SyncTaskRole.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "WriteCatalog",
            Actions = ["sts:AssumeRole"],
            Resources = [Arn.Format(new ArnComponents { Service = "iam", Region = "", Resource = "role", ResourceName = Naming.CatalogWriterRoleName }, this)],
        }));

        var taskDefinition = new Ec2TaskDefinition(this, "SyncTask", new Ec2TaskDefinitionProps
        {
            NetworkMode = NetworkMode.AWS_VPC,
            TaskRole = SyncTaskRole,
            Volumes = [new Amazon.CDK.AWS.ECS.Volume { Name = "fsx", Host = new Host { SourcePath = "/fsx" } }],
        });
        var logs = new LogGroup(this, "SyncLogs", new LogGroupProps { Retention = RetentionDays.THREE_MONTHS, RemovalPolicy = RemovalPolicy.DESTROY });
        var container = taskDefinition.AddContainer("sync", new ContainerDefinitionOptions
        {
            Image = images.Sync,
            Cpu = worker.SyncCpu,
            MemoryLimitMiB = worker.SyncMemoryMiB,
            // FSx re-import (PROXIMA_FSX_FILE_SYSTEM_ID below), then a scan of the mount, which is this region's root.
            Command = ["sync", "--region", worker.Region, "--region-root", "/fsx", "--metadata-cache", Naming.MetadataCacheFor(worker.Region)],
            Logging = LogDriver.AwsLogs(new AwsLogDriverProps { LogGroup = logs, StreamPrefix = "sync" }),
            Environment = new Dictionary<string, string>
            {
                ["PROXIMA_REGION"] = worker.Region,
                ["PROXIMA_CATALOG"] = "opensearch",
                ["PROXIMA_OPENSEARCH_URL"] = clientParameters.CatalogEndpoint,
                ["PROXIMA_OPENSEARCH_REGION"] = clientParameters.ClientRegion, // SigV4 "es" scope: the domain's (client) region
                ["PROXIMA_CATALOG_ROLE_ARN"] = clientParameters.CatalogWriterRoleArn,
                // Fine-grained access control: the sync (master) maps this role to the read-only `readall` role.
                ["PROXIMA_CATALOG_READER_ROLE_ARN"] = clientParameters.RouterRoleArn,
                ["PROXIMA_FSX_FILE_SYSTEM_ID"] = Storage.FileSystem.Ref,
                ["PROXIMA_FSX_PATH"] = Storage.FileSystemPath,
            },
        });
        // Read-write: the sync writes the metadata caches under /fsx/.proxima (the workers mount it read-only).
        container.AddMountPoints(new MountPoint { SourceVolume = "fsx", ContainerPath = "/fsx", ReadOnly = false });

        var syncSg = new SecurityGroup(this, "SyncSg", new SecurityGroupProps
        {
            Vpc = Network.Vpc,
            Description = "Proxima CatalogSync task (egress only)",
            AllowAllOutbound = true,
        });

        // The rule's own role: RunTask on this task definition in this cluster, and PassRole for exactly its two roles
        // (the EC2 launch type needs the task role passed too, which the stock target only does for Fargate).
        var eventsRole = new Role(this, "SyncEventsRole", new RoleProps
        {
            AssumedBy = new ServicePrincipal("events.amazonaws.com"),
            Description = "EventBridge starts the nightly Proxima CatalogSync task",
        });
        eventsRole.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Actions = ["iam:PassRole"],
            Resources = [SyncTaskRole.RoleArn, taskDefinition.ObtainExecutionRole().RoleArn],
        }));
        SyncRule = new Rule(this, "SyncSchedule", new RuleProps
        {
            Schedule = Amazon.CDK.AWS.Events.Schedule.Expression(Naming.SyncSchedule),
            Description = "Proxima CatalogSync, nightly at 00:00 UTC",
        });
        // One sync at deploy time (and whenever the task definition changes), as `proxima up` does at start, so the
        // catalog knows this region before the first midnight. Waits for the worker service, hence for the hosts.
        var runSync = new AwsSdkCall
        {
            Service = "ECS",
            Action = "runTask",
            Parameters = new Dictionary<string, object>
            {
                ["cluster"] = Cluster.ClusterArn,
                ["taskDefinition"] = taskDefinition.TaskDefinitionArn,
                ["capacityProviderStrategy"] = new[]
                {
                    new Dictionary<string, object> { ["capacityProvider"] = CapacityProviderName, ["weight"] = 1 },
                },
                ["count"] = 1,
                ["startedBy"] = "proxima-deploy",
                ["networkConfiguration"] = new Dictionary<string, object>
                {
                    ["awsvpcConfiguration"] = new Dictionary<string, object>
                    {
                        ["subnets"] = Network.Vpc.SelectSubnets(privateSubnets).SubnetIds,
                        ["securityGroups"] = new[] { syncSg.SecurityGroupId },
                        ["assignPublicIp"] = "DISABLED",
                    },
                },
            },
            PhysicalResourceId = PhysicalResourceId.Of(taskDefinition.TaskDefinitionArn),
        };
        var initialSync = new AwsCustomResource(this, "InitialSync", new AwsCustomResourceProps
        {
            OnCreate = runSync,
            OnUpdate = runSync,
            Policy = AwsCustomResourcePolicy.FromStatements(
            [
                new PolicyStatement(new PolicyStatementProps
                {
                    Actions = ["ecs:RunTask"],
                    Resources = [taskDefinition.TaskDefinitionArn],
                    Conditions = new Dictionary<string, object>
                    {
                        ["ArnEquals"] = new Dictionary<string, object> { ["ecs:cluster"] = Cluster.ClusterArn },
                    },
                }),
                new PolicyStatement(new PolicyStatementProps
                {
                    Actions = ["iam:PassRole"],
                    Resources = [SyncTaskRole.RoleArn, taskDefinition.ObtainExecutionRole().RoleArn],
                }),
            ]),
            InstallLatestAwsSdk = false,
        });
        initialSync.Node.AddDependency(WorkerService);

        SyncRule.AddTarget(new Amazon.CDK.AWS.Events.Targets.EcsTask(new Amazon.CDK.AWS.Events.Targets.EcsTaskProps
        {
            Cluster = Cluster,
            TaskDefinition = taskDefinition,
            TaskCount = 1,
            Role = eventsRole,
            SubnetSelection = privateSubnets,
            SecurityGroups = [syncSg],
            LaunchType = LaunchType.EC2,
        }));
        // EcsTaskProps has no capacity provider strategy in CDK 2.160: swap the launch type for one in the template.
        var cfnRule = (Amazon.CDK.AWS.Events.CfnRule)SyncRule.Node.DefaultChild!;
        cfnRule.AddPropertyDeletionOverride("Targets.0.EcsParameters.LaunchType");
        cfnRule.AddPropertyOverride("Targets.0.EcsParameters.CapacityProviderStrategy", new[]
        {
            new Dictionary<string, object> { ["CapacityProvider"] = CapacityProviderName, ["Weight"] = 1 },
        });
    }
}
