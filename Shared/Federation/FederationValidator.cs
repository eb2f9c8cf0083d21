using System.Text.RegularExpressions;

namespace Proxima.Federation;

/// <summary>Cross-field and AWS-limit rules of the federation file; every error names the offending field.</summary>
internal static partial class FederationValidator
{
    /// <summary>Fargate CPU units → allowed memory (MiB) range and step.</summary>
    private static readonly (int Cpu, int MinMiB, int MaxMiB, int StepMiB)[] FargateSizes =
    [
        (256, 512, 2048, 512), (512, 1024, 4096, 1024), (1024, 2048, 8192, 1024), (2048, 4096, 16384, 1024),
        (4096, 8192, 30720, 1024), (8192, 16384, 61440, 4096), (16384, 32768, 122880, 8192),
    ];

    private static readonly int[] LustreThroughputs = [125, 250, 500, 1000];

    public static void Validate(FederationConfig config, List<FederationError> errors)
    {
        var client = config.Client;
        CheckRegion(client.Region, "client.region", errors);
        var clientCidrOk = CheckVpcCidr(client.Cidr, client.MaxAzs, "client.cidr", errors);
        CheckFargateSize(client.RouterCpu, client.RouterMemoryMiB, "client", "routerCpu", "routerMemoryMiB", errors);
        CheckRange(client.RouterTasks, 1, 100, "client.routerTasks", errors);
        CheckRange(client.OpenSearchNodes, 1, 80, "client.openSearchNodes", errors);
        CheckRange(client.OpenSearchVolumeGiB, 10, 16384, "client.openSearchVolumeGiB", errors);
        CheckRange(client.MaxAzs, 2, 6, "client.maxAzs", errors);
        CheckRange(client.NatGateways, 1, client.MaxAzs, "client.natGateways", errors);
        if (client.OpenSearchNodes > 1 && client.OpenSearchNodes % 2 != 0)
        {
            errors.Add(new("client.openSearchNodes", $"{client.OpenSearchNodes} data nodes cannot be spread evenly over two availability zones; use an even number (or 1)"));
        }

        if (!SearchInstanceType().IsMatch(client.OpenSearchInstanceType))
        {
            errors.Add(new("client.openSearchInstanceType", $"'{client.OpenSearchInstanceType}' is not an OpenSearch instance type (like r6g.large.search)"));
        }

        if (client.CertificateArn is { } arn)
        {
            var match = CertificateArn().Match(arn);
            if (!match.Success)
            {
                errors.Add(new("client.certificateArn", $"'{arn}' is not an ACM certificate ARN"));
            }
            else if (match.Groups["region"].Value != client.Region)
            {
                errors.Add(new("client.certificateArn", $"the certificate is in {match.Groups["region"].Value}, but the NLB is in the client region {client.Region} (ACM certificates are regional)"));
            }
        }

        if (config.Workers.Count == 0)
        {
            errors.Add(new("workers", "at least one worker region is required"));
        }

        var regions = new Dictionary<string, string>(StringComparer.Ordinal);
        var cidrs = new List<(Ipv4Cidr Cidr, string Path)>();
        if (clientCidrOk)
        {
            cidrs.Add((client.Cidr, "client.cidr"));
        }

        for (var i = 0; i < config.Workers.Count; i++)
        {
            var worker = config.Workers[i];
            var path = $"workers[{i}]";
            CheckRegion(worker.Region, $"{path}.region", errors);
            if (worker.Region == client.Region)
            {
                errors.Add(new($"{path}.region", $"{worker.Region} is the client region (client.region); a worker region needs its own region"));
            }
            else if (regions.TryGetValue(worker.Region, out var firstPath))
            {
                errors.Add(new($"{path}.region", $"{worker.Region} is already used by {firstPath}; one worker pool per region"));
            }
            else
            {
                regions[worker.Region] = path;
            }

            if (CheckVpcCidr(worker.Cidr, worker.MaxAzs, $"{path}.cidr", errors))
            {
                foreach (var (other, otherPath) in cidrs)
                {
                    if (worker.Cidr.Overlaps(other))
                    {
                        errors.Add(new($"{path}.cidr", $"{worker.Cidr} overlaps {otherPath} ({other}); Transit Gateway routing needs disjoint CIDRs"));
                    }
                }

                cidrs.Add((worker.Cidr, $"{path}.cidr"));
            }

            CheckDataset(worker.Dataset, $"{path}.dataset", errors);
            CheckLustrePath(worker.LustreFileSystemPath, $"{path}.lustreFileSystemPath", errors);
            CheckRange(worker.Port, 1024, 65535, $"{path}.port", errors);
            CheckRange(worker.Cpu, 256, 196608, $"{path}.cpu", errors);
            CheckRange(worker.MemoryMiB, 512, 1048576, $"{path}.memoryMiB", errors);
            CheckRange(worker.SyncCpu, 256, 196608, $"{path}.syncCpu", errors);
            CheckRange(worker.SyncMemoryMiB, 512, 1048576, $"{path}.syncMemoryMiB", errors);
            CheckRange(worker.MinTasks, 1, 1000, $"{path}.minTasks", errors);
            CheckRange(worker.LocalWorkers, 1, 64, $"{path}.workers", errors);
            CheckRange(worker.MaxTasks, 1, 1000, $"{path}.maxTasks", errors);
            if (worker.MaxTasks < worker.MinTasks)
            {
                errors.Add(new($"{path}.maxTasks", $"{worker.MaxTasks} is below minTasks ({worker.MinTasks})"));
            }

            CheckRange(worker.CpuTargetPercent, 10, 95, $"{path}.cpuTargetPercent", errors);
            if (worker.MaxInstances is { } maxInstances)
            {
                CheckRange(maxInstances, 1, 1000, $"{path}.maxInstances", errors);
            }

            if (!Ec2InstanceType().IsMatch(worker.InstanceType))
            {
                errors.Add(new($"{path}.instanceType", $"'{worker.InstanceType}' is not an EC2 instance type (like m6i.xlarge)"));
            }

            var storage = worker.FsxFileSystemStorageGiB;
            if (storage != 1200 && (storage <= 0 || storage % 2400 != 0))
            {
                errors.Add(new($"{path}.fsxFileSystemStorageGiB", $"{storage} GiB is not a PERSISTENT_2 size (1200 or a multiple of 2400)"));
            }

            if (Array.IndexOf(LustreThroughputs, worker.FsxThroughputPerTiB) < 0)
            {
                errors.Add(new($"{path}.fsxThroughputPerTiB", $"{worker.FsxThroughputPerTiB} is not a PERSISTENT_2 throughput (125, 250, 500 or 1000 MB/s/TiB)"));
            }

            CheckRange(worker.MaxAzs, 2, 6, $"{path}.maxAzs", errors);
            CheckRange(worker.NatGateways, 1, worker.MaxAzs, $"{path}.natGateways", errors);
        }
    }

