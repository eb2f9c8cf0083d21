using System.Text.Json;
using Amazon.CDK.Assertions;
using Xunit;

namespace Proxima.Cdk.Tests;

[Collection(SynthesisCollection.Name)]
public sealed class ClientRegionStackTests(SynthesisFixture fixture)
{
    private static Dictionary<string, object> Props(params (string Key, object Value)[] entries)
    {
        var props = new Dictionary<string, object>();
        foreach (var (key, value) in entries)
        {
            props[key] = value;
        }

        return props;
    }

    [Fact]
    public void Creates_one_of_each_client_region_resource()
    {
        var t = fixture.Three.Client.Template;

        t.ResourceCountIs("AWS::EC2::VPC", 1);
        t.ResourceCountIs("AWS::EC2::FlowLog", 1);
        t.ResourceCountIs("AWS::EC2::VPCEndpoint", 1);
        t.ResourceCountIs("Custom::VpcRestrictDefaultSG", 1);
        t.ResourceCountIs("AWS::EC2::TransitGateway", 1);
        t.ResourceCountIs("AWS::EC2::TransitGatewayAttachment", 1);
        t.ResourceCountIs("AWS::EC2::TransitGatewayPeeringAttachment", 0);
        t.ResourceCountIs("AWS::OpenSearchService::Domain", 1);
        t.ResourceCountIs("AWS::ECS::Service", 1);
        t.ResourceCountIs("AWS::ElasticLoadBalancingV2::LoadBalancer", 1);
        t.ResourceCountIs("AWS::SecretsManager::Secret", 3);
        t.ResourceCountIs("AWS::ServiceDiscovery::PrivateDnsNamespace", 1);
        t.ResourceCountIs("AWS::ServiceDiscovery::HttpNamespace", 0);
        t.ResourceCountIs("AWS::ServiceDiscovery::Service", 3);
        t.ResourceCountIs("AWS::SSM::Parameter", 8 + 3);
        t.ResourceCountIs("AWS::FSx::FileSystem", 0);
    }

    [Fact]
    public void Vpc_flow_logs_capture_all_traffic_to_cloudwatch()
    {
        fixture.Three.Client.Template.HasResourceProperties("AWS::EC2::FlowLog", Props(
            ("ResourceType", "VPC"),
            ("TrafficType", "ALL"),
            ("LogDestinationType", "cloud-watch-logs")));
        fixture.Three.Client.Template.HasResourceProperties("AWS::EC2::VPC", Props(("CidrBlock", "10.0.0.0/16")));
    }

    [Fact]
    public void Transit_gateway_has_no_default_route_table_so_routes_are_explicit()
    {
        fixture.Three.Client.Template.HasResourceProperties("AWS::EC2::TransitGateway", Props(
            ("DefaultRouteTableAssociation", "disable"),
            ("DefaultRouteTablePropagation", "disable"),
            ("AutoAcceptSharedAttachments", "disable"),
            ("AmazonSideAsn", Naming.TransitGatewayAsns("eu-west-2", [])["eu-west-2"])));
    }

    [Fact]
    public void Client_private_subnets_route_each_worker_cidr_to_the_transit_gateway()
    {
        var client = fixture.Three.Client;
        var routes = client.Resources("AWS::EC2::Route");
        foreach (var worker in fixture.Three.Federation.Workers)
        {
            var toWorker = routes.Where(r => r.Properties.GetProperty("DestinationCidrBlock").GetString() == worker.Cidr.ToString()).ToList();
            Assert.Equal(2, toWorker.Count); // one per private subnet (two AZs)
            Assert.All(toWorker, r => Assert.True(r.Properties.TryGetProperty("TransitGatewayId", out _)));
        }
    }

    [Fact]
    public void Opensearch_is_encrypted_https_only_fine_grained_and_logs_slow_queries()
    {
        var t = fixture.Three.Client.Template;
        t.HasResourceProperties("AWS::OpenSearchService::Domain", Props(
            ("EncryptionAtRestOptions", Props(("Enabled", true))),
            ("NodeToNodeEncryptionOptions", Props(("Enabled", true))),
            ("DomainEndpointOptions", Props(("EnforceHTTPS", true), ("TLSSecurityPolicy", "Policy-Min-TLS-1-2-2019-07"))),
            ("AdvancedSecurityOptions", Match.ObjectLike(Props(("Enabled", true), ("InternalUserDatabaseEnabled", false)))),
            ("LogPublishingOptions", Match.ObjectLike(Props(
                ("SEARCH_SLOW_LOGS", Match.ObjectLike(Props(("Enabled", true)))),
                ("INDEX_SLOW_LOGS", Match.ObjectLike(Props(("Enabled", true))))))),
            ("VPCOptions", Match.ObjectLike(Props(("SubnetIds", Match.AnyValue())))),
            ("ClusterConfig", Match.ObjectLike(Props(("InstanceCount", 2), ("ZoneAwarenessEnabled", true))))));
    }

