using System.Text.Json;
using Xunit;

namespace Proxima.Cdk.Tests;

[Collection(SynthesisCollection.Name)]
public sealed class FederationSynthesisTests(SynthesisFixture fixture)
{
    /// <summary>Services whose resources hold or reach Proxima's data and secrets.</summary>
    private static readonly string[] DataServices = ["s3", "fsx", "es", "secretsmanager", "ssm", "kms", "dynamodb", "servicediscovery", "sts", "route53"];

    [Fact]
    public void One_client_and_two_workers_give_three_stacks_and_two_peerings()
    {
        var two = fixture.Two;
        Assert.Equal(2, two.Workers.Count);
        Assert.Equal(2, two.Workers.Sum(w => w.Resources("AWS::EC2::TransitGatewayPeeringAttachment").Count));
        Assert.Equal(["us-east-1", "us-west-2"], two.Stacks.Workers.Select(s => s.Region));
        Assert.Equal(2, two.Client.Resources("AWS::ServiceDiscovery::Service").Count);
        Assert.Equal(3, Directory.GetFiles(two.Outdir, "*.template.json").Length);
    }

    [Fact]
    public void One_client_and_three_workers_give_four_stacks_and_three_peerings()
    {
        var three = fixture.Three;
        Assert.Equal(3, three.Workers.Count);
        Assert.Equal(3, three.Workers.Sum(w => w.Resources("AWS::EC2::TransitGatewayPeeringAttachment").Count));
        Assert.Equal(["us-east-1", "us-west-2", "ap-southeast-2"], three.Stacks.Workers.Select(s => s.Region));
        Assert.Equal(3, three.Client.Resources("AWS::ServiceDiscovery::Service").Count);
        Assert.Equal(4, Directory.GetFiles(three.Outdir, "*.template.json").Length);
        Assert.Equal(3 * 2, three.Client.Resources("AWS::EC2::Route").Count(r => r.Properties.TryGetProperty("TransitGatewayId", out _)));
    }

    [Fact]
    public void Each_stack_is_in_its_own_region_and_worker_stacks_deploy_after_the_client()
    {
        foreach (var federation in new[] { fixture.Two, fixture.Three })
        {
            Assert.Equal(federation.Federation.Client.Region, federation.Stacks.Client.Region);
            Assert.Equal(Naming.ClientStackId(federation.Federation.Client.Region), federation.Stacks.Client.StackName);
            foreach (var worker in federation.Stacks.Workers)
            {
                Assert.Contains(federation.Stacks.Client, worker.Dependencies);
                Assert.Equal(SynthesisFixture.Account, worker.Account);
            }
        }
    }

    [Fact]
    public void Transit_gateway_asns_do_not_depend_on_the_order_or_number_of_regions()
    {
        var a = Naming.TransitGatewayAsns("eu-west-2", ["us-east-1", "us-west-2"]);
        var b = Naming.TransitGatewayAsns("eu-west-2", ["ap-southeast-2", "us-west-2", "sa-east-1", "us-east-1"]);
        Assert.Equal(a["us-east-1"], b["us-east-1"]);
        Assert.Equal(a["us-west-2"], b["us-west-2"]);
        Assert.Equal(a["eu-west-2"], b["eu-west-2"]);
        Assert.All(b.Values, asn => Assert.InRange(asn, 64512, 65534));
    }

    [Fact]
    public void Transit_gateway_asns_stay_distinct_even_for_many_regions()
    {
        var regions = new List<string>();
        foreach (var area in new[] { "us-east", "us-west", "eu-west", "eu-central", "eu-north", "eu-south", "ap-southeast", "ap-northeast", "ap-south", "ca-central", "sa-east", "me-south", "af-south", "il-central" })
        {
            for (var n = 1; n <= 4; n++)
            {
                regions.Add($"{area}-{n}");
            }
        }

        var asns = Naming.TransitGatewayAsns("eu-west-2", regions.Where(r => r != "eu-west-2"));
        Assert.Equal(asns.Count, asns.Values.Distinct().Count());
    }

