using Proxima.Catalog;
using Proxima.CatalogSync.Fsx;

namespace Proxima.CatalogSync;

/// <summary>One sync run of one region. Validated by <see cref="SyncRunner.RunAsync"/> (errors name the field).</summary>
public sealed record SyncOptions
{
    /// <summary>Region name (lowercase letters, digits, '-'), e.g. <c>us-east-1</c>.</summary>
    public required string Region { get; init; }

    /// <summary>Directory the region serves (<c>DIR/R/</c> locally, <c>/fsx/R/</c> in AWS).</summary>
    public required string RegionRoot { get; init; }

    /// <summary>Where documents go.</summary>
    public required ICatalog Catalog { get; init; }

    /// <summary>Worker pool recorded on documents (default: the region name).</summary>
    public string? Pool { get; init; }

    /// <summary>FSx for Lustre file system to re-import from S3 before scanning; null = no import.</summary>
    public string? FsxFileSystemId { get; init; }

    /// <summary>FSx client (endpoint, credentials); required when <see cref="FsxFileSystemId"/> is set.</summary>
    public FsxClient? Fsx { get; init; }

    /// <summary>Datasets opened concurrently (headers + coordinates). Default 2 × processors.</summary>
    public int Parallelism { get; init; } = Math.Max(2, Environment.ProcessorCount * 2);

    /// <summary>Documents per catalog write batch.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Walk each changed store to sum its bytes (off for huge stores on slow file systems).</summary>
    public bool ComputeBytes { get; init; } = true;

    /// <summary>
    /// Where NetCDF collection metadata caches go (one JSON file per collection, see Arrays/README.md): the
    /// sync writes them so that workers given the same directory open a collection without opening its files.
    /// Never inside the data root. Null (default): no cache.
    /// </summary>
    public string? MetadataCacheDirectory { get; init; }

    /// <summary>Allow a run that finds nothing to empty a region that had datasets (off: such a run aborts, protecting against an unmounted file system).</summary>
    public bool AllowEmpty { get; init; }

    /// <summary>Run id; default <c>yyyyMMddTHHmmssZ-xxxx</c> (lowercase).</summary>
    public string? RunId { get; init; }

    /// <summary>Clock for run ids, report times and progress rate.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Minimum interval between progress reports.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Test seam: how directories are listed (default: the file system).</summary>
    internal Func<string, IEnumerable<FileSystemInfo>>? DirectoryLister { get; init; }

    internal void Validate()
    {
        try
        {
            RegionNames.Validate(Region);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException("SyncOptions.Region: " + e.Message, e);
        }

        if (string.IsNullOrWhiteSpace(RegionRoot))
        {
            throw new ArgumentException("SyncOptions.RegionRoot must be a directory");
        }

        if (Parallelism < 1)
        {
            throw new ArgumentException("SyncOptions.Parallelism must be >= 1");
        }

        if (BatchSize < 1)
        {
            throw new ArgumentException("SyncOptions.BatchSize must be >= 1");
        }

        if (FsxFileSystemId is not null && Fsx is null)
        {
            throw new ArgumentException("SyncOptions.Fsx must be set when SyncOptions.FsxFileSystemId is set");
        }
    }
}

/// <summary>Progress of a run, for CLI lines and logs.</summary>
public sealed record SyncProgress
{
    public required string Region { get; init; }
    /// <summary><c>fsx-import</c>, <c>scan</c>, <c>commit</c> or <c>done</c>.</summary>
    public required string Phase { get; init; }
    public int Found { get; init; }
    public int Registered { get; init; }
    public int Unchanged { get; init; }
    public int Removed { get; init; }
    public int Failed { get; init; }
    public TimeSpan Elapsed { get; init; }

    /// <summary>Datasets found per second so far.</summary>
    public double Rate => Elapsed.TotalSeconds > 0 ? Found / Elapsed.TotalSeconds : 0;

    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"{Region} {Phase}: found {Found}, registered {Registered}, unchanged {Unchanged}, removed {Removed}, failed {Failed} ({Rate:0}/s, {Elapsed.TotalSeconds:0.0}s)");
}