    private static void CheckRegion(string region, string path, List<FederationError> errors)
    {
        if (!RegionName().IsMatch(region))
        {
            errors.Add(new(path, $"'{region}' is not an AWS region name (like us-east-1)"));
        }
    }

    private static bool CheckVpcCidr(Ipv4Cidr cidr, int availabilityZones, string path, List<FederationError> errors)
    {
        if (cidr.PrefixLength is < 16 or > 28)
        {
            errors.Add(new(path, $"{cidr} has prefix /{cidr.PrefixLength}; an AWS VPC CIDR must be between /16 and /28"));
            return false;
        }

        var longest = SubnetLayout.LongestVpcPrefix(Math.Clamp(availabilityZones, 1, 8));
        if (cidr.PrefixLength > longest)
        {
            errors.Add(new(path, $"{cidr} is too small for public and private subnets in {availabilityZones} availability zones; use /{longest} or larger"));
            return false;
        }

        return true;
    }

    private static void CheckFargateSize(int cpu, int memory, string path, string cpuField, string memoryField, List<FederationError> errors)
    {
        foreach (var (sizeCpu, min, max, step) in FargateSizes)
        {
            if (sizeCpu != cpu)
            {
                continue;
            }

            if (memory < min || memory > max || (memory - min) % step != 0)
            {
                errors.Add(new($"{path}.{memoryField}", $"{memory} MiB is not a Fargate size for {cpu} CPU units ({min}-{max} MiB in steps of {step})"));
            }

            return;
        }

        errors.Add(new($"{path}.{cpuField}", $"{cpu} is not a Fargate CPU size (256, 512, 1024, 2048, 4096, 8192 or 16384)"));
    }

    private static void CheckRange(int value, int min, int max, string path, List<FederationError> errors)
    {
        if (value < min || value > max)
        {
            errors.Add(new(path, $"{value} is outside {min}..{max}"));
        }
    }

    private static void CheckDataset(string dataset, string path, List<FederationError> errors)
    {
        var match = S3Uri().Match(dataset);
        if (!match.Success)
        {
            errors.Add(new(path, $"'{dataset}' is not an S3 URI like s3://bucket or s3://bucket/prefix"));
        }
        else if (match.Groups["prefix"].Value.Contains("//", StringComparison.Ordinal))
        {
            errors.Add(new(path, $"'{dataset}' has an empty path segment"));
        }
    }

    private static void CheckLustrePath(string value, string path, List<FederationError> errors)
    {
        if (value.StartsWith('/') || value.EndsWith('/'))
        {
            errors.Add(new(path, $"'{value}' must be relative to the file system root, without leading or trailing '/'"));
            return;
        }

        foreach (var segment in value.Split('/'))
        {
            if (segment.Length == 0 || segment == "." || segment == ".." || !LustreSegment().IsMatch(segment))
            {
                errors.Add(new(path, $"'{value}' has an invalid path segment '{segment}' (letters, digits, '.', '_', '-' only; no '..')"));
                return;
            }
        }
    }

    [GeneratedRegex(@"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d{1,2}$", RegexOptions.CultureInvariant)]
    private static partial Regex RegionName();

    [GeneratedRegex(@"^s3://(?<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?<prefix>/.*)?$", RegexOptions.CultureInvariant)]
    private static partial Regex S3Uri();

    [GeneratedRegex(@"^[A-Za-z0-9._-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex LustreSegment();

    [GeneratedRegex(@"^[a-z][a-z0-9-]*\.[a-z0-9]+$", RegexOptions.CultureInvariant)]
    private static partial Regex Ec2InstanceType();

    [GeneratedRegex(@"^[a-z][a-z0-9-]*\.[a-z0-9]+\.search$", RegexOptions.CultureInvariant)]
    private static partial Regex SearchInstanceType();

    [GeneratedRegex(@"^arn:aws[a-z-]*:acm:(?<region>[a-z0-9-]+):\d{12}:certificate/[A-Za-z0-9-]+$", RegexOptions.CultureInvariant)]
    private static partial Regex CertificateArn();
}
