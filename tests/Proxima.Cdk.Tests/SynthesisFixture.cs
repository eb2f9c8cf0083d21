using System.Text.Json;
using Amazon.CDK;
using Amazon.CDK.Assertions;
using Proxima.Federation;
using Xunit;

namespace Proxima.Cdk.Tests;

/// <summary>
/// Synthesizes two federations once for every CDK test (jsii start-up and synthesis cost seconds): the repository's
/// <c>bin/variables.json</c> (1 client + 2 workers, NLB TLS pass-through) and a 1 client + 3 workers file with
/// per-worker overrides and an ACM certificate. Asset staging is disabled so the repository is not copied.
/// </summary>
public sealed class SynthesisFixture : IDisposable
{
    public const string Account = "123456789012";

    public const string ThreeWorkers = """
        {
          "client": { "region": "eu-west-2", "cidr": "10.0.0.0/16",
                      "certificateArn": "arn:aws:acm:eu-west-2:123456789012:certificate/0b1f5a2c-1111-2222-3333-444455556666" },
          "workers": [
            { "region": "us-east-1", "cidr": "10.1.0.0/16", "dataset": "s3://era5-pds", "lustreFileSystemPath": "era5-pds", "port": 9443 },
            { "region": "us-west-2", "cidr": "10.2.0.0/16", "dataset": "s3://cmip6-pds/CMIP6/ScenarioMIP/MOHC",
              "lustreFileSystemPath": "CMIP6/ScenarioMIP/MOHC", "port": 9443, "minTasks": 2, "maxTasks": 32,
              "cpuTargetPercent": 70, "fsxFileSystemStorageGiB": 2400, "fsxThroughputPerTiB": 250 },
            { "region": "ap-southeast-2", "cidr": "10.3.0.0/20", "dataset": "s3://merra2-example/M2T1NXSLV",
              "lustreFileSystemPath": "merra2", "port": 9443, "autoImport": false, "cpu": 8192, "memoryMiB": 30720, "maxInstances": 8, "instanceType": "c6i.4xlarge" }
          ]
        }
        """;

    private readonly List<string> _outdirs = [];

    public SynthesisFixture()
    {
        RepositoryRoot = ProximaApp.FindRepositoryRoot(AppContext.BaseDirectory);
        var started = System.Diagnostics.Stopwatch.StartNew();
        Two = Synthesize(FederationReader.ReadFile(FederationReader.ResolvePath(null, AppContext.BaseDirectory)));
        Three = Synthesize(FederationReader.Parse(ThreeWorkers, "three-workers.json"));
        SynthesisTime = started.Elapsed;
    }

    public string RepositoryRoot { get; }

    internal SynthesizedFederation Two { get; }

    internal SynthesizedFederation Three { get; }

    public TimeSpan SynthesisTime { get; }

    public void Dispose()
    {
        foreach (var dir in _outdirs)
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private SynthesizedFederation Synthesize(FederationConfig federation)
    {
        var outdir = Path.Combine(Path.GetTempPath(), $"proxima-cdk-test-{Guid.NewGuid():N}");
        _outdirs.Add(outdir);
        var app = new App(new AppProps
        {
            Outdir = outdir,
            Context = new Dictionary<string, object> { ["aws:cdk:disable-asset-staging"] = true },
        });
        var stacks = ProximaApp.Build(app, federation, RepositoryRoot, Account);
        var assembly = app.Synth();

        StackTemplate Load(Stack stack) => new(
            stack,
            Template.FromStack(stack),
            JsonDocument.Parse(File.ReadAllText(assembly.GetStackArtifact(stack.ArtifactId).TemplateFullPath)));

        var workers = new List<StackTemplate>(stacks.Workers.Count);
        foreach (var worker in stacks.Workers)
        {
            workers.Add(Load(worker));
        }

        return new SynthesizedFederation(federation, stacks, Load(stacks.Client), workers, outdir);
    }
}

internal sealed record SynthesizedFederation(FederationConfig Federation, ProximaStacks Stacks, StackTemplate Client, IReadOnlyList<StackTemplate> Workers, string Outdir);

[CollectionDefinition(Name)]
public sealed class SynthesisCollection : ICollectionFixture<SynthesisFixture>
{
    public const string Name = "synthesized federations";
}

/// <summary>One synthesized stack: the Amazon.CDK.Assertions view and the raw template for sweeping checks.</summary>
public sealed class StackTemplate(Stack stack, Template template, JsonDocument json)
{
    public Stack Stack { get; } = stack;

    public Template Template { get; } = template;

    public JsonElement Json => json.RootElement;

    public string Text { get; } = json.RootElement.GetRawText();

    public List<(string Id, JsonElement Properties)> Resources(string type)
    {
        var found = new List<(string, JsonElement)>();
        foreach (var resource in Json.GetProperty("Resources").EnumerateObject())
        {
            if (resource.Value.GetProperty("Type").GetString() == type)
            {
                found.Add((resource.Name, resource.Value.TryGetProperty("Properties", out var p) ? p : default));
            }
        }

        return found;
    }

    public (string Id, JsonElement Properties) Single(string type) => Assert.Single(Resources(type));

    /// <summary>Every IAM statement in the stack: managed by AWS::IAM::Policy, inline in roles, and custom resource policies.</summary>
    public List<JsonElement> IamStatements()
    {
        var statements = new List<JsonElement>();
        foreach (var (_, props) in Resources("AWS::IAM::Policy"))
        {
            statements.AddRange(props.GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray());
        }

        foreach (var (_, props) in Resources("AWS::IAM::Role"))
        {
            if (props.TryGetProperty("Policies", out var policies))
            {
                foreach (var policy in policies.EnumerateArray())
                {
                    statements.AddRange(policy.GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray());
                }
            }
        }

        return statements;
    }

    /// <summary>All ingress rules: inline in security groups and standalone, as (group logical id, rule).</summary>
    public List<(string Group, JsonElement Rule)> IngressRules()
    {
        var rules = new List<(string, JsonElement)>();
        foreach (var (id, props) in Resources("AWS::EC2::SecurityGroup"))
        {
            if (props.TryGetProperty("SecurityGroupIngress", out var inline))
            {
                foreach (var rule in inline.EnumerateArray())
                {
                    rules.Add((id, rule));
                }
            }
        }

        foreach (var (_, props) in Resources("AWS::EC2::SecurityGroupIngress"))
        {
            var group = props.GetProperty("GroupId").GetProperty("Fn::GetAtt")[0].GetString()!;
            rules.Add((group, props));
        }

        return rules;
    }

    public static List<string> Strings(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Array => element.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText()).ToList(),
        JsonValueKind.String => [element.GetString()!],
        _ => [element.GetRawText()],
    };
}
