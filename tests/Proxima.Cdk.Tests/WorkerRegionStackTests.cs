using System.Text.Json;
using Amazon.CDK.Assertions;
using Proxima.Federation;
using Xunit;

namespace Proxima.Cdk.Tests;

[Collection(SynthesisCollection.Name)]
public sealed class WorkerRegionStackTests(SynthesisFixture fixture)
{
    public static TheoryData<int> WorkerIndexes => new() { 0, 1, 2 };

    private (WorkerConfig Worker, StackTemplate Stack) Worker(int index) =>
        (fixture.Three.Federation.Workers[index], fixture.Three.Workers[index]);

    private static Dictionary<string, object> Props(params (string Key, object Value)[] entries)
    {
        var props = new Dictionary<string, object>();
        foreach (var (key, value) in entries)
        {
            props[key] = value;
        }

        return props;
    }

    [Theory]
    [MemberData(nameof(WorkerIndexes))]
    public void Creates_one_of_each_worker_region_resource(int index)
    {
        var t = Worker(index).Stack.Template;

        t.ResourceCountIs("AWS::EC2::VPC", 1);
        t.ResourceCountIs("AWS::EC2::FlowLog", 1);
        t.ResourceCountIs("AWS::EC2::VPCEndpoint", 1);
        t.ResourceCountIs("Custom::VpcRestrictDefaultSG", 1);
        t.ResourceCountIs("AWS::EC2::TransitGateway", 1);
        t.ResourceCountIs("AWS::EC2::TransitGatewayAttachment", 1);
        t.ResourceCountIs("AWS::EC2::TransitGatewayPeeringAttachment", 1);
        t.ResourceCountIs("AWS::EC2::TransitGatewayRoute", 1);
        t.ResourceCountIs("AWS::FSx::FileSystem", 1);
        t.ResourceCountIs("AWS::FSx::DataRepositoryAssociation", 1);
        t.ResourceCountIs("AWS::ECS::Cluster", 1);
        t.ResourceCountIs("AWS::ECS::Service", 1);
        t.ResourceCountIs("AWS::ECS::TaskDefinition", 2);
        t.ResourceCountIs("AWS::ApplicationAutoScaling::ScalableTarget", 1);
        t.ResourceCountIs("AWS::ApplicationAutoScaling::ScalingPolicy", 1);
        t.ResourceCountIs("AWS::Events::Rule", 1);
        t.ResourceCountIs("AWS::OpenSearchService::Domain", 0);
        t.ResourceCountIs("AWS::EC2::LaunchTemplate", 1);
        t.ResourceCountIs("AWS::ServiceDiscovery::PrivateDnsNamespace", 1);
        t.ResourceCountIs("AWS::ServiceDiscovery::Service", 1);
        t.ResourceCountIs("AWS::AutoScaling::LaunchConfiguration", 0);
    }

    [Theory]
    [MemberData(nameof(WorkerIndexes))]
    public void Vpc_has_flow_logs_and_the_worker_cidr(int index)
    {
        var (worker, stack) = Worker(index);
        stack.Template.HasResourceProperties("AWS::EC2::VPC", Props(("CidrBlock", worker.Cidr.ToString())));
        stack.Template.HasResourceProperties("AWS::EC2::FlowLog", Props(("ResourceType", "VPC"), ("TrafficType", "ALL")));
    }

