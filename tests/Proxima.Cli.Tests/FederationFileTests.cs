using System.Text;
using Proxima.Cli.Local;

namespace Proxima.Cli.Tests;

public sealed class FederationFileTests
{
    private const string Valid = """
        {
          "client":  { "region": "eu-west-2", "cidr": "10.0.0.0/16" },
          "workers": [
            { "region": "us-east-1", "cidr": "10.1.0.0/16", "dataset": "s3://era5-pds", "lustreFileSystemPath": "era5-pds" },
            { "region": "us-west-2", "cidr": "10.2.0.0/16", "dataset": "s3://cmip6-pds", "lustreFileSystemPath": "cmip6", "workers": 3 }
          ]
        }
        """;

    [Fact]
    public void The_repository_federation_file_is_valid()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Proxima.slnx")))
        {
            root = Path.GetDirectoryName(root)!;
        }

        var file = FederationFile.Load(Path.Combine(root, "bin", "variables.json"));
        Assert.Equal("eu-west-2", file.Client.Region);
        Assert.NotEmpty(file.Workers);
    }

    [Fact]
    public void Parses_regions_and_pool_sizes()
    {
        var file = Parse(Valid);
        Assert.Equal(["us-east-1", "us-west-2"], file.Workers.Select(w => w.Region));
        Assert.Equal(1, file.Workers[0].Workers);
        Assert.Equal(3, file.Workers[1].Workers);
    }

    [Theory]
    [InlineData("\"cidr\": \"10.1.0.0/16\", \"dataset\": \"s3://era5-pds\"", "\"cidr\": \"10.0.128.0/17\", \"dataset\": \"s3://era5-pds\"", "workers[0].cidr", "overlaps")]
    [InlineData("\"lustreFileSystemPath\": \"era5-pds\" }", "\"lustreFileSystemPath\": \"era5-pds\", \"colour\": 1 }", "workers[0].colour", "unknown field")]
    [InlineData("\"region\": \"us-west-2\"", "\"region\": \"us-east-1\"", "workers[1].region", "us-east-1")]
    [InlineData("\"region\": \"us-west-2\"", "\"region\": \"eu-west-2\"", "workers[1].region", "client")]
    [InlineData("\"cidr\": \"10.2.0.0/16\"", "\"cidr\": \"10.2.0.0/33\"", "workers[1].cidr", "10.2.0.0/33")]
    [InlineData("\"workers\": 3", "\"workers\": 0", "workers[1].workers", "64")]
    public void Invalid_files_name_the_field(string find, string replace, string field, string problem)
    {
        Assert.Contains(find, Valid);
        var ex = Assert.Throws<FederationFileException>(() => Parse(Valid.Replace(find, replace, StringComparison.Ordinal)));
        Assert.Equal(field, ex.Field);
        Assert.Contains(field, ex.Message, StringComparison.Ordinal);
        Assert.Contains(problem, ex.Message, StringComparison.Ordinal);
    }

    private static FederationFile Parse(string json) => FederationFile.Parse(Encoding.UTF8.GetBytes(json), "test.json");
}
