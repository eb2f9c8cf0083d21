using System.Text.Json;
using Proxima.Tests.Infrastructure;

namespace Proxima.FunctionalTests;

/// <summary>
/// A real <c>proxima up</c> (router + a worker process per region + link emulators) over sample data
/// written by xarray, shared by the tests of a class.
/// </summary>
public sealed class LocalFederationFixture : IAsyncLifetime
{
    private readonly TempDirectory _temp = new();
    private ProximaProcess? _up;

    public string DataRoot => _temp.Combine("data");

    public string State => _temp.Combine("state");

    public string ConfigPath => _temp.Combine("variables.json");

    public Uri RouterUrl { get; private set; } = null!;

    public JsonElement RunFile { get; private set; }

    internal ProximaProcess Up => _up!;

    /// <summary>The bearer token <c>proxima up</c> wrote to <c>STATE/token</c>.</summary>
    public string Token { get; private set; } = "";

    /// <summary>An HTTP client that sends the federation's bearer token.</summary>
    public HttpClient CreateHttpClient(TimeSpan? timeout = null)
    {
        var http = new HttpClient { Timeout = timeout ?? TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
        return http;
    }

    /// <summary>gRPC metadata carrying the bearer token.</summary>
    public Proxima.Protocol.Grpc.Metadata GrpcAuth() => new() { { "authorization", "Bearer " + Token } };

    public string Era5Store => Path.Combine(DataRoot, "us-east-1", "reanalysis", "era5", "t2m.zarr");

    public string Cmip6Store => Path.Combine(DataRoot, "us-west-2", "cmip6", "ScenarioMIP", "MOHC", "UKESM1-0-LL", "ssp585", "tas.zarr");

    public async Task InitializeAsync()
    {
        await Python.RunAsync(RepoPaths.SampleDataScript, ["--root", DataRoot, "--days", "6", "--years", "3", "--step", "5"]);
        await File.WriteAllTextAsync(ConfigPath, """
            {
              "client":  { "region": "eu-west-2", "cidr": "10.0.0.0/16" },
              "workers": [
                { "region": "us-east-1", "cidr": "10.1.0.0/16", "dataset": "s3://era5-pds", "lustreFileSystemPath": "era5-pds" },
                { "region": "us-west-2", "cidr": "10.2.0.0/16", "dataset": "s3://cmip6-pds", "lustreFileSystemPath": "cmip6" }
              ]
            }
            """);
        _up = ProximaProcess.Start("up", "--config", ConfigPath, "--data-root", DataRoot, "--state", State, "--port", "0", "--latency-ms", "2");
        var url = await _up.WaitForLineAsync("Router: ", TimeSpan.FromSeconds(90));
        RouterUrl = new Uri(url.TrimEnd('/') + "/");
        var tokenPath = await _up.WaitForLineAsync("Token: ", TimeSpan.FromSeconds(90));
        Token = (await File.ReadAllTextAsync(tokenPath)).Trim();
        await _up.WaitForLineAsync("State: ", TimeSpan.FromSeconds(90));
        using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(State, "federation.json")));
        RunFile = doc.RootElement.Clone();
    }

    public async Task DisposeAsync()
    {
        if (_up is not null)
        {
            await _up.DisposeAsync();
        }

        _temp.Dispose();
    }
}
