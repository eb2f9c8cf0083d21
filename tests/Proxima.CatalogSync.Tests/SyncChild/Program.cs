using Proxima.Catalog.Sqlite;
using Proxima.CatalogSync;

// usage: SyncChild DB REGION ROOT
await using var catalog = await SqliteCatalog.OpenAsync(args[0]);
var progress = new LineProgress();
var report = await SyncRunner.RunAsync(new SyncOptions
{
    Region = args[1],
    RegionRoot = args[2],
    Catalog = catalog,
    Parallelism = 2,
    BatchSize = 4,
    ProgressInterval = TimeSpan.Zero,
}, progress);
Console.Out.WriteLine("report " + report.Status);
Console.Out.Flush();
return report.Status is "committed" or "unchanged" ? 0 : 1;

internal sealed class LineProgress : IProgress<SyncProgress>
{
    public void Report(SyncProgress value)
    {
        lock (this)
        {
            Console.Out.WriteLine(value.ToString());
            Console.Out.Flush();
        }
    }
}
