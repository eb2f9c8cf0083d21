using Proxima.Catalog.Sqlite;

namespace Proxima.Catalog.Tests;

internal static class Docs
{
    public static DatasetDocument Make(string id, string region, BoundingBox? bbox = null, string? start = "2000-01-01T00:00:00", string? end = "2000-12-31T23:00:00",
        string calendar = "standard", string fingerprint = "fp1", IReadOnlyList<string>? acl = null, params (string Name, string? Std)[] vars)
    {
        var variables = new List<VariableInfo>();
        foreach (var (name, std) in vars.Length == 0 ? [("t2m", "air_temperature")] : vars)
        {
            variables.Add(new VariableInfo
            {
                Name = name,
                Dims = ["time", "lat", "lon"],
                Shape = [24, 10, 20],
                Chunks = [24, 10, 20],
                Dtype = "<f4",
                Units = "K",
                StandardName = std,
                LongName = name + " long name",
            });
        }

        return new DatasetDocument
        {
            Id = id,
            Region = region,
            Uri = id + ".zarr",
            Format = DatasetFormat.ZarrV2,
            Variables = variables,
            Dimensions =
            [
                new DimensionInfo { Name = "time", Size = 24, Axis = "t" },
                new DimensionInfo { Name = "lat", Size = 10, Axis = "y", First = 90, Last = -90, Step = -20 },
                new DimensionInfo { Name = "lon", Size = 20, Axis = "x", First = 0, Last = 342, Step = 18, Units = "degrees_east" },
            ],
            Bbox = bbox ?? new BoundingBox(-10, -10, 10, 10),
            Time = start is null ? null : new TimeExtent { Start = start, End = end!, Calendar = calendar, Step = "PT1H" },
            Bytes = 1234,
            Chunks = 1,
            Fingerprint = fingerprint,
            Modified = new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero),
            Acl = acl ?? [],
            Attrs = new Dictionary<string, string> { ["title"] = "Test dataset " + id },
        };
    }

    public static SyncReport Report(string region, string run, string status = "committed") => new()
    {
        Region = region,
        RunId = run,
        Status = status,
        StartedUtc = DateTimeOffset.UtcNow,
        FinishedUtc = DateTimeOffset.UtcNow,
    };
}

/// <summary>Creates a fresh catalog of a backend for each test.</summary>
internal static class Backends
{
    public static IEnumerable<object[]> All()
    {
        yield return ["sqlite"];
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("PROXIMA_OPENSEARCH_URL")))
        {
            yield return ["opensearch"];
        }
    }

    public static async Task<ICatalog> CreateAsync(string backend, TempDir dir)
    {
        switch (backend)
        {
            case "sqlite":
                return await SqliteCatalog.OpenAsync(Path.Combine(dir.Path, "catalog.db"));
            case "opensearch":
                var url = new Uri(Environment.GetEnvironmentVariable("PROXIMA_OPENSEARCH_URL")!);
                // A unique prefix per test keeps tests independent on a shared server.
                var os = new OpenSearch.OpenSearchCatalog(new OpenSearch.OpenSearchCatalogOptions
                {
                    Endpoint = url,
                    IndexPrefix = "proxima-test-" + Guid.NewGuid().ToString("N")[..8],
                    RefreshOnWrite = true,
                });
                await os.EnsureTemplateAsync();
                dir.OnDispose(() => os.DeleteAllAsync().GetAwaiter().GetResult());
                return os;
            default:
                throw new ArgumentException(backend);
        }
    }
}

internal sealed class TempDir : IDisposable
{
    private readonly List<Action> _cleanup = [];

    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "proxima-cat-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void OnDispose(Action a) => _cleanup.Add(a);

    public void Dispose()
    {
        foreach (var a in _cleanup)
        {
            try
            {
                a();
            }
            catch (Exception)
            {
            }
        }

        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
