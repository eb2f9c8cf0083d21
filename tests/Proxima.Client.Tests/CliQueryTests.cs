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
        Assert.Contains("query reanalysis/era5/t2m on ", outcome.Stderr);
        Assert.Contains("progress: 100% (10/10 chunks", outcome.Stderr);
        Assert.DoesNotContain('\x1b', outcome.Stderr);
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
    public async Task On_a_terminal_query_draws_a_progress_bar_that_ends_full_at_100_percent()
    {
        // A pseudo-terminal (util-linux script) so stderr is a TTY, as in an interactive shell.
        var spec = Path.Combine(RepoPaths.Root, "Cli", "Demo", "queries", "era5-mean-std.json");
        var output = Path.Combine(federation.Work, "cli-tty.json");
        var command = string.Join(' ', new[] { "dotnet", RepoPaths.ProximaDll, "query", spec, "--state", federation.State, "-o", output }.Select(Quote));
        var outcome = await Run.ProcessAsync("script", ["-qec", command, "/dev/null"], federation.Work,
            new Dictionary<string, string> { ["TERM"] = "xterm-256color", ["COLUMNS"] = "120" });
        Assert.True(outcome.ExitCode == 0, outcome.Describe());
        var screen = System.Text.RegularExpressions.Regex.Replace(outcome.Stdout, "\x1b\\[[0-9;?]*[A-Za-z]|\x1b[=>]", "");
        var frames = screen.Split('\r', '\n').Where(l => l.Contains('━')).ToList();
        Assert.True(frames.Count >= 1, "no progress bar drawn:\n" + screen);
        Assert.Matches(@"^\d+/\d+ chunks, [0-9.]+ MB read ━+ 100%", frames[^1].Trim());
        Assert.Contains("query reanalysis/era5/t2m on ", screen);
        Assert.Contains("wrote " + output, screen);
        Assert.Equal(11 * 15, JsonDocument.Parse(await File.ReadAllBytesAsync(output)).RootElement.GetProperty("results")[0].GetProperty("data").GetProperty("mean").GetArrayLength());
    }

    [Fact]
    public async Task Bad_spec_files_name_the_file_the_place_and_what_was_expected()
    {
        var cases = new (string Name, string? Text, string[] Expected)[]
        {
            ("missing.json", null, ["spec missing.json: no such file", "expected a QuerySpec JSON file"]),
            ("syntax.json", "{\"datasets\": [\"reanalysis/era5/t2m\"],\n  \"variable\" \"t2m\"}", ["spec syntax.json line 2, column 14: not valid JSON", "expected a QuerySpec JSON object"]),
            ("array.json", "[1, 2]", ["spec array.json: got a JSON array", "expected a QuerySpec JSON object"]),
            ("type.json", "{\"datasets\": \"reanalysis/era5/t2m\", \"variable\": \"t2m\"}", ["spec type.json", "'datasets': expected an array"]),
            ("field.json", "{\"datasets\": [\"reanalysis/era5/t2m\"], \"variable\": \"t2m\", \"reduse\": {}}", ["spec field.json", "'reduse'", "expected datasets, variable"]),
        };
        foreach (var (name, text, expected) in cases)
        {
            var path = Path.Combine(federation.Work, name);
            if (text is not null)
            {
                await File.WriteAllTextAsync(path, text);
            }

            var outcome = await Run.ProcessAsync("dotnet", [RepoPaths.ProximaDll, "query", name, "--state", federation.State], federation.Work);
            Assert.True(outcome.ExitCode == 2, name + ": " + outcome.Describe());
            foreach (var e in expected)
            {
                Assert.True(outcome.Stderr.Contains(e, StringComparison.Ordinal), $"{name}: stderr lacks '{e}':\n{outcome.Stderr}");
            }
        }
    }

    [Fact]
    public async Task Bad_output_paths_and_an_unreachable_router_say_what_was_expected()
    {
        var spec = Path.Combine(RepoPaths.Root, "Cli", "Demo", "queries", "era5-mean-std.json");
        var extension = await ProximaAsync("query", spec, "--state", federation.State, "-o", "out.xlsx");
        Assert.Equal(2, extension.ExitCode);
        Assert.Contains("error: -o out.xlsx: unknown extension '.xlsx'; expected .json, .csv or .nc", extension.Stderr);

        var folder = await ProximaAsync("query", spec, "--state", federation.State, "-o", Path.Combine(federation.Work, "no-such-folder", "out.nc"));
        Assert.Equal(2, folder.ExitCode);
        Assert.Contains("no-such-folder does not exist; expected a file in an existing folder", folder.Stderr);

        var port = ClosedPort();
        var http = await ProximaAsync("query", spec, "--router", $"http://127.0.0.1:{port}");
        Assert.True(http.ExitCode == 1, http.Describe());
        Assert.Contains($"error: --router: cannot reach the router at http://127.0.0.1:{port}/", http.Stderr);
        Assert.Contains("expected a running router", http.Stderr);

        // A state folder whose federation has gone (its federation.json left behind): the gRPC path.
        var stale = Path.Combine(federation.Work, "stale-state");
        Directory.CreateDirectory(stale);
        await File.WriteAllTextAsync(Path.Combine(stale, "federation.json"), $$"""
            {"configPath":"x","dataRoot":"y","routerUrl":"http://127.0.0.1:{{port}}/","routerGrpcUrl":"http://127.0.0.1:{{port}}/","supervisorPid":1,"routerPid":1,"workers":[]}
            """);
        var grpc = await ProximaAsync("query", spec, "--state", stale);
        Assert.True(grpc.ExitCode == 1, grpc.Describe());
        Assert.Contains($"error: the router of --state {stale}: Cannot reach the router at http://127.0.0.1:{port}/", grpc.Stderr);
        Assert.Contains("expected a running router", grpc.Stderr);

        var none = await ProximaAsync("query", spec, "--state", Path.Combine(federation.Work, "never-started"));
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("federation.json is missing); expected --router URL, or a 'proxima up' started with the same --state", none.Stderr);
    }

    [Theory]
    [InlineData("--bbox", "150,-35,152", "error: --bbox: bbox must be 4 comma-separated numbers west,south,east,north (got '150,-35,152')")]
    [InlineData("--bbox", "150,-35,east,-33", "error: --bbox: bbox value 3 ('east') is not a number")]
    [InlineData("--bbox", "150,-33,152,-35", "error: --bbox: bbox latitudes must satisfy -90 <= south <= north <= 90 (got south=-33, north=-35)")]
    [InlineData("--time", "2000-13-01/2000-12-31", "error: --time: '2000-13-01' is not an RFC 3339 date-time (e.g. 2000-01-01T00:00:00Z)")]
    [InlineData("--time", "2001-01-01/2000-01-01", "error: --time: datetime interval start '2001-01-01' is after its end '2000-01-01'")]
    public async Task Catalog_search_rejects_a_bad_bbox_or_time_naming_the_option_and_the_expected_form(string option, string value, string expected)
    {
        var outcome = await ProximaAsync("catalog", "search", option, value, "--state", federation.State);
        Assert.True(outcome.ExitCode == 2, outcome.Describe());
        Assert.Contains(expected, outcome.Stderr);
    }

    [Fact]
    public async Task Catalog_search_by_bbox_and_time_prints_the_matching_dataset()
    {
        var outcome = await ProximaAsync("catalog", "search", "--bbox", "150,-35,152,-33", "--time", "2000-01-01/2000-12-31", "--state", federation.State);
        Assert.True(outcome.ExitCode == 0, outcome.Describe());
        Assert.Contains("1 dataset(s) match", outcome.Stdout);
        Assert.Contains(FederationFixture.Era5 + "  [us-east-1]", outcome.Stdout);
        Assert.DoesNotContain(FederationFixture.Cmip6, outcome.Stdout);
    }

    private static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    [Fact]
    public async Task A_bad_query_prints_the_field_and_exits_non_zero()
    {
        var spec = Path.Combine(federation.Work, "bad.json");
        await File.WriteAllTextAsync(spec, """{"datasets":["no/such"],"variable":"t2m"}""");
        var outcome = await ProximaAsync("query", spec, "--state", federation.State);
        Assert.Equal(1, outcome.ExitCode);
        Assert.Contains("error 400 (unknown_dataset) at datasets[0]", outcome.Stderr);

    }
}
