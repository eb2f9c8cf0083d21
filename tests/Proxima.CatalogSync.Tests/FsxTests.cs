using System.Text.Json.Nodes;
using Amazon.Runtime;
using Proxima.Catalog;
using Proxima.CatalogSync.Fsx;
using Proxima.Tests;

namespace Proxima.CatalogSync.Tests;

public sealed class FsxTests(TreeFixture tree) : IClassFixture<TreeFixture>
{
    private const string Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    private static FsxClient Client(LoopbackHttpServer server) => new(new FsxClientOptions
    {
        Region = "us-east-1",
        Endpoint = server.BaseUri,
        Credentials = new BasicAWSCredentials("AKIDEXAMPLE", Secret),
        PollInterval = TimeSpan.FromMilliseconds(1),
    });

    private static Func<RecordedRequest, ScriptedResponse> Fsx(params string[] lifecycles)
    {
        int describe = 0;
        return r =>
        {
            string target = r.Headers.TryGetValue("X-Amz-Target", out var t) ? t : "";
            if (target == "AWSSimbaAPIService_v20180301.CreateDataRepositoryTask")
            {
                return new(200, """{"DataRepositoryTask":{"TaskId":"task-0123456789abcdef0","Lifecycle":"PENDING","FileSystemId":"fs-0123456789abcdef0","Type":"IMPORT_METADATA_FROM_REPOSITORY","CreationTime":1.7e9}}""");
            }

            if (target == "AWSSimbaAPIService_v20180301.DescribeDataRepositoryTasks")
            {
                string lc = lifecycles[Math.Min(Interlocked.Increment(ref describe) - 1, lifecycles.Length - 1)];
                string failure = lc == "FAILED" ? ""","FailureDetails":{"Message":"Import failed: access denied to s3://era5-pds"}""" : "";
                return new(200, $$$"""{"DataRepositoryTasks":[{"TaskId":"task-0123456789abcdef0","Lifecycle":"{{{lc}}}","FileSystemId":"fs-0123456789abcdef0"{{{failure}}}}]}""");
            }

            return new(400, """{"__type":"com.amazonaws.fsx#BadRequest","Message":"unknown target"}""");
        };
    }

    [Fact]
    public async Task Import_sends_a_signed_json_1_1_create_task_and_polls_until_succeeded()
    {
        await using var server = await LoopbackHttpServer.StartAsync(Fsx("PENDING", "EXECUTING", "SUCCEEDED"));
        using var fsx = Client(server);
        string taskId = await fsx.ImportMetadataAsync("fs-0123456789abcdef0");
        Assert.Equal("task-0123456789abcdef0", taskId);

        var reqs = server.Requests;
        Assert.Equal(4, reqs.Count); // create + 3 describes
        var create = reqs[0];
        Assert.Equal("POST", create.Method);
        Assert.Equal("AWSSimbaAPIService_v20180301.CreateDataRepositoryTask", create.Headers["X-Amz-Target"]);
        Assert.Equal("application/x-amz-json-1.1", create.Headers["Content-Type"]);
        var body = JsonNode.Parse(create.BodyText)!;
        Assert.Equal("IMPORT_METADATA_FROM_REPOSITORY", body["Type"]!.GetValue<string>());
        Assert.Equal("fs-0123456789abcdef0", body["FileSystemId"]!.GetValue<string>());
        Assert.False(body["Report"]!["Enabled"]!.GetValue<bool>());
        Assert.Matches("^[0-9a-f]{32}$", body["ClientRequestToken"]!.GetValue<string>());
        Assert.Equal("""{"TaskIds":["task-0123456789abcdef0"]}""", reqs[1].BodyText);
        Assert.Contains("x-amz-target", create.Headers["Authorization"], StringComparison.Ordinal); // target header is signed
        foreach (var r in reqs)
        {
            Assert.Equal("OK", SigV4Verifier.Verify(r, Secret, "us-east-1", "fsx"));
        }

        Assert.NotEqual("OK", SigV4Verifier.Verify(create, "wrong-secret", "us-east-1", "fsx"));
    }

    [Fact]
    public async Task Api_error_names_the_action_and_aws_error_type()
    {
        await using var server = await LoopbackHttpServer.StartAsync(_ => new(400, """{"__type":"com.amazonaws.fsx#FileSystemNotFound","Message":"File system 'fs-1' does not exist."}"""));
        using var fsx = Client(server);
        var e = await Assert.ThrowsAsync<FsxException>(() => fsx.ImportMetadataAsync("fs-1"));
        Assert.Equal("CreateDataRepositoryTask failed: HTTP 400 FileSystemNotFound File system 'fs-1' does not exist.", e.Message);
    }

    [Fact]
    public async Task Failed_import_aborts_the_run_and_keeps_the_previous_generation()
    {
        using var dir = new TempDir();
        string data = tree.CopyTo(dir.Path);
        await using var catalog = await Sync.OpenAsync(dir.Path);
        await Sync.RunAsync(catalog, data, "us-east-1");
        var before = (await Sync.AllAsync(catalog)).Select(CatalogJson.Serialize).ToList();
        Directory.Delete(Path.Combine(data, "us-east-1", "ocean"), recursive: true); // would be a removal if the run went ahead

        await using var server = await LoopbackHttpServer.StartAsync(Fsx("EXECUTING", "FAILED"));
        using var fsx = Client(server);
        var report = await SyncRunner.RunAsync(new SyncOptions
        {
            Region = "us-east-1",
            RegionRoot = Path.Combine(data, "us-east-1"),
            Catalog = catalog,
            FsxFileSystemId = "fs-0123456789abcdef0",
            Fsx = fsx,
        });
        Assert.Equal("failed", report.Status);
        Assert.Contains("ended FAILED: Import failed: access denied to s3://era5-pds", report.Message, StringComparison.Ordinal);
        Assert.Equal(before, (await Sync.AllAsync(catalog)).Select(CatalogJson.Serialize).ToList());
        Assert.Equal("failed", (await catalog.GetLastReportAsync("us-east-1"))!.Status);

        // With a successful import the same run proceeds and sees the removal.
        await using var ok = await LoopbackHttpServer.StartAsync(Fsx("SUCCEEDED"));
        using var fsxOk = Client(ok);
        var r2 = await SyncRunner.RunAsync(new SyncOptions { Region = "us-east-1", RegionRoot = Path.Combine(data, "us-east-1"), Catalog = catalog, FsxFileSystemId = "fs-0123456789abcdef0", Fsx = fsxOk });
        Assert.Equal(("committed", 1), (r2.Status, r2.Removed));
    }
}