    [Fact]
    public void Transit_gateway_asns_are_distinct()
    {
        var asns = new List<int> { fixture.Three.Client.Single("AWS::EC2::TransitGateway").Properties.GetProperty("AmazonSideAsn").GetInt32() };
        asns.AddRange(fixture.Three.Workers.Select(w => w.Single("AWS::EC2::TransitGateway").Properties.GetProperty("AmazonSideAsn").GetInt32()));
        Assert.Equal(asns.Count, asns.Distinct().Count());
    }

    [Fact]
    public void No_policy_grants_wildcard_actions_or_data_actions_on_every_resource()
    {
        var stacks = new List<StackTemplate> { fixture.Three.Client };
        stacks.AddRange(fixture.Three.Workers);
        var checkedStatements = 0;
        foreach (var stack in stacks)
        {
            foreach (var statement in stack.IamStatements())
            {
                checkedStatements++;
                var actions = StackTemplate.Strings(statement.GetProperty("Action"));
                var resources = statement.TryGetProperty("Resource", out var r) ? StackTemplate.Strings(r) : [];
                foreach (var action in actions)
                {
                    Assert.NotEqual("*", action);
                    var service = action.Split(':')[0];
                    if (Array.IndexOf(DataServices, service) < 0)
                    {
                        continue;
                    }

                    Assert.False(action.Contains('*', StringComparison.Ordinal), $"{stack.Stack.StackName}: wildcard data action {action}");
                    if (service != "servicediscovery")
                    {
                        Assert.False(resources.Contains("*"), $"{stack.Stack.StackName}: {action} on every resource");
                    }
                }
            }
        }

        Assert.True(checkedStatements > 50, $"only {checkedStatements} statements found: the sweep is not looking at the templates");
    }

    [Fact]
    public void Every_lambda_function_uses_a_runtime_lambda_still_accepts()
    {
        var stacks = new List<StackTemplate> { fixture.Three.Client };
        stacks.AddRange(fixture.Three.Workers);
        var functions = 0;
        foreach (var stack in stacks)
        {
            foreach (var (id, props) in stack.Resources("AWS::Lambda::Function"))
            {
                functions++;
                var runtime = props.GetProperty("Runtime").GetString();
                Assert.True(runtime is CurrentLambdaRuntimes.Node or CurrentLambdaRuntimes.Python, $"{stack.Stack.StackName}/{id} uses {runtime}");
            }
        }

        Assert.True(functions >= 8, $"only {functions} functions found");
    }

    [Fact]
    public void Docker_image_assets_build_the_three_dockerfiles_from_the_repository_root()
    {
        var files = new HashSet<string>();
        foreach (var assets in Directory.GetFiles(fixture.Three.Outdir, "*.assets.json"))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(assets));
            foreach (var image in doc.RootElement.GetProperty("dockerImages").EnumerateObject())
            {
                var source = image.Value.GetProperty("source");
                files.Add(source.GetProperty("dockerFile").GetString()!);
                Assert.Equal(fixture.RepositoryRoot, Path.GetFullPath(source.GetProperty("directory").GetString()!, fixture.Three.Outdir));
            }
        }

        Assert.Equal(new HashSet<string> { "docker/router.Dockerfile", "docker/worker.Dockerfile", "docker/sync.Dockerfile" }, files);
        foreach (var file in files)
        {
            var text = File.ReadAllText(Path.Combine(fixture.RepositoryRoot, file));
            Assert.Contains("dotnet publish Cli/Proxima.Cli.csproj", text, StringComparison.Ordinal);
            Assert.Contains("ENTRYPOINT [\"dotnet\", \"/app/proxima.dll\"]", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Synthesis_of_both_federations_stays_fast()
    {
        Assert.True(fixture.SynthesisTime < TimeSpan.FromSeconds(90), $"synthesis took {fixture.SynthesisTime}");
    }
}
