using Amazon.CDK;
using Proxima.Cdk.Client;
using Proxima.Cdk.Images;
using Proxima.Cdk.Worker;
using Proxima.Federation;

namespace Proxima.Cdk;

/// <summary>The stacks of one federation: the client region first, then one stack per worker region.</summary>
internal sealed record ProximaStacks(ClientRegionStack Client, IReadOnlyList<WorkerRegionStack> Workers);

/// <summary>Builds the Proxima stacks into a CDK app from a validated federation.</summary>
internal static class ProximaApp
{
    /// <summary>CDK feature flags: launch templates (launch configurations are closed to new accounts),
    /// default security groups stripped of rules, merged IAM statements.</summary>
    public static readonly (string Key, object Value)[] FeatureFlags =
    [
        ("@aws-cdk/aws-autoscaling:generateLaunchTemplateInsteadOfLaunchConfig", true),
        ("@aws-cdk/aws-ec2:restrictDefaultSecurityGroup", true),
        ("@aws-cdk/aws-iam:minimizePolicies", true),
        ("@aws-cdk/aws-ecs:arnFormatIncludesClusterName", true),
        ("@aws-cdk/customresources:installLatestAwsSdkDefault", false),
    ];

    /// <summary>
    /// The port every worker region listens on. The router discovers a region by the CNAME of its NLB, which carries
    /// no port, so it dials all regions on one (<c>PROXIMA_WORKERS_PORT</c>): differing <c>workers[i].port</c> are an error.
    /// </summary>
    /// <exception cref="FederationException">A worker's port differs from the first worker's.</exception>
    public static int WorkerPort(FederationConfig federation, string source = "bin/variables.json")
    {
        var port = federation.Workers[0].Port;
        var errors = new List<FederationError>();
        for (var i = 1; i < federation.Workers.Count; i++)
        {
            if (federation.Workers[i].Port != port)
            {
                errors.Add(new FederationError($"workers[{i}].port", $"is {federation.Workers[i].Port} but workers[0].port is {port}: " +
                    "the router discovers every worker region by DNS (a CNAME to its load balancer) and dials them all on one port"));
            }
        }

        return errors.Count == 0 ? port : throw new FederationException(source, errors);
    }

    /// <param name="account">AWS account, or null for an environment-agnostic account (CDK_DEFAULT_ACCOUNT unset).</param>
    public static ProximaStacks Build(App app, FederationConfig federation, string repositoryRoot, string? account)
    {
        // Feature flags the stacks rely on, set in code so `dotnet run`, tests and `cdk synth` build the same thing.
        foreach (var (key, value) in FeatureFlags)
        {
            app.Node.SetContext(key, value);
        }

        _ = WorkerPort(federation);
        var images = new ProximaImages(repositoryRoot);
        Tags.Of(app).Add("project", "proxima");
        Aspects.Of(app).Add(new CurrentLambdaRuntimes());

        var workerRegions = new List<string>(federation.Workers.Count);
        foreach (var worker in federation.Workers)
        {
            workerRegions.Add(worker.Region);
        }

        var asns = Naming.TransitGatewayAsns(federation.Client.Region, workerRegions);
        var client = new ClientRegionStack(app, Naming.ClientStackId(federation.Client.Region), federation, asns[federation.Client.Region], images, new StackProps
        {
            Env = new Amazon.CDK.Environment { Account = account, Region = federation.Client.Region },
            Description = $"Proxima client region {federation.Client.Region}: router, catalog, hub Transit Gateway",
        });

        var workers = new List<WorkerRegionStack>(federation.Workers.Count);
        for (var i = 0; i < federation.Workers.Count; i++)
        {
            var worker = federation.Workers[i];
            var stack = new WorkerRegionStack(app, Naming.WorkerStackId(worker.Region), federation.Client, worker, asns[worker.Region], images, new StackProps
            {
                Env = new Amazon.CDK.Environment { Account = account, Region = worker.Region },
                Description = $"Proxima worker region {worker.Region}: workers over FSx for Lustre ({worker.Dataset}), nightly sync",
            });
            // Reads the client's SSM parameters, accepts the peering there and replicates its secret: client first.
            stack.AddDependency(client);
            workers.Add(stack);
        }

        return new ProximaStacks(client, workers);
    }

    /// <summary>The repository root (holds <c>Proxima.slnx</c> and <c>docker/</c>), found walking up from <paramref name="start"/>.</summary>
    public static string FindRepositoryRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Proxima.slnx")) && Directory.Exists(Path.Combine(dir.FullName, "docker")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"no Proxima repository (Proxima.slnx + docker/) above {start}; run the CDK app from the repository");
    }
}
