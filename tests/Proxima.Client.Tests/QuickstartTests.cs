using Proxima.Client.Tests.Infrastructure;
using Proxima.Tests.Infrastructure;

namespace Proxima.Client.Tests;

/// <summary>
/// Runs each snippet of README.md as written, from a folder whose <c>.proxima</c> is the test
/// federation's state (as a user runs them next to <c>proxima up</c>).
/// </summary>
[Collection("federation")]
public sealed class QuickstartTests(FederationFixture federation)
{
    private static readonly string Doc = Path.Combine(RepoPaths.Root, "README.md");

    [Fact]
    public async Task Curl_quickstart_returns_a_result_and_a_stac_collection()
    {
        var script = Path.Combine(WorkDir(), "quickstart.sh");
        await File.WriteAllTextAsync(script, "set -eu\n" + Snippet("curl"));
        var outcome = await Run.ProcessAsync("/bin/bash", [script], WorkDir());
        Assert.True(outcome.ExitCode == 0, outcome.Describe());
        Assert.Contains("\"results\"", outcome.Stdout);
        Assert.Contains("\"mean\"", outcome.Stdout);
        Assert.Contains("\"FeatureCollection\"", outcome.Stdout);
        Assert.Contains("reanalysis/era5/t2m", outcome.Stdout);
    }

    [Fact]
    public async Task Python_quickstart_runs_as_written()
    {
        var script = Path.Combine(WorkDir(), "quickstart.py");
        await File.WriteAllTextAsync(script, Snippet("python"));
        var outcome = await Run.ProcessAsync(Python.Interpreter, [script], WorkDir(),
            new Dictionary<string, string> { ["PYTHONPATH"] = Path.Combine(RepoPaths.Root, "Client", "python") });
        Assert.True(outcome.ExitCode == 0, outcome.Describe());
        Assert.Contains("<xarray.Dataset>", outcome.Stdout);
        Assert.Contains("Sydney", outcome.Stdout);
        Assert.Contains("degC", outcome.Stdout);
        Assert.Contains("us-east-1", outcome.Stdout);
    }

    [Fact]
    public async Task Csharp_quickstarts_run_as_written_console_app_and_interactive_cell()
    {
        // The console app is a .NET 10 file-based app saved in the checkout's root, as the doc says.
        var console = Path.Combine(RepoPaths.Root, $"quickstart-test-{Environment.ProcessId}.cs");
        await File.WriteAllTextAsync(console, Snippet("csharp-console"));
        try
        {
            var outcome = await Run.ProcessAsync("dotnet", ["run", "--file", console], WorkDir(), timeout: TimeSpan.FromMinutes(4));
            Assert.True(outcome.ExitCode == 0, outcome.Describe());
            Assert.Contains("reanalysis/era5/t2m in us-east-1", outcome.Stdout);
            Assert.Contains("wrote daily-max.csv", outcome.Stdout);
            Assert.Contains("rejected: unknown_dataset at datasets[0]", outcome.Stdout);
            var csv = await File.ReadAllLinesAsync(Path.Combine(WorkDir(), "daily-max.csv"));
            Assert.Equal("point,time,latitude,longitude,max", csv[0]);
            Assert.Equal(1 + (4 * 10), csv.Length);
        }
        finally
        {
            File.Delete(console);
        }

        // The notebook cell, verbatim: packed as the README says, its #i/#r directives restored from that
        // feed and the C# run by Roslyn's scripting engine (the .NET Interactive kernel is not on this
        // environment's mirror; CellRunner does what the kernel does with such a cell).
        var pack = await Run.ProcessAsync("dotnet", ["pack", "Client", "-c", "Release", "-nologo"], RepoPaths.Root, timeout: TimeSpan.FromMinutes(4));
        Assert.True(pack.ExitCode == 0, pack.Describe());
        var cellText = Snippet("csharp-interactive");
        Assert.Contains("#r \"nuget: Proxima.Client, 0.1.0\"", cellText);
        var cell = Path.Combine(WorkDir(), "interactive-cell.csx");
        await File.WriteAllTextAsync(cell, cellText.Replace("/path/to/proxima", RepoPaths.Root, StringComparison.Ordinal));
        var runner = Path.Combine(AppContext.BaseDirectory, "..", "..", "CellRunner", Path.GetFileName(AppContext.BaseDirectory.TrimEnd('/')), "CellRunner.dll");
        Assert.True(File.Exists(runner), $"CellRunner not built at {runner}");
        var run = await Run.ProcessAsync("dotnet", [runner, cell], WorkDir(), timeout: TimeSpan.FromMinutes(4));
        Assert.True(run.ExitCode == 0, run.Describe());

        // The cell ran the SDK just packed (restored into a private folder, never an older cached 0.1.0).
        using (var nupkg = System.IO.Compression.ZipFile.OpenRead(Path.Combine(RepoPaths.Root, "artifacts", "package", "release", "Proxima.Client.0.1.0.nupkg")))
        {
            var entry = nupkg.Entries.Single(e => e.FullName.EndsWith("/Proxima.Client.dll", StringComparison.Ordinal));
            await using var dll = entry.Open();
            var packed = Convert.ToHexString(await System.Security.Cryptography.SHA256.HashDataAsync(dll));
            Assert.Contains($"cell: restored Proxima.Client.dll sha256 {packed}", run.Stderr);
        }

        Assert.Contains("100% (", run.Stdout);
        Assert.Contains("reanalysis/era5/t2m:t2m (latitude, longitude) shape [11, 15] ops [mean, std] degC", run.Stdout);
        Assert.Contains("165 rows", run.Stdout);
    }

    private string WorkDir()
    {
        var dir = Path.Combine(federation.Work, "quickstart");
        Directory.CreateDirectory(dir);
        var link = Path.Combine(dir, ".proxima");
        if (!Directory.Exists(link))
        {
            Directory.CreateSymbolicLink(link, federation.State);
        }

        return dir;
    }

    /// <summary>The fenced block after <c>&lt;!-- quickstart:NAME --&gt;</c> in README.md.</summary>
    private static string Snippet(string name)
    {
        var lines = File.ReadAllLines(Doc);
        var marker = Array.IndexOf(lines, $"<!-- quickstart:{name} -->");
        Assert.True(marker >= 0, $"README.md has no '<!-- quickstart:{name} -->' block");
        var start = marker + 2;
        Assert.StartsWith("```", lines[marker + 1]);
        var end = Array.FindIndex(lines, start, l => l.StartsWith("```", StringComparison.Ordinal));
        return string.Join('\n', lines[start..end]) + "\n";
    }
}
