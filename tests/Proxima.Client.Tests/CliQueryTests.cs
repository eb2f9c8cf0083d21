using System.Text.Json;
using Proxima.Client.Tests.Infrastructure;
using Proxima.Tests.Infrastructure;

namespace Proxima.Client.Tests;

/// <summary><c>proxima query</c> against the federation: progress lines over gRPC, -o by extension, errors with their field.</summary>
[Collection("federation")]
public sealed class CliQueryTests(FederationFixture federation)
{
    private Task<Run.Outcome> ProximaAsync(params string[] args) =>
        Run.ProcessAsync("dotnet", [RepoPaths.ProximaDll, .. args], federation.Work);

    [Fact]
    public async Task Query_prints_plain_progress_lines_when_not_on_a_terminal_and_writes_the_json_answer()
    {
        var spec = Path.Combine(RepoPaths.Root, "Cli", "Demo", "queries", "era5-mean-std.json");
        var output = Path.Combine(federation.Work, "cli-mean.json");
        var outcome = await ProximaAsync("query", spec, "--state", federation.State, "-o", output);
        Assert.True(outcome.ExitCode == 0, outcome.Describe());
        Assert.Contains("progress: 100% (", outcome.Stderr);
        Assert.Contains("wrote " + output, outcome.Stderr);

        using var cli = JsonDocument.Parse(await File.ReadAllBytesAsync(output));
        using var client = federation.CreateClient();
        var http = (await client.QueryJsonAsync(await File.ReadAllTextAsync(spec))).Single();
        var result = cli.RootElement.GetProperty("results")[0];
        Assert.Equal(http.Dims, result.GetProperty("dims").EnumerateArray().Select(d => d.GetString()));
        Assert.Equal("degC", result.GetProperty("attrs").GetProperty("units").GetString());
        var mean = result.GetProperty("data").GetProperty("mean").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var expected = http["mean"].ToArray();
        Assert.Equal(expected.Length, mean.Length);
        for (var i = 0; i < mean.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - mean[i]) <= 1e-12 * Math.Abs(expected[i]), $"mean[{i}]");
        }
    }

    [Fact]
    public async Task Query_to_csv_follows_the_extension_and_streams_progress()
    {
        var output = Path.Combine(federation.Work, "cli-mean.csv");
        var outcome = await ProximaAsync("query", Path.Combine(RepoPaths.Root, "Cli", "Demo", "queries", "era5-mean-std.json"), "--state", federation.State, "-o", output);
        Assert.True(outcome.ExitCode == 0, outcome.Describe());
        Assert.Contains("progress: 100% (", outcome.Stderr);
        var lines = await File.ReadAllLinesAsync(output);
        Assert.Equal("dataset,variable,latitude,longitude,mean,std", lines[0]);
        Assert.Equal(1 + (11 * 15), lines.Length);
    }

    [Fact]
    public async Task A_bad_query_prints_the_field_and_exits_non_zero()
    {
        var spec = Path.Combine(federation.Work, "bad.json");
        await File.WriteAllTextAsync(spec, """{"datasets":["no/such"],"variable":"t2m"}""");
        var outcome = await ProximaAsync("query", spec, "--state", federation.State);
        Assert.Equal(1, outcome.ExitCode);
        Assert.Contains("error 400 (unknown_dataset) at datasets[0]", outcome.Stderr);

        var unknown = await ProximaAsync("query", spec, "--state", federation.State, "-o", "out.xlsx");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("expected .json, .csv or .nc", unknown.Stderr);
    }
}