    [Theory]
    [MemberData(nameof(WorkerIndexes))]
    public void Peering_requests_the_client_gateway_and_is_accepted_in_the_client_region(int index)
    {
        var (_, stack) = Worker(index);
        var client = fixture.Three.Federation.Client;
        stack.Template.HasResourceProperties("AWS::EC2::TransitGatewayPeeringAttachment", Props(
            ("PeerRegion", client.Region),
            ("PeerAccountId", SynthesisFixture.Account)));

        var calls = stack.Resources("Custom::AWS").Select(r => r.Properties.GetRawText()).ToList();
        var accept = Assert.Single(calls, c => c.Contains("acceptTransitGatewayPeeringAttachment", StringComparison.Ordinal));
        Assert.Contains($"\\u0022region\\u0022:\\u0022{client.Region}\\u0022", accept.Replace("\\\"", "\\u0022", StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Single(calls, c => c.Contains("createTransitGatewayRoute", StringComparison.Ordinal));
        Assert.Single(calls, c => c.Contains("associateTransitGatewayRouteTable", StringComparison.Ordinal));
        stack.Template.ResourceCountIs("Custom::ProximaPeeringAvailable", 1);
    }

    [Theory]
    [MemberData(nameof(WorkerIndexes))]
    public void Routes_are_minimal_the_client_cidr_here_and_this_worker_cidr_there(int index)
    {
        var (worker, stack) = Worker(index);
        var clientCidr = fixture.Three.Federation.Client.Cidr.ToString();
        stack.Template.HasResourceProperties("AWS::EC2::TransitGatewayRoute", Props(("DestinationCidrBlock", clientCidr)));

        var tgwRoutes = stack.Resources("AWS::EC2::Route").Where(r => r.Properties.TryGetProperty("TransitGatewayId", out _)).ToList();
        Assert.Equal(2, tgwRoutes.Count);
        Assert.All(tgwRoutes, r => Assert.Equal(clientCidr, r.Properties.GetProperty("DestinationCidrBlock").GetString()));

        var clientRoute = stack.Resources("Custom::AWS").Single(r => r.Properties.GetRawText().Contains("createTransitGatewayRoute", StringComparison.Ordinal));
        Assert.Contains(worker.Cidr.ToString(), clientRoute.Properties.GetRawText(), StringComparison.Ordinal);

        // No worker↔worker mesh: no other worker's CIDR appears anywhere in this stack.
        foreach (var other in fixture.Three.Federation.Workers)
        {
            if (other.Region != worker.Region)
            {
                Assert.DoesNotContain(other.Cidr.ToString(), stack.Text, StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [MemberData(nameof(WorkerIndexes))]
    public void Lustre_is_persistent_2_and_linked_to_the_dataset_with_automatic_import(int index)
    {
        var (worker, stack) = Worker(index);
        stack.Template.HasResourceProperties("AWS::FSx::FileSystem", Props(
            ("FileSystemType", "LUSTRE"),
            ("StorageCapacity", worker.FsxFileSystemStorageGiB),
            ("LustreConfiguration", Match.ObjectLike(Props(
                ("DeploymentType", "PERSISTENT_2"),
                ("PerUnitStorageThroughput", worker.FsxThroughputPerTiB))))));
        stack.Template.HasResourceProperties("AWS::FSx::DataRepositoryAssociation", Props(
            ("FileSystemPath", $"/{worker.Region}/{worker.LustreFileSystemPath}"),
            ("DataRepositoryPath", worker.Dataset),
            ("BatchImportMetaDataOnCreate", true),
            ("S3", worker.AutoImport
                ? Props(("AutoImportPolicy", Props(("Events", new object[] { "NEW", "CHANGED", "DELETED" }))))
                : Match.Absent()),
            ("FileSystemId", Props(("Ref", stack.Single("AWS::FSx::FileSystem").Id)))));
    }

    [Fact]
    public void Auto_import_defaults_on_and_can_be_turned_off_for_third_party_buckets()
    {
        Assert.True(fixture.Three.Federation.Workers[0].AutoImport);
        Assert.False(fixture.Three.Federation.Workers[2].AutoImport);
    }

    [Theory]
    [MemberData(nameof(WorkerIndexes))]
    public void Sync_task_knows_the_catalog_the_file_system_and_the_reader_role(int index)
    {
        var (worker, stack) = Worker(index);
        var sync = stack.Resources("AWS::ECS::TaskDefinition").Select(t => t.Properties)
            .Single(t => t.GetProperty("ContainerDefinitions")[0].GetProperty("Name").GetString() == "sync");
        var env = sync.GetProperty("ContainerDefinitions")[0].GetProperty("Environment").EnumerateArray()
            .ToDictionary(e => e.GetProperty("Name").GetString()!, e => e.GetProperty("Value"));
        Assert.Equal(worker.Region, env["PROXIMA_REGION"].GetString());
        Assert.Equal("opensearch", env["PROXIMA_CATALOG"].GetString());
        Assert.Equal(fixture.Three.Federation.Client.Region, env["PROXIMA_OPENSEARCH_REGION"].GetString()); // the domain's region, not the worker's
        Assert.Equal($"/{worker.Region}/{worker.LustreFileSystemPath}", env["PROXIMA_FSX_PATH"].GetString());
        Assert.Equal(stack.Single("AWS::FSx::FileSystem").Id, env["PROXIMA_FSX_FILE_SYSTEM_ID"].GetProperty("Ref").GetString());
        foreach (var name in new[] { "PROXIMA_OPENSEARCH_URL", "PROXIMA_CATALOG_ROLE_ARN", "PROXIMA_CATALOG_READER_ROLE_ARN" })
        {
            // Read from the client region's SSM parameters by a custom resource.
            Assert.Equal("Parameter.Value", env[name].GetProperty("Fn::GetAtt")[1].GetString());
        }
    }

    [Theory]
    [MemberData(nameof(WorkerIndexes))]
    public void Worker_service_scales_on_cpu_between_the_files_bounds(int index)
    {
        var (worker, stack) = Worker(index);
        stack.Template.HasResourceProperties("AWS::ApplicationAutoScaling::ScalableTarget", Props(
            ("MinCapacity", worker.MinTasks),
            ("MaxCapacity", worker.MaxTasks),
            ("ScalableDimension", "ecs:service:DesiredCount")));
        stack.Template.HasResourceProperties("AWS::ApplicationAutoScaling::ScalingPolicy", Props(
            ("PolicyType", "TargetTrackingScaling"),
            ("TargetTrackingScalingPolicyConfiguration", Match.ObjectLike(Props(
                ("TargetValue", worker.CpuTargetPercent),
                ("PredefinedMetricSpecification", Props(("PredefinedMetricType", "ECSServiceAverageCPUUtilization"))))))));
        stack.Template.HasResourceProperties("AWS::ECS::Service", Props(("DesiredCount", worker.MinTasks)));
        stack.Template.HasResourceProperties("AWS::AutoScaling::AutoScalingGroup", Props(("MaxSize", worker.EffectiveMaxInstances.ToString(System.Globalization.CultureInfo.InvariantCulture))));
    }

    [Theory]
    [MemberData(nameof(WorkerIndexes))]
    public void Worker_tasks_mount_lustre_read_only_and_run_the_worker_command(int index)
    {
        var (worker, stack) = Worker(index);
        var worker0 = stack.Resources("AWS::ECS::TaskDefinition")
            .Select(t => t.Properties)
            .Single(t => t.GetProperty("ContainerDefinitions")[0].GetProperty("Name").GetString() == "worker");
        var container = worker0.GetProperty("ContainerDefinitions")[0];

        Assert.Equal(
            ["worker", "--region", worker.Region, "--data-root", "/fsx", "--host", "0.0.0.0", "--port", worker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--metadata-cache", $"/fsx/.proxima/metadata-cache/{worker.Region}"],
            StackTemplate.Strings(container.GetProperty("Command")));
        Assert.Equal(worker.Cpu, container.GetProperty("Cpu").GetInt32());
        Assert.Equal(worker.MemoryMiB, container.GetProperty("Memory").GetInt32());
        var mount = Assert.Single(container.GetProperty("MountPoints").EnumerateArray());
        Assert.Equal("/fsx", mount.GetProperty("ContainerPath").GetString());
        Assert.True(mount.GetProperty("ReadOnly").GetBoolean());
        Assert.Equal("/fsx", worker0.GetProperty("Volumes")[0].GetProperty("Host").GetProperty("SourcePath").GetString());
        Assert.Equal("awsvpc", worker0.GetProperty("NetworkMode").GetString());

        // The hosts mount Lustre before the ECS agent starts tasks.
        var userData = stack.Single("AWS::EC2::LaunchTemplate").Properties.GetRawText();
        Assert.Contains("dnf install -y lustre-client", userData, StringComparison.Ordinal);
        Assert.Contains("/fsx lustre", userData, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(WorkerIndexes))]
    public void Worker_port_is_open_only_to_the_client_cidr(int index)
    {
        var (worker, stack) = Worker(index);
        var clientCidr = fixture.Three.Federation.Client.Cidr.ToString();
        var rules = stack.IngressRules();

        Assert.DoesNotContain(rules, r => r.Rule.TryGetProperty("CidrIp", out var c) && c.GetString() == "0.0.0.0/0");
        var onWorkerPort = rules.Where(r => Covers(r.Rule, worker.Port)).ToList();
        Assert.NotEmpty(onWorkerPort);
        Assert.All(onWorkerPort, r =>
        {
            if (r.Rule.TryGetProperty("CidrIp", out var cidr))
            {
                Assert.Equal(clientCidr, cidr.GetString());
            }
            else
            {
                // The other sources: the worker NLB's own group (health checks), itself open to the client CIDR, and
                // the worker tasks' group to itself (pool peers).
                var source = r.Rule.GetProperty("SourceSecurityGroupId").GetProperty("Fn::GetAtt")[0].GetString()!;
                if (source == r.Group)
                {
                    return;
                }

                var sourceRules = rules.Where(x => x.Group == source).ToList();
                Assert.All(sourceRules, x => Assert.Equal(clientCidr, x.Rule.GetProperty("CidrIp").GetString()));
            }
        });
    }

    [Theory]
    [MemberData(nameof(WorkerIndexes))]
    public void Lustre_ports_988_and_1018_to_1023_are_open_only_inside_the_vpc(int index)
    {
        var (worker, stack) = Worker(index);
        var fileSystemSg = stack.Single("AWS::FSx::FileSystem").Properties.GetProperty("SecurityGroupIds")[0].GetProperty("Fn::GetAtt")[0].GetString();
        var lustreRules = stack.IngressRules().Where(r => Covers(r.Rule, 988) || Covers(r.Rule, 1018) || Covers(r.Rule, 1023) || Covers(r.Rule, 1000)).ToList();

        Assert.Contains(lustreRules, r => r.Group == fileSystemSg && Range(r.Rule) == (988, 988));
        Assert.Contains(lustreRules, r => r.Group == fileSystemSg && Range(r.Rule) == (1018, 1023));
        Assert.All(lustreRules, r =>
        {
            Assert.Equal(worker.Cidr.ToString(), r.Rule.GetProperty("CidrIp").GetString());
            Assert.True(Range(r.Rule) is (988, 988) or (1018, 1023), $"unexpected Lustre range {Range(r.Rule)}");
        });
    }

    [Theory]
    [MemberData(nameof(WorkerIndexes))]
    public void Catalog_sync_runs_nightly_at_midnight_utc_on_the_cluster(int index)
    {
        var (worker, stack) = Worker(index);
        stack.Template.HasResourceProperties("AWS::Events::Rule", Props(
            ("ScheduleExpression", "cron(0 0 * * ? *)"),
            ("State", "ENABLED"),
            ("Targets", new object[]
            {
                Match.ObjectLike(Props(("EcsParameters", Match.ObjectLike(Props(
                    ("LaunchType", Match.Absent()),
                    ("CapacityProviderStrategy", new object[] { Props(("CapacityProvider", Match.AnyValue()), ("Weight", 1)) }),
                    ("TaskCount", 1)))))),
            })));
        stack.Template.HasResourceProperties("AWS::ECS::ClusterCapacityProviderAssociations", Props(
            ("DefaultCapacityProviderStrategy", new object[] { Match.ObjectLike(Props(("Weight", 1))) })));
        var sync = stack.Resources("AWS::ECS::TaskDefinition").Select(t => t.Properties)
            .Single(t => t.GetProperty("ContainerDefinitions")[0].GetProperty("Name").GetString() == "sync");
        Assert.Equal(["sync", "--region", worker.Region, "--region-root", "/fsx", "--metadata-cache", $"/fsx/.proxima/metadata-cache/{worker.Region}"],
            StackTemplate.Strings(sync.GetProperty("ContainerDefinitions")[0].GetProperty("Command")));

        // A first sync at deploy time, so the catalog knows the region before the first midnight.
        Assert.Single(stack.Resources("Custom::AWS"), r => r.Properties.GetRawText().Contains("runTask", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(WorkerIndexes))]
    public void Sync_role_may_resync_only_this_file_system_and_assume_the_catalog_writer(int index)
    {
        var (worker, stack) = Worker(index);
        var (roleId, _) = stack.Resources("AWS::IAM::Role").Single(r =>
            r.Properties.TryGetProperty("RoleName", out var n) && n.GetString() == Naming.SyncRoleName(worker.Region));
        var fileSystemId = stack.Single("AWS::FSx::FileSystem").Id;
        var statements = stack.Resources("AWS::IAM::Policy")
            .Where(p => p.Properties.GetProperty("Roles").EnumerateArray().Any(r => r.GetProperty("Ref").GetString() == roleId))
            .SelectMany(p => p.Properties.GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray())
            .ToList();

        var actions = statements.SelectMany(s => StackTemplate.Strings(s.GetProperty("Action"))).ToHashSet();
        Assert.Equal(new HashSet<string> { "fsx:CreateDataRepositoryTask", "fsx:DescribeDataRepositoryTasks", "sts:AssumeRole" }, actions);

        foreach (var statement in statements.Where(s => StackTemplate.Strings(s.GetProperty("Action")).Any(a => a.StartsWith("fsx:", StringComparison.Ordinal))))
        {
            var resources = statement.GetProperty("Resource").EnumerateArray().Select(r => JsonSerializer.Serialize(r)).ToList();
            Assert.Contains(resources, r => r.Contains(":file-system/", StringComparison.Ordinal) && r.Contains($"{{\"Ref\":\"{fileSystemId}\"}}", StringComparison.Ordinal));
            Assert.DoesNotContain(resources, r => r == "\"*\"");
            Assert.All(resources, r => Assert.True(r.Contains(":file-system/", StringComparison.Ordinal) || r.Contains(":task/*", StringComparison.Ordinal), r));
        }

        var assume = statements.Single(s => StackTemplate.Strings(s.GetProperty("Action")).Contains("sts:AssumeRole"));
        Assert.Contains($":role/{Naming.CatalogWriterRoleName}", assume.GetProperty("Resource").GetRawText(), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(WorkerIndexes))]
    public void Worker_registers_its_nlb_as_the_cname_of_its_region_in_the_client_cloud_map(int index)
    {
        var (worker, stack) = Worker(index);
        var (_, registration) = Assert.Single(stack.Resources("Custom::AWS"), r => r.Properties.GetRawText().Contains("registerInstance", StringComparison.Ordinal));
        var call = Call(registration.GetProperty("Create"));
        Assert.Equal(fixture.Three.Federation.Client.Region, call.GetProperty("region").GetString());
        var parameters = call.GetProperty("parameters");
        Assert.Equal($"nlb-{worker.Region}", parameters.GetProperty("InstanceId").GetString());
        Assert.Equal("TOKEN", parameters.GetProperty("ServiceId").GetString()); // read from the client's SSM parameter
        var attributes = parameters.GetProperty("Attributes");
        Assert.Equal("TOKEN", attributes.GetProperty("AWS_INSTANCE_CNAME").GetString());
        Assert.Equal(worker.Region, attributes.GetProperty("region").GetString());
        Assert.Equal(worker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), attributes.GetProperty("port").GetString());
        var nlbId = stack.Single("AWS::ElasticLoadBalancingV2::LoadBalancer").Id;
        Assert.Contains($"{{\"Fn::GetAtt\":[\"{nlbId}\",\"DNSName\"]}}", JsonSerializer.Serialize(registration.GetProperty("Create")), StringComparison.Ordinal);
        Assert.Equal("deregisterInstance", Call(registration.GetProperty("Delete")).GetProperty("action").GetString());

        // The registration's own policy: Cloud Map on this service, Route 53 on the namespace's zone, nothing wider.
        var policy = stack.Resources("AWS::IAM::Policy").Single(p => p.Id.StartsWith("CloudMapRegistrationCustomResourcePolicy", StringComparison.Ordinal)).Properties;
        var statements = policy.GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray().ToList();
        var cloudMap = statements.Single(s => StackTemplate.Strings(s.GetProperty("Action")).Contains("servicediscovery:RegisterInstance"));
        Assert.Contains(":service/", cloudMap.GetProperty("Resource").GetRawText(), StringComparison.Ordinal);
        Assert.Contains(fixture.Three.Federation.Client.Region, cloudMap.GetProperty("Resource").GetRawText(), StringComparison.Ordinal);
        var route53 = statements.Single(s => StackTemplate.Strings(s.GetProperty("Action")).Contains("route53:ChangeResourceRecordSets"));
        Assert.Equal(["route53:ChangeResourceRecordSets", "route53:GetHostedZone"], StackTemplate.Strings(route53.GetProperty("Action")).Order());
        var zone = route53.GetProperty("Resource").GetRawText();
        Assert.Contains(":route53:::hostedzone/", zone, StringComparison.Ordinal);
        Assert.DoesNotContain("hostedzone/*", zone, StringComparison.Ordinal);

        stack.Template.HasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", Props(("Scheme", "internal"), ("Type", "network")));
        stack.Template.HasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", Props(("Port", worker.Port), ("Protocol", "TCP")));
    }

    /// <summary>
    /// Region-local merge behind the NLB: the worker service registers each task's IP (A, MULTIVALUE, short TTL) in a
    /// private namespace of this region's VPC, the tasks are told that name and the worker port, and the worker tasks'
    /// group admits itself on the worker port (a coordinator calls its peers); nothing else opens to it.
    /// </summary>
    [Theory]
    [MemberData(nameof(WorkerIndexes))]
    public void Worker_tasks_register_in_the_regions_pool_namespace_and_may_call_each_other(int index)
    {
        var (worker, stack) = Worker(index);
        var port = worker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var vpcId = stack.Single("AWS::EC2::VPC").Id;
        var (namespaceId, ns) = stack.Single("AWS::ServiceDiscovery::PrivateDnsNamespace");
        Assert.Equal(Naming.PoolNamespaceName, ns.GetProperty("Name").GetString());
        Assert.Equal(vpcId, ns.GetProperty("Vpc").GetProperty("Ref").GetString());

        var (serviceId, discovery) = stack.Single("AWS::ServiceDiscovery::Service");
        Assert.Equal(Naming.PoolServiceName, discovery.GetProperty("Name").GetString());
        var dns = discovery.GetProperty("DnsConfig");
        Assert.Equal("MULTIVALUE", dns.GetProperty("RoutingPolicy").GetString());
        Assert.Equal(namespaceId, dns.GetProperty("NamespaceId").GetProperty("Fn::GetAtt")[0].GetString());
        var record = Assert.Single(dns.GetProperty("DnsRecords").EnumerateArray());
        Assert.Equal("A", record.GetProperty("Type").GetString());
        Assert.Equal(Naming.PoolDnsTtlSeconds, record.GetProperty("TTL").GetInt32());
        Assert.True(Naming.PoolDnsTtlSeconds <= 15);

        var ecs = stack.Single("AWS::ECS::Service").Properties;
        var registry = Assert.Single(ecs.GetProperty("ServiceRegistries").EnumerateArray());
        Assert.Equal(serviceId, registry.GetProperty("RegistryArn").GetProperty("Fn::GetAtt")[0].GetString());

        var task = stack.Resources("AWS::ECS::TaskDefinition").Select(t => t.Properties)
            .Single(t => t.GetProperty("ContainerDefinitions")[0].GetProperty("Name").GetString() == "worker");
        var env = task.GetProperty("ContainerDefinitions")[0].GetProperty("Environment").EnumerateArray()
            .ToDictionary(e => e.GetProperty("Name").GetString()!, e => e.GetProperty("Value").GetString());
        Assert.Equal($"{Naming.PoolServiceName}.{Naming.PoolNamespaceName}", env["PROXIMA_PEERS_DNS"]);
        Assert.Equal(port, env["PROXIMA_PEERS_PORT"]);

        // The tasks' group (the ECS service's) admits itself on exactly the worker port.
        var taskGroup = ecs.GetProperty("NetworkConfiguration").GetProperty("AwsvpcConfiguration").GetProperty("SecurityGroups")[0].GetProperty("Fn::GetAtt")[0].GetString();
        var self = Assert.Single(stack.IngressRules(), r => r.Group == taskGroup && r.Rule.TryGetProperty("SourceSecurityGroupId", out var source)
            && source.GetProperty("Fn::GetAtt")[0].GetString() == taskGroup);
        Assert.Equal("tcp", self.Rule.GetProperty("IpProtocol").GetString());
        Assert.Equal((worker.Port, worker.Port), Range(self.Rule));
    }

    /// <summary>An AwsCustomResource call: a Fn::Join whose literal parts, tokens as "TOKEN", are the call's JSON.</summary>
    private static JsonElement Call(JsonElement joined)
    {
        if (joined.ValueKind == JsonValueKind.String)
        {
            return JsonDocument.Parse(joined.GetString()!).RootElement;
        }

        var text = string.Concat(joined.GetProperty("Fn::Join")[1].EnumerateArray().Select(p => p.ValueKind == JsonValueKind.String ? p.GetString() : "TOKEN"));
        return JsonDocument.Parse(text).RootElement;
    }

    private static bool Covers(JsonElement rule, int port)
    {
        var (from, to) = Range(rule);
        return rule.GetProperty("IpProtocol").GetString() is "tcp" or "-1" && from <= port && port <= to;
    }

    private static (int From, int To) Range(JsonElement rule) =>
        rule.GetProperty("IpProtocol").GetString() == "-1"
            ? (0, 65535)
            : (rule.GetProperty("FromPort").GetInt32(), rule.GetProperty("ToPort").GetInt32());
}
