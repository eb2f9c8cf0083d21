using Proxima.Tests;
using Proxima.Tests.Infrastructure;

namespace Proxima.FunctionalTests;

/// <summary>
/// The AWS sync task's command line (the CDK's <c>sync --region R --region-root /fsx --metadata-cache ...</c> with
/// <c>PROXIMA_FSX_FILE_SYSTEM_ID</c> in its environment), run as a real <c>proxima</c> process without a federation
/// file against a scripted FSx endpoint on loopback: the FSx re-import is asked for and awaited before the scan,
/// the region root's datasets are registered, the NetCDF collection's metadata cache lands where the workers
/// read it, and a failed import fails the run without touching the catalog. With the CDK's catalog variables, against
/// loopback stand-ins for STS and the OpenSearch domain: the writer role is assumed and signs every catalog request,
/// the router's role is mapped to readall before the first write, and an STS refusal fails the run naming the role.
/// </summary>
public sealed class AwsSyncTaskTests
{
    private const string FileSystemId = "fs-0123456789abcdef0";
    private const string WriterRole = "arn:aws:iam::123456789012:role/proxima-catalog-writer";
    private const string ReaderRole = "arn:aws:iam::123456789012:role/ProximaClient-RouterTaskRole-1A2B3C";

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

    [Fact]
    public async Task Catalog_writes_are_signed_as_the_assumed_writer_role_after_mapping_the_router_to_readall()
    {
        // The CDK's sync environment (PROXIMA_CATALOG_ROLE_ARN, PROXIMA_CATALOG_READER_ROLE_ARN, the domain's region)
        // against a loopback STS and a scripted OpenSearch domain that records every request.
        using var temp = new TempDirectory();
        var mount = temp.Combine("fsx");
        await WriteRegionAsync(mount);
        await using var sts = await LoopbackHttpServer.StartAsync(_ => new(200, $"""
            <AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>
              <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/proxima-catalog-writer/proxima-catalog-us-east-1</Arn></AssumedRoleUser>
              <Credentials><AccessKeyId>ASIAWRITER</AccessKeyId><SecretAccessKey>writer-secret</SecretAccessKey>
                <SessionToken>writer-session-token</SessionToken><Expiration>{DateTime.UtcNow.AddHours(1):yyyy-MM-dd'T'HH:mm:ss'Z'}</Expiration></Credentials>
            </AssumeRoleResult></AssumeRoleResponse>
            """));
        bool mapped = false;
        ScriptedResponse Domain(RecordedRequest r)
        {
            const string mappingPath = "_plugins/_security/api/rolesmapping/readall";
            if (r.PathAndQuery == mappingPath)
            {
                if (r.Method == "PUT")
                {
                    mapped = true;
                    return new(200, """{"status":"OK","message":"'readall' updated."}""");
                }

                return mapped
                    ? new(200, $$$"""{"readall":{"backend_roles":["{{{ReaderRole}}}"],"users":[],"hosts":[]}}""")
                    : new(404, """{"status":"NOT_FOUND","message":"readall not found."}""");
            }

            return (r.Method, r.PathAndQuery) switch
            {
                ("GET", var p) when p.StartsWith("_alias/", StringComparison.Ordinal) => new(404, """{"error":"alias missing","status":404}"""),
                ("GET", var p) when p.StartsWith("_cat/indices/", StringComparison.Ordinal) => new(200, "[]"),
                ("POST", "_bulk") => new(200, """{"took":1,"errors":false,"items":[]}"""),
                ("POST", var p) when p.Contains("/_search", StringComparison.Ordinal) => new(200, """{"took":1,"hits":{"total":{"value":0,"relation":"eq"},"hits":[]}}"""),
                ("PUT" or "POST" or "DELETE", _) => new(200, """{"acknowledged":true,"result":"created","_seq_no":0,"_primary_term":1}"""),
                _ => new(500, "unexpected request " + r.Line),
            };
        }

        await using var domain = await LoopbackHttpServer.StartAsync(Domain);
        var (code, output) = await SyncAsync(temp, mount, temp.Combine("cache"), CatalogEnvironment(domain, sts));

        Assert.True(code == 0, output);
        Assert.Contains("us-east-1: committed: found 2, registered 2", output, StringComparison.Ordinal);
        var assume = Assert.Single(sts.Requests); // one session for the whole run
        Assert.Contains("Action=AssumeRole&Version=2011-06-15&RoleArn=" + Uri.EscapeDataString(WriterRole), assume.BodyText, StringComparison.Ordinal);
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/", assume.Headers["Authorization"], StringComparison.Ordinal);
        Assert.Contains("/us-east-1/sts/aws4_request", assume.Headers["Authorization"], StringComparison.Ordinal);

        var requests = domain.Requests;
        Assert.All(requests, r =>
        {
            Assert.StartsWith("AWS4-HMAC-SHA256 Credential=ASIAWRITER/", r.Headers["Authorization"], StringComparison.Ordinal);
            Assert.Contains("/eu-west-2/es/aws4_request", r.Headers["Authorization"], StringComparison.Ordinal);
            Assert.Equal("writer-session-token", r.Headers["X-Amz-Security-Token"]);
        });
        var lines = requests.Select(r => r.Line).ToList();
        int mapping = lines.IndexOf("PUT _plugins/_security/api/rolesmapping/readall");
        Assert.True(mapping >= 0, string.Join('\n', lines));
        Assert.Equal($$"""{"backend_roles":["{{ReaderRole}}"]}""", requests[mapping].BodyText);
        int firstBulk = lines.IndexOf("POST _bulk");
        Assert.True(mapping < firstBulk, string.Join('\n', lines)); // mapped before any dataset is written
        Assert.Contains("era5/t2m", requests[firstBulk].BodyText, StringComparison.Ordinal);
        Assert.Contains("POST _aliases", lines);
    }

