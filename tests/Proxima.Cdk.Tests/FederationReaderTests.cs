using Proxima.Federation;
using Xunit;

namespace Proxima.Cdk.Tests;

public sealed class FederationReaderTests
{
    private const string Valid = """
        {
          "client":  { "region": "eu-west-2", "cidr": "10.0.0.0/16" },
          "workers": [
            { "region": "us-east-1", "cidr": "10.1.0.0/16", "dataset": "s3://era5-pds", "lustreFileSystemPath": "era5-pds" },
            { "region": "us-west-2", "cidr": "10.2.0.0/16", "dataset": "s3://cmip6-pds/CMIP6/ScenarioMIP/MOHC", "lustreFileSystemPath": "CMIP6/ScenarioMIP/MOHC" }
          ]
        }
        """;

    [Fact]
    public void Reads_the_design_sample_with_documented_defaults()
    {
        var config = FederationReader.Parse(Valid, "variables.json");

        Assert.Equal("eu-west-2", config.Client.Region);
        Assert.Equal("10.0.0.0/16", config.Client.Cidr.ToString());
        Assert.Equal(2, config.Workers.Count);
        var worker = config.Workers[1];
        Assert.Equal("us-west-2", worker.Region);
        Assert.Equal("s3://cmip6-pds/CMIP6/ScenarioMIP/MOHC", worker.Dataset);
        Assert.Equal("CMIP6/ScenarioMIP/MOHC", worker.LustreFileSystemPath);
        Assert.Equal(7443, worker.Port);
        Assert.Equal(1, worker.MinTasks);
        Assert.Equal(16, worker.MaxTasks);
        Assert.Equal(16, worker.EffectiveMaxInstances);
        Assert.Equal(1200, worker.FsxFileSystemStorageGiB);
    }

    [Fact]
    public void Reads_the_repository_federation_file()
    {
        var path = FederationReader.ResolvePath(null, AppContext.BaseDirectory);
        var config = FederationReader.ReadFile(path);

        Assert.EndsWith(Path.Combine("bin", "variables.json"), path, StringComparison.Ordinal);
        Assert.NotEmpty(config.Workers);
    }

