using System.Diagnostics;
using Xunit;

namespace Proxima.Cdk.Tests;

/// <summary>The CDK app as `cdk synth` runs it: a process reading PROXIMA_VARIABLES and writing to CDK_OUTDIR.</summary>
public sealed class ProgramTests
{
    private static readonly string RepositoryRoot = ProximaApp.FindRepositoryRoot(AppContext.BaseDirectory);

    [Theory]
    [InlineData("""{ "client": { "region": "eu-west-2", "cidr": "10.0.0.0/16" }, "workers": [ { "region": "us-east-1", "cidr": "10.0.4.0/23", "dataset": "s3://era5-pds", "lustreFileSystemPath": "era5-pds" } ] }""", "workers[0].cidr: 10.0.4.0/23 overlaps client.cidr")]
    [InlineData("""{ "client": { "region": "eu-west-2", "cidr": "10.0.0.0/16" }, "workers": [ { "region": "us-east-1", "cidr": "10.1.0.0/16", "dataset": "s3://a-b", "lustreFileSystemPath": "a" }, { "region": "us-east-1", "cidr": "10.2.0.0/16", "dataset": "s3://c-d", "lustreFileSystemPath": "c" } ] }""", "workers[1].region: us-east-1 is already used by workers[0]")]
    [InlineData("""{ "client": { "region": "eu-west-2", "cidr": "10.0.0.0/16" }, "workers": [ { "region": "eu-west-2", "cidr": "10.1.0.0/16", "dataset": "s3://a-b", "lustreFileSystemPath": "a" } ] }""", "workers[0].region: eu-west-2 is the client region")]
    [InlineData("""{ "client": { "region": "eu-west-2", "cidr": "10.0.0.0/16" }, "workers": [ { "region": "us-east-1", "cidr": "10.1.0.0/33", "dataset": "s3://a-b", "lustreFileSystemPath": "a" } ] }""", "workers[0].cidr: '10.1.0.0/33' has an invalid prefix length")]
    [InlineData("""{ "client": { "region": "eu-west-2", "cidr": "10.0.0.0/16" }, "workers": [ { "region": "us-east-1", "cidr": "10.1.0.0/16", "dataset": "s3://a-b", "lustreFileSystemPath": "a", "mimTasks": 2 } ] }""", "workers[0].mimTasks: unknown field")]
    [InlineData("""{ "client": { "region": "eu-west-2", "cidr": "10.0.0.0/16" }, "workers": [ { "region": "us-east-1", "cidr": "10.1.0.0/16", "dataset": "s3://a-b", "lustreFileSystemPath": "a" }, { "region": "us-west-2", "cidr": "10.2.0.0/16", "dataset": "s3://c-d", "lustreFileSystemPath": "c", "port": 9443 } ] }""", "workers[1].port: is 9443 but workers[0].port is 7443")]
    public void Invalid_federation_file_fails_synthesis_naming_the_field(string json, string expected)
    {
        var (exitCode, _, stderr, outdir) = RunApp(json);
        try
        {
            Assert.Equal(1, exitCode);
            Assert.Contains(expected, stderr, StringComparison.Ordinal);
            Assert.False(Directory.Exists(outdir) && Directory.GetFiles(outdir, "*.template.json").Length > 0, "no template may be written for an invalid file");
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(outdir)!, recursive: true);
        }
    }

    [Fact]
    public void Valid_federation_file_synthesizes_one_template_per_region_into_cdk_outdir()
    {
        var json = File.ReadAllText(Path.Combine(RepositoryRoot, "bin", "variables.json"));
        var (exitCode, _, stderr, outdir) = RunApp(json);
        try
        {
            Assert.True(exitCode == 0, stderr);
            var templates = Directory.GetFiles(outdir, "*.template.json").Select(Path.GetFileName).Order().ToList();
            Assert.Equal(["Proxima-Client-eu-west-2.template.json", "Proxima-Worker-us-east-1.template.json", "Proxima-Worker-us-west-2.template.json"], templates);
            Assert.True(File.Exists(Path.Combine(outdir, "manifest.json")));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(outdir)!, recursive: true);
        }
    }

    [Fact]
    public void Cdk_json_runs_the_app_project()
    {
        var cdkJson = File.ReadAllText(Path.Combine(RepositoryRoot, "cdk", "cdk.json"));
        Assert.Contains("\"app\": \"dotnet run --project Proxima.Cdk.csproj\"", cdkJson, StringComparison.Ordinal);
    }

    private static (int ExitCode, string Stdout, string Stderr, string Outdir) RunApp(string federationJson)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"proxima-cdk-run-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, "variables.json");
        File.WriteAllText(file, federationJson);
        var outdir = Path.Combine(dir, "cdk.out");

        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.Combine(RepositoryRoot, "cdk"),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(typeof(ProximaApp).Assembly.Location);
        start.Environment["PROXIMA_VARIABLES"] = file;
        start.Environment["CDK_OUTDIR"] = outdir;
        start.Environment["CDK_DEFAULT_ACCOUNT"] = SynthesisFixture.Account;
        // Do not copy the repository into the temporary assembly.
        start.Environment["CDK_CONTEXT_JSON"] = """{"aws:cdk:disable-asset-staging": true}""";

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the CDK app did not finish in 2 minutes");
        }

        return (process.ExitCode, stdout.Result, stderr.Result, outdir);
    }
}
