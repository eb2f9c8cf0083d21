using System.Text.Json;
using Proxima.Tests.Infrastructure;

namespace Proxima.FunctionalTests;

public sealed class ShutdownTests
{
    [Fact]
    public async Task Sigterm_stops_the_whole_process_tree_with_exit_code_0()
    {
        using var temp = new TempDirectory();
        var config = temp.Combine("variables.json");
        await File.WriteAllTextAsync(config, """
            {
              "client":  { "region": "eu-west-2", "cidr": "10.0.0.0/16" },
              "workers": [
                { "region": "us-east-1", "cidr": "10.1.0.0/16", "dataset": "s3://era5-pds", "lustreFileSystemPath": "era5", "workers": 2 },
                { "region": "us-west-2", "cidr": "10.2.0.0/16", "dataset": "s3://cmip6-pds", "lustreFileSystemPath": "cmip6" }
              ]
            }
            """);
        var state = temp.Combine("state");
        await using var up = ProximaProcess.Start("up", "--config", config, "--data-root", temp.Combine("data"), "--state", state, "--port", "0");
        await up.WaitForLineAsync("State: ", TimeSpan.FromSeconds(90));
        using var run = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(state, "federation.json")));
        var pids = run.RootElement.GetProperty("workers").EnumerateArray().Select(w => w.GetProperty("pid").GetInt32()).ToList();
        Assert.Equal(3, pids.Count);
        pids.Add(run.RootElement.GetProperty("routerPid").GetInt32());
        Assert.All(pids, pid => Assert.True(ProximaProcess.IsAlive(pid)));

        up.SendSigterm();
        var exitCode = await up.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.True(exitCode == 0, $"proxima up exited {exitCode}:\n{up.StandardError}");
        Assert.All(pids, pid => Assert.False(ProximaProcess.IsAlive(pid), $"service process {pid} outlived proxima up"));
        Assert.False(File.Exists(Path.Combine(state, "federation.json")), "the run file is removed on shutdown");
    }
}