    [Fact]
    public async Task Sts_refusing_the_writer_role_fails_the_run_naming_the_role_before_any_catalog_request()
    {
        using var temp = new TempDirectory();
        var mount = temp.Combine("fsx");
        await using var sts = await LoopbackHttpServer.StartAsync(_ => new(403, $"""
            <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>
            <Message>User: arn:aws:sts::123456789012:assumed-role/proxima-sync-us-east-1/task is not authorized to perform: sts:AssumeRole on resource: {WriterRole}</Message></Error></ErrorResponse>
            """));
        await using var domain = await LoopbackHttpServer.StartAsync(r => new(500, "unexpected request " + r.Line));

        var (code, output) = await SyncAsync(temp, mount, temp.Combine("cache"), CatalogEnvironment(domain, sts));

        Assert.True(code == 1, output);
        Assert.Contains("us-east-1: failed: found 0, registered 0", output, StringComparison.Ordinal);
        Assert.Contains($"STS AssumeRole of {WriterRole} failed: HTTP 403 AccessDenied: User: ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal); // a report line, not a stack trace
        Assert.Empty(domain.Requests); // nothing reaches the domain unsigned or half-signed
    }

    /// <summary>The CDK's catalog variables for the sync task, pointed at loopback stand-ins for the domain and STS.</summary>
    private static Dictionary<string, string> CatalogEnvironment(LoopbackHttpServer domain, LoopbackHttpServer sts)
    {
        var environment = AwsKeys();
        environment["PROXIMA_CATALOG"] = "opensearch";
        environment["PROXIMA_OPENSEARCH_URL"] = domain.BaseUri.ToString();
        environment["PROXIMA_OPENSEARCH_REGION"] = "eu-west-2";
        environment["PROXIMA_CATALOG_ROLE_ARN"] = WriterRole;
        environment["PROXIMA_CATALOG_READER_ROLE_ARN"] = ReaderRole;
        environment["PROXIMA_STS_ENDPOINT"] = sts.BaseUri.ToString();
        environment["PROXIMA_REGION"] = "us-east-1";
        return environment;
    }

    private static Dictionary<string, string> AwsKeys() => new()
    {
        ["AWS_ACCESS_KEY_ID"] = "AKIDEXAMPLE",
        ["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ["AWS_REGION"] = "us-east-1",
    };

    private static Task<(int Code, string Output)> SyncAsync(TempDirectory temp, string mount, string cache, LoopbackHttpServer fsx)
    {
        var environment = AwsKeys();
        environment["PROXIMA_FSX_FILE_SYSTEM_ID"] = FileSystemId;
        environment["PROXIMA_FSX_ENDPOINT"] = fsx.BaseUri.ToString();
        return SyncAsync(temp, mount, cache, environment);
    }

    private static async Task<(int Code, string Output)> SyncAsync(TempDirectory temp, string mount, string cache, Dictionary<string, string> environment)
    {
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
