using System.Text.Json;
using Proxima.Tests.Infrastructure;

namespace Proxima.Client.Tests;

/// <summary>
/// One real <c>proxima up</c> (router + a worker process per region + link emulators) over demo data
/// written by xarray/zarr-python, shared by every class in the "federation" collection.
/// </summary>
public sealed class FederationFixture : IAsyncLifetime
{
    private readonly TempDirectory _temp = new("proxima-client-test-");
    private ProximaProcess? _up;

    public string DataRoot => _temp.Combine("data");

    public string State => _temp.Combine("state");

    public string Work => _temp.Combine("work");

    public Uri RouterUrl { get; private set; } = null!;

    public Uri GrpcUrl { get; private set; } = null!;

    /// <summary>The token <c>proxima up</c> wrote to STATE/token, or null while the router has no auth.</summary>
    public string? Token => ProximaClient.ReadToken(State);

    public string Era5Store => Path.Combine(DataRoot, "us-east-1", "reanalysis", "era5", "t2m.zarr");

    public string Cmip6Store => Path.Combine(DataRoot, "us-west-2", "cmip6", "ScenarioMIP", "MOHC", "UKESM1-0-LL", "ssp585", "tas.zarr");

    public const string Era5 = "reanalysis/era5/t2m";

    public const string Cmip6 = "cmip6/ScenarioMIP/MOHC/UKESM1-0-LL/ssp585/tas";

    public ProximaClient CreateClient() => ProximaClient.FromState(State);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Work);
        // 10 days of hourly ERA5-like data; CMIP6-like monthly 2015..2100 (the notebooks average 2090-2100).
        await Python.RunAsync(RepoPaths.SampleDataScript, ["--root", DataRoot, "--days", "10", "--years", "86", "--step", "5"]);
        var config = _temp.Combine("variables.json");
        await File.WriteAllTextAsync(config, """
            {
              "client":  { "region": "eu-west-2", "cidr": "10.0.0.0/16" },
              "workers": [
                { "region": "us-east-1", "cidr": "10.1.0.0/16", "dataset": "s3://era5-pds", "lustreFileSystemPath": "era5-pds" },
                { "region": "us-west-2", "cidr": "10.2.0.0/16", "dataset": "s3://cmip6-pds", "lustreFileSystemPath": "cmip6" }
              ]
            }
            """);
        _up = ProximaProcess.Start("up", "--config", config, "--data-root", DataRoot, "--state", State, "--port", "0", "--latency-ms", "2");
        await _up.WaitForLineAsync("State: ", TimeSpan.FromSeconds(120));
        using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(State, "federation.json")));
        RouterUrl = new Uri(doc.RootElement.GetProperty("routerUrl").GetString()!);
        GrpcUrl = new Uri(doc.RootElement.GetProperty("routerGrpcUrl").GetString()!);
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

[CollectionDefinition("federation")]
public sealed class FederationCollection : ICollectionFixture<FederationFixture>;
