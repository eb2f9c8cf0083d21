using Proxima.Tests.Infrastructure;

namespace Proxima.FunctionalTests;

/// <summary>
/// A setting the operator got wrong (environment variables as ECS passes them) stops the service with
/// one line naming the variable and its value, and exit code 2, never a stack trace.
/// </summary>
public sealed class ConfigurationErrorTests
{
    public static TheoryData<string, string, string, string> Cases => new()
    {
        { "router", "PROXIMA_CATALOG", "mongo", "PROXIMA_CATALOG must be 'sqlite' or 'opensearch' (got 'mongo')" },
        { "router", "PROXIMA_OPENSEARCH_URL", "search-domain", "PROXIMA_OPENSEARCH_URL is not an absolute URL: 'search-domain'" },
        { "router", "PROXIMA_MAX_OUTPUT_CELLS", "lots", "PROXIMA_MAX_OUTPUT_CELLS: 'lots' is not a positive whole number" },
        { "router", "PROXIMA_WORKERS_LOAD_BALANCED", "1", "--load-balanced-pools (PROXIMA_WORKERS_LOAD_BALANCED) is about discovered regions: it needs --workers-namespace (or PROXIMA_WORKERS_NAMESPACE)" },
        { "worker", "PROXIMA_MAX_UNITS", "many", "PROXIMA_MAX_UNITS: 'many' is not a whole number" },
        { "sync", "PROXIMA_FSX_ENDPOINT", "fsx", "PROXIMA_FSX_ENDPOINT is not an absolute URL: 'fsx'" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_bad_setting_is_one_error_line_and_exit_code_2(string command, string variable, string value, string message)
    {
        var state = Directory.CreateTempSubdirectory("proxima-config-").FullName;
        try
        {
            var root = Directory.CreateDirectory(Path.Combine(state, "data")).FullName;
            string[] args = command switch
            {
                "router" => ["router", "--port", "0", "--grpc-port", "0", "--no-auth", "--state", state, "--worker", "r=http://127.0.0.1:9"],
                "worker" => ["worker", "--region", "r", "--data-root", root, "--port", "0"],
                _ => ["sync", "--region", "r", "--region-root", root, "--fsx-file-system-id", "fs-0123456789abcdef0", "--state", state],
            };
            await using var process = ProximaProcess.Start(new Dictionary<string, string> { [variable] = value }, args);
            var code = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
            Assert.True(code == 2, $"exit code {code}; stderr:\n{process.StandardError}");
            Assert.Contains($"error: {message}", process.StandardError, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", process.StandardError, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }
}