    [Fact]
    public void Catalog_master_user_is_the_catalog_writer_role_the_sync_roles_assume()
    {
        var client = fixture.Three.Client;
        var (writerId, writer) = client.Resources("AWS::IAM::Role").Single(r =>
            r.Properties.TryGetProperty("RoleName", out var n) && n.GetString() == Naming.CatalogWriterRoleName);
        var domain = client.Single("AWS::OpenSearchService::Domain").Properties;
        Assert.Equal(writerId, domain.GetProperty("AdvancedSecurityOptions").GetProperty("MasterUserOptions").GetProperty("MasterUserARN").GetProperty("Fn::GetAtt")[0].GetString());

        var trust = writer.GetProperty("AssumeRolePolicyDocument").GetRawText();
        foreach (var worker in fixture.Three.Federation.Workers)
        {
            Assert.Contains($":role/{Naming.SyncRoleName(worker.Region)}", trust, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Catalog_accepts_https_from_the_client_and_worker_cidrs_only()
    {
        var client = fixture.Three.Client;
        var domainSg = client.Single("AWS::OpenSearchService::Domain").Properties
            .GetProperty("VPCOptions").GetProperty("SecurityGroupIds")[0].GetProperty("Fn::GetAtt")[0].GetString();
        var rules = client.IngressRules().Where(r => r.Group == domainSg).Select(r => r.Rule).ToList();

        var expected = new HashSet<string> { fixture.Three.Federation.Client.Cidr.ToString() };
        foreach (var worker in fixture.Three.Federation.Workers)
        {
            expected.Add(worker.Cidr.ToString());
        }

        Assert.Equal(expected, rules.Select(r => r.GetProperty("CidrIp").GetString()!).ToHashSet());
        Assert.All(rules, r =>
        {
            Assert.Equal(443, r.GetProperty("FromPort").GetInt32());
            Assert.Equal(443, r.GetProperty("ToPort").GetInt32());
        });
    }

    [Fact]
    public void Router_runs_on_fargate_behind_an_internal_nlb_terminating_tls_with_the_acm_certificate()
    {
        var t = fixture.Three.Client.Template;
        t.HasResourceProperties("AWS::ECS::Service", Props(("LaunchType", "FARGATE"), ("DesiredCount", 2)));
        t.HasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", Props(("Scheme", "internal"), ("Type", "network")));
        t.HasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", Props(
            ("Port", 443),
            ("Protocol", "TLS"),
            ("Certificates", new object[] { Props(("CertificateArn", fixture.Three.Federation.Client.CertificateArn!)) })));
        t.HasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", Props(("Port", 8443), ("Protocol", "TLS"), ("TargetType", "ip")));
    }

    [Fact]
    public void Without_a_certificate_the_nlb_passes_tls_through_to_the_router()
    {
        var t = fixture.Two.Client.Template;
        t.HasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", Props(("Port", 443), ("Protocol", "TCP"), ("Certificates", Match.Absent())));
        t.HasResourceProperties("AWS::ElasticLoadBalancingV2::TargetGroup", Props(("Port", 8443), ("Protocol", "TCP")));
    }

    [Fact]
    public void Router_reads_tls_and_tokens_from_secrets_manager_and_listens_on_8443()
    {
        var task = fixture.Three.Client.Single("AWS::ECS::TaskDefinition").Properties;
        var container = task.GetProperty("ContainerDefinitions")[0];
        Assert.Equal(["router", "--host", "0.0.0.0", "--port", "8443"], StackTemplate.Strings(container.GetProperty("Command")));
        var secrets = container.GetProperty("Secrets").EnumerateArray().Select(s => s.GetProperty("Name").GetString()).ToHashSet();
        Assert.Superset(new HashSet<string?> { "PROXIMA_TLS_CA", "PROXIMA_TLS_CERT", "PROXIMA_TLS_KEY", "PROXIMA_TOKENS" }, secrets);
        Assert.Equal("FARGATE", StackTemplate.Strings(task.GetProperty("RequiresCompatibilities")).Single());
    }

    [Fact]
    public void Worker_tls_secret_is_replicated_to_every_worker_region_and_tokens_are_generated()
    {
        var client = fixture.Three.Client;
        var secrets = client.Resources("AWS::SecretsManager::Secret").ToDictionary(s => s.Properties.GetProperty("Name").GetString()!, s => s.Properties);

        var replicas = secrets[Naming.WorkerTlsSecretName].GetProperty("ReplicaRegions").EnumerateArray()
            .Select(r => r.GetProperty("Region").GetString()).ToList();
        Assert.Equal(fixture.Three.Federation.Workers.Select(w => w.Region), replicas);
        Assert.False(secrets[Naming.RouterTlsSecretName].TryGetProperty("ReplicaRegions", out _));
        Assert.Equal("tokens", secrets[Naming.RouterTokensSecretName].GetProperty("GenerateSecretString").GetProperty("GenerateStringKey").GetString());
    }

    [Fact]
    public void Publishes_the_ssm_parameters_worker_stacks_read()
    {
        var names = fixture.Three.Client.Resources("AWS::SSM::Parameter").Select(p => p.Properties.GetProperty("Name").GetString()).ToHashSet();
        Assert.Contains(Naming.TransitGatewayIdParameter, names);
        Assert.Contains(Naming.TransitGatewayRouteTableIdParameter, names);
        Assert.Contains(Naming.CatalogEndpointParameter, names);
        Assert.Contains(Naming.CatalogWriterRoleParameter, names);
        Assert.Contains(Naming.RouterRoleParameter, names);
        foreach (var worker in fixture.Three.Federation.Workers)
        {
            Assert.Contains(Naming.WorkerServiceParameter(worker.Region), names);
        }
    }

    [Fact]
    public void Cloud_map_is_a_private_dns_namespace_on_the_client_vpc_with_one_cname_service_per_worker_region()
    {
        var client = fixture.Three.Client;
        var (namespaceId, ns) = client.Single("AWS::ServiceDiscovery::PrivateDnsNamespace");
        Assert.Equal(Naming.NamespaceName, ns.GetProperty("Name").GetString());
        var vpcId = client.Single("AWS::EC2::VPC").Id;
        Assert.Equal(vpcId, ns.GetProperty("Vpc").GetProperty("Ref").GetString());

        var services = client.Resources("AWS::ServiceDiscovery::Service");
        Assert.Equal(fixture.Three.Federation.Workers.Select(w => Naming.CloudMapServiceName(w.Region)).Order(), services.Select(s => s.Properties.GetProperty("Name").GetString()).Order());
        foreach (var (_, service) in services)
        {
            var dns = service.GetProperty("DnsConfig");
            Assert.Equal("WEIGHTED", dns.GetProperty("RoutingPolicy").GetString()); // the only policy CNAME records allow
            var record = Assert.Single(dns.GetProperty("DnsRecords").EnumerateArray());
            Assert.Equal("CNAME", record.GetProperty("Type").GetString());
            Assert.Equal(Naming.WorkerDnsTtlSeconds, record.GetProperty("TTL").GetInt32());
            Assert.Contains(namespaceId, service.GetProperty("NamespaceId").GetRawText(), StringComparison.Ordinal);
        }

        var names = client.Resources("AWS::SSM::Parameter").Select(p => p.Properties.GetProperty("Name").GetString()).ToHashSet();
        Assert.Contains(Naming.NamespaceHostedZoneIdParameter, names);
    }

    [Fact]
    public void Router_discovers_every_worker_region_by_dns_on_the_workers_port_and_needs_no_cloud_map_api()
    {
        foreach (var (federation, port) in new[] { (fixture.Three, "9443"), (fixture.Two, "7443") })
        {
            var container = federation.Client.Single("AWS::ECS::TaskDefinition").Properties.GetProperty("ContainerDefinitions")[0];
            var env = container.GetProperty("Environment").EnumerateArray().ToDictionary(e => e.GetProperty("Name").GetString()!, e => e.GetProperty("Value"));
            Assert.Equal(Naming.NamespaceName, env["PROXIMA_WORKERS_NAMESPACE"].GetString());
            Assert.Equal(string.Join(',', federation.Federation.Workers.Select(w => w.Region)), env["PROXIMA_WORKER_REGIONS"].GetString());
            Assert.Equal(port, env["PROXIMA_WORKERS_PORT"].GetString());
            // Discovery gives each region's NLB: reductions go as one unit through it, the task that gets it finds its pool.
            Assert.Equal("1", env["PROXIMA_WORKERS_LOAD_BALANCED"].GetString());
            Assert.False(env.ContainsKey("PROXIMA_REGION_LOCAL_MERGE"));
            Assert.DoesNotContain(federation.Client.IamStatements(), st => st.GetProperty("Action").GetRawText().Contains("servicediscovery:", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Worker_regions_on_different_ports_are_rejected_naming_the_field()
    {
        var json = SynthesisFixture.ThreeWorkers.Replace("\"lustreFileSystemPath\": \"merra2\", \"port\": 9443", "\"lustreFileSystemPath\": \"merra2\", \"port\": 7443", StringComparison.Ordinal);
        var federation = Proxima.Federation.FederationReader.Parse(json, "ports.json");
        var ex = Assert.Throws<Proxima.Federation.FederationException>(() => ProximaApp.WorkerPort(federation, "ports.json"));
        var error = Assert.Single(ex.Errors);
        Assert.Equal("workers[2].port", error.Path);
        Assert.Contains("is 7443 but workers[0].port is 9443", error.Message, StringComparison.Ordinal);
        Assert.Contains("ports.json", ex.Message, StringComparison.Ordinal);
        Assert.Equal(9443, ProximaApp.WorkerPort(fixture.Three.Federation));
    }

    [Fact]
    public void Router_signs_catalog_requests_for_the_domains_region()
    {
        foreach (var federation in new[] { fixture.Three, fixture.Two })
        {
            var container = federation.Client.Single("AWS::ECS::TaskDefinition").Properties.GetProperty("ContainerDefinitions")[0];
            var env = container.GetProperty("Environment").EnumerateArray().ToDictionary(e => e.GetProperty("Name").GetString()!, e => e.GetProperty("Value"));
            Assert.Equal("opensearch", env["PROXIMA_CATALOG"].GetString());
            Assert.Contains("DomainEndpoint", env["PROXIMA_OPENSEARCH_URL"].GetRawText(), StringComparison.Ordinal);
            Assert.Equal(federation.Federation.Client.Region, env["PROXIMA_OPENSEARCH_REGION"].GetString());
            Assert.False(env.ContainsKey("PROXIMA_CATALOG_ROLE_ARN")); // the router reads with its own task role (mapped to readall)
        }
    }

    [Fact]
    public void Catalog_access_policy_names_the_two_roles_and_explicit_http_actions_only()
    {
        // The policy is set by a custom resource whose call is a Fn::Join; joining the literal parts (tokens sit inside
        // JSON strings) gives the call's JSON, whose AccessPolicies is the policy document.
        var create = fixture.Three.Client.Resources("Custom::OpenSearchAccessPolicy").Single().Properties.GetProperty("Create");
        var text = string.Concat(create.GetProperty("Fn::Join")[1].EnumerateArray().Select(p => p.ValueKind == JsonValueKind.String ? p.GetString() : "TOKEN"));
        using var call = JsonDocument.Parse(text);
        using var policy = JsonDocument.Parse(call.RootElement.GetProperty("parameters").GetProperty("AccessPolicies").GetString()!);

        var statements = policy.RootElement.GetProperty("Statement").EnumerateArray().ToList();
        Assert.Equal(2, statements.Count);
        Assert.All(statements, st =>
        {
            Assert.Equal("TOKEN", st.GetProperty("Principal").GetProperty("AWS").GetString()); // a role ARN, never "*"
            Assert.All(StackTemplate.Strings(st.GetProperty("Action")), a =>
            {
                Assert.StartsWith("es:ESHttp", a, StringComparison.Ordinal);
                Assert.DoesNotContain("*", a, StringComparison.Ordinal);
            });
        });
        Assert.Contains("es:ESHttpPut", StackTemplate.Strings(statements.Single(s => s.GetProperty("Sid").GetString() == "CatalogWriter").GetProperty("Action")));
        Assert.DoesNotContain("es:ESHttpPut", StackTemplate.Strings(statements.Single(s => s.GetProperty("Sid").GetString() == "RouterReads").GetProperty("Action")));
    }

    [Fact]
    public void Client_stack_has_no_open_ingress()
    {
        Assert.All(fixture.Three.Client.IngressRules(), r =>
            Assert.NotEqual("0.0.0.0/0", r.Rule.TryGetProperty("CidrIp", out var c) ? c.GetString() : null));
    }
}
