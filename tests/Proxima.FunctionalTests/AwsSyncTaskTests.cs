using Proxima.Tests;
using Proxima.Tests.Infrastructure;

namespace Proxima.FunctionalTests;

/// <summary>
/// The AWS sync task's command line (the CDK's <c>sync --region R --region-root /fsx --metadata-cache ...</c> with
/// <c>PROXIMA_FSX_FILE_SYSTEM_ID</c> in its environment), run as a real <c>proxima</c> process without a federation
/// file against a scripted FSx endpoint on loopback: the FSx re-import is asked for and awaited before the scan,
/// the region root's datasets are registered, the NetCDF collection's metadata cache lands where the workers
/// read it, and a failed import fails the run without touching the catalog.
/// </summary>
public sealed class AwsSyncTaskTests
{
    private const string FileSystemId = "fs-0123456789abcdef0";

    [Fact]
    public async Task Fsx_import_then_scan_of_the_mount_registers_the_region_and_writes_the_metadata_cache()
    {
        using var temp = new TempDirectory();
        var mount = temp.Combine("fsx");
        await WriteRegionAsync(mount);
        await using var fsx = await LoopbackHttpServer.StartAsync(FsxScript("SUCCEEDED"));
        var cache = Path.Combine(mount, ".proxima", "metadata-cache", "us-east-1");

        var (code, output) = await SyncAsync(temp, mount, cache, fsx);

        Assert.True(code == 0, output);
        Assert.Contains("us-east-1: committed: found 2, registered 2", output, StringComparison.Ordinal);
        var targets = fsx.Requests.Select(r => r.Headers["X-Amz-Target"]).ToList();
        Assert.Equal("AWSSimbaAPIService_v20180301.CreateDataRepositoryTask", targets[0]);
        Assert.Contains("AWSSimbaAPIService_v20180301.DescribeDataRepositoryTasks", targets);
        Assert.Contains(FileSystemId, fsx.Requests[0].BodyText, StringComparison.Ordinal);
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", fsx.Requests[0].Headers["Authorization"], StringComparison.Ordinal);
        Assert.NotEmpty(Directory.GetFiles(cache)); // the collection's metadata, for the workers' --metadata-cache

        // The scan skipped the dot folder: a second run finds the same two datasets, unchanged.
        var (again, againOutput) = await SyncAsync(temp, mount, cache, fsx);
        Assert.True(again == 0, againOutput);
        Assert.Contains("found 2, registered 0, unchanged 2", againOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failed_fsx_import_fails_the_run_and_names_the_cause()
    {
        using var temp = new TempDirectory();
        var mount = temp.Combine("fsx");
        await WriteRegionAsync(mount);
        await using var fsx = await LoopbackHttpServer.StartAsync(FsxScript("FAILED"));

        var (code, output) = await SyncAsync(temp, mount, temp.Combine("cache"), fsx);

        Assert.True(code == 1, output);
        Assert.Contains("FSx import failed", output, StringComparison.Ordinal);
        Assert.Contains("access denied to s3://era5-pds", output, StringComparison.Ordinal);
        Assert.Contains("registered 0", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Region_root_without_region_is_a_usage_error()
    {
        using var temp = new TempDirectory();
        await using var process = ProximaProcess.Start("sync", "--region-root", temp.Path, "--state", temp.Combine("state"));
        Assert.Equal(2, await process.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("--region-root needs --region", process.StandardError, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Output)> SyncAsync(TempDirectory temp, string mount, string cache, LoopbackHttpServer fsx)
    {
        var environment = new Dictionary<string, string>
        {
            ["PROXIMA_FSX_FILE_SYSTEM_ID"] = FileSystemId,
            ["PROXIMA_FSX_ENDPOINT"] = fsx.BaseUri.ToString(),
            ["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE",
            ["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ["AWS_REGION"] = "us-east-1",
        };
        await using var process = ProximaProcess.Start(environment,
            "sync", "--region", "us-east-1", "--region-root", mount, "--metadata-cache", cache, "--state", temp.Combine("state"));
        var code = await process.WaitForExitAsync(TimeSpan.FromSeconds(120));
        return (code, string.Join('\n', process.Lines) + "\n" + process.StandardError);
    }

    /// <summary>A Zarr store and a NetCDF collection of three daily files, as FSx would show them at the mount.</summary>
    private static Task WriteRegionAsync(string mount) => Python.RunCodeAsync("""
        import os, sys, numpy as np, pandas as pd, xarray as xr
        root = sys.argv[1]
        def day(start, n):
            t = (280 + np.random.default_rng(n).standard_normal((n, 4, 5))).astype("float32")
            return xr.Dataset({"t2m": (("time", "lat", "lon"), t, {"units": "K"})},
                              coords={"time": pd.date_range(start, periods=n, freq="6h"), "lat": np.linspace(50, 20, 4), "lon": np.arange(5.0)})
        day("2001-01-01", 8).to_zarr(os.path.join(root, "era5", "t2m.zarr"), mode="w")
        os.makedirs(os.path.join(root, "merra2", "daily"))
        for i in range(3):
            day(f"2001-01-0{i + 1}", 4).to_netcdf(os.path.join(root, "merra2", "daily", f"d{i}.nc"))
        """, mount);

    /// <summary>FSx's JSON 1.1 API: the import task is created and has ended in <paramref name="outcome"/> when first described.</summary>
    private static Func<RecordedRequest, ScriptedResponse> FsxScript(string outcome)
    {
        return r =>
        {
            var target = r.Headers.TryGetValue("X-Amz-Target", out var t) ? t : "";
            if (target.EndsWith(".CreateDataRepositoryTask", StringComparison.Ordinal))
            {
                return new(200, $$$"""{"DataRepositoryTask":{"TaskId":"task-0123456789abcdef0","Lifecycle":"PENDING","FileSystemId":"{{{FileSystemId}}}","Type":"IMPORT_METADATA_FROM_REPOSITORY"}}""");
            }

            if (target.EndsWith(".DescribeDataRepositoryTasks", StringComparison.Ordinal))
            {
                var lifecycle = outcome; // on the first poll: the client's 15 s poll interval never runs here
                var failure = lifecycle == "FAILED" ? ""","FailureDetails":{"Message":"Import failed: access denied to s3://era5-pds"}""" : "";
                return new(200, $$$"""{"DataRepositoryTasks":[{"TaskId":"task-0123456789abcdef0","Lifecycle":"{{{lifecycle}}}","FileSystemId":"{{{FileSystemId}}}"{{{failure}}}}]}""");
            }

            return new(400, """{"__type":"com.amazonaws.fsx#BadRequest","Message":"unknown target"}""");
        };
    }
}