    [Fact]
    public void Environment_path_wins_over_the_repository_file()
    {
        var file = Path.Combine(Path.GetTempPath(), $"proxima-fed-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, Valid);
        try
        {
            Assert.Equal(file, FederationReader.ResolvePath(file, "/"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Reads_optional_worker_sizes_and_scaling_bounds()
    {
        var json = Valid.Replace(
            "\"lustreFileSystemPath\": \"era5-pds\" }",
            "\"lustreFileSystemPath\": \"era5-pds\", \"cpu\": 8192, \"memoryMiB\": 30720, \"minTasks\": 2, \"maxTasks\": 40, \"port\": 9443, \"maxInstances\": 10, \"fsxFileSystemStorageGiB\": 4800, \"fsxThroughputPerTiB\": 500, \"instanceType\": \"c6i.4xlarge\", \"cpuTargetPercent\": 75 }",
            StringComparison.Ordinal);
        var worker = FederationReader.Parse(json, "variables.json").Workers[0];

        Assert.Equal(8192, worker.Cpu);
        Assert.Equal(30720, worker.MemoryMiB);
        Assert.Equal(2, worker.MinTasks);
        Assert.Equal(40, worker.MaxTasks);
        Assert.Equal(9443, worker.Port);
        Assert.Equal(10, worker.EffectiveMaxInstances);
        Assert.Equal(4800, worker.FsxFileSystemStorageGiB);
        Assert.Equal(500, worker.FsxThroughputPerTiB);
        Assert.Equal("c6i.4xlarge", worker.InstanceType);
        Assert.Equal(75, worker.CpuTargetPercent);
    }

    [Theory]
    // Overlapping CIDRs: with the client, and between workers.
    [InlineData("\"cidr\": \"10.1.0.0/16\", \"dataset\": \"s3://era5-pds\"", "\"cidr\": \"10.0.128.0/17\", \"dataset\": \"s3://era5-pds\"", "workers[0].cidr", "overlaps client.cidr")]
    [InlineData("\"cidr\": \"10.2.0.0/16\"", "\"cidr\": \"10.1.4.0/23\"", "workers[1].cidr", "overlaps workers[0].cidr")]
    // Duplicate regions and a worker in the client region.
    [InlineData("\"region\": \"us-west-2\"", "\"region\": \"us-east-1\"", "workers[1].region", "already used by workers[0]")]
    [InlineData("\"region\": \"us-east-1\"", "\"region\": \"eu-west-2\"", "workers[0].region", "is the client region")]
    // Bad CIDRs.
    [InlineData("\"cidr\": \"10.2.0.0/16\"", "\"cidr\": \"10.2.0.0\"", "workers[1].cidr", "not a CIDR block")]
    [InlineData("\"cidr\": \"10.2.0.0/16\"", "\"cidr\": \"10.2.300.0/16\"", "workers[1].cidr", "invalid address octet '300'")]
    [InlineData("\"cidr\": \"10.2.0.0/16\"", "\"cidr\": \"10.2.0.1/16\"", "workers[1].cidr", "did you mean 10.2.0.0/16")]
    [InlineData("\"cidr\": \"10.0.0.0/16\"", "\"cidr\": \"10.0.0.0/8\"", "client.cidr", "between /16 and /28")]
    [InlineData("\"cidr\": \"10.2.0.0/16\"", "\"cidr\": \"10.2.0.0/24\"", "workers[1].cidr", "too small for public and private subnets in 2 availability zones; use /23 or larger")]
    // Unknown fields, anywhere.
    [InlineData("\"lustreFileSystemPath\": \"era5-pds\"", "\"lustreFileSystemPath\": \"era5-pds\", \"maxTask\": 3", "workers[0].maxTask", "unknown field")]
    [InlineData("\"region\": \"eu-west-2\"", "\"region\": \"eu-west-2\", \"vpc\": \"x\"", "client.vpc", "unknown field")]
    [InlineData("\"client\":", "\"extra\": 1, \"client\":", "extra", "unknown field")]
    // Types, ranges and formats.
    [InlineData("\"region\": \"us-west-2\"", "\"region\": \"mars-1\"", "workers[1].region", "not an AWS region")]
    [InlineData("\"dataset\": \"s3://era5-pds\"", "\"dataset\": \"https://era5-pds\"", "workers[0].dataset", "not an S3 URI")]
    [InlineData("\"lustreFileSystemPath\": \"era5-pds\"", "\"lustreFileSystemPath\": \"../etc\"", "workers[0].lustreFileSystemPath", "invalid path segment")]
    [InlineData("\"lustreFileSystemPath\": \"era5-pds\"", "\"lustreFileSystemPath\": \"/era5-pds\"", "workers[0].lustreFileSystemPath", "relative")]
    [InlineData("\"lustreFileSystemPath\": \"era5-pds\"", "\"lustreFileSystemPath\": \"era5-pds\", \"minTasks\": 4, \"maxTasks\": 2", "workers[0].maxTasks", "below minTasks")]
    [InlineData("\"lustreFileSystemPath\": \"era5-pds\"", "\"lustreFileSystemPath\": \"era5-pds\", \"maxTasks\": \"16\"", "workers[0].maxTasks", "must be an integer")]
    [InlineData("\"lustreFileSystemPath\": \"era5-pds\"", "\"lustreFileSystemPath\": \"era5-pds\", \"port\": 988", "workers[0].port", "outside 1024..65535")]
    [InlineData("\"lustreFileSystemPath\": \"era5-pds\"", "\"lustreFileSystemPath\": \"era5-pds\", \"fsxFileSystemStorageGiB\": 2000", "workers[0].fsxFileSystemStorageGiB", "PERSISTENT_2 size")]
    [InlineData("\"lustreFileSystemPath\": \"era5-pds\"", "\"lustreFileSystemPath\": \"era5-pds\", \"fsxThroughputPerTiB\": 200", "workers[0].fsxThroughputPerTiB", "PERSISTENT_2 throughput")]
    [InlineData("\"lustreFileSystemPath\": \"era5-pds\"", "\"lustreFileSystemPath\": \"era5-pds\", \"autoImport\": \"yes\"", "workers[0].autoImport", "must be true or false")]
    [InlineData("\"cidr\": \"10.0.0.0/16\" }", "\"cidr\": \"10.0.0.0/16\", \"routerCpu\": 1024, \"routerMemoryMiB\": 1024 }", "client.routerMemoryMiB", "not a Fargate size")]
    [InlineData("\"cidr\": \"10.0.0.0/16\" }", "\"cidr\": \"10.0.0.0/16\", \"certificateArn\": \"arn:aws:acm:us-east-1:123456789012:certificate/abc-123\" }", "client.certificateArn", "ACM certificates are regional")]
    [InlineData("\"cidr\": \"10.0.0.0/16\" }", "\"cidr\": \"10.0.0.0/16\", \"openSearchNodes\": 3 }", "client.openSearchNodes", "even number")]
    public void Invalid_file_names_the_field(string find, string replace, string field, string reason)
    {
        var json = ReplaceFirst(Valid, find, replace);
        var ex = Assert.Throws<FederationException>(() => FederationReader.Parse(json, "bad.json"));

        var error = Assert.Single(ex.Errors, e => e.Path == field);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.Contains($"{field}: ", ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("Invalid federation file bad.json", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_required_fields_are_each_named()
    {
        var json = """{ "client": { "region": "eu-west-2" }, "workers": [ { "region": "us-east-1", "cidr": "10.1.0.0/16" } ] }""";
        var ex = Assert.Throws<FederationException>(() => FederationReader.Parse(json, "bad.json"));

        Assert.Contains(ex.Errors, e => e.Path == "client.cidr" && e.Message == "is required");
        Assert.Contains(ex.Errors, e => e.Path == "workers[0].dataset" && e.Message == "is required");
        Assert.Contains(ex.Errors, e => e.Path == "workers[0].lustreFileSystemPath" && e.Message == "is required");
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var json = """
            { "client": { "region": "eu-west-2", "cidr": "10.0.0.0/16" },
              "workers": [
                { "region": "eu-west-2", "cidr": "10.0.0.0/16", "dataset": "s3://a-bucket", "lustreFileSystemPath": "a" },
                { "region": "us-east-1", "cidr": "10.1.0.0/16", "dataset": "s3://b-bucket", "lustreFileSystemPath": "b", "colour": "red" } ] }
            """;
        var ex = Assert.Throws<FederationException>(() => FederationReader.Parse(json, "bad.json"));

        Assert.Contains(ex.Errors, e => e.Path == "workers[0].region");
        Assert.Contains(ex.Errors, e => e.Path == "workers[1].colour");
    }

    [Fact]
    public void Empty_worker_list_is_rejected()
    {
        var ex = Assert.Throws<FederationException>(() =>
            FederationReader.Parse("""{ "client": { "region": "eu-west-2", "cidr": "10.0.0.0/16" }, "workers": [] }""", "bad.json"));

        Assert.Contains(ex.Errors, e => e.Path == "workers" && e.Message.Contains("at least one", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("{ \"client\": ", "$")]
    [InlineData("[]", "$")]
    [InlineData("{ \"client\": 3, \"workers\": [] }", "client")]
    [InlineData("{ \"client\": { \"region\": \"eu-west-2\", \"cidr\": \"10.0.0.0/16\" }, \"workers\": {} }", "workers")]
    [InlineData("{ \"client\": { \"region\": \"eu-west-2\", \"cidr\": \"10.0.0.0/16\" }, \"workers\": [ 7 ] }", "workers[0]")]
    public void Malformed_json_is_a_located_error_not_a_crash(string json, string path)
    {
        var ex = Assert.Throws<FederationException>(() => FederationReader.Parse(json, "bad.json"));

        Assert.Contains(ex.Errors, e => e.Path == path);
    }

    [Fact]
    public void Unreadable_file_is_a_federation_error()
    {
        var ex = Assert.Throws<FederationException>(() => FederationReader.ReadFile("/nonexistent/proxima/variables.json"));

        Assert.Equal("$", Assert.Single(ex.Errors).Path);
    }

    private static string ReplaceFirst(string text, string find, string replace)
    {
        var index = text.IndexOf(find, StringComparison.Ordinal);
        Assert.True(index >= 0, $"test setup: '{find}' not in the sample");
        return string.Concat(text.AsSpan(0, index), replace, text.AsSpan(index + find.Length));
    }
}
