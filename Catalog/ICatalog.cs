namespace Proxima.Catalog;

/// <summary>
/// The dataset catalog (DESIGN.md §3). Writers work per region in generations: begin, upsert/remove,
/// commit (one atomic switch) or abort. Readers always see the last committed generation of every region.
/// Implementations: <see cref="Sqlite.SqliteCatalog"/> (embedded default) and
/// <see cref="OpenSearch.OpenSearchCatalog"/>.
/// </summary>
public interface ICatalog : IAsyncDisposable
{
    /// <summary>Backend name for logs and reports (<c>sqlite</c>, <c>opensearch</c>).</summary>
    string Backend { get; }

    /// <summary>
    /// Starts a new generation for <paramref name="region"/> that begins as a copy of the live one.
    /// Leftovers of a crashed earlier run are discarded first. Throws <see cref="CatalogBusyException"/>
    /// if another live process holds a generation open for the region.
    /// </summary>
    Task<ICatalogGeneration> BeginGenerationAsync(string region, string runId, CancellationToken cancellationToken = default);

    /// <summary>Id, uri and fingerprint of every live dataset of a region (what the scanner compares against).</summary>
    Task<IReadOnlyList<DatasetFingerprint>> GetFingerprintsAsync(string region, CancellationToken cancellationToken = default);

    /// <summary>All live parts of a dataset (one per region holding it), ordered by time start then region; empty if unknown.</summary>
    Task<IReadOnlyList<DatasetDocument>> GetDatasetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Searches the live generations. Results are ordered by (id, region); paging by <see cref="SearchPage.NextToken"/>.</summary>
    /// <exception cref="CatalogQueryException">Bad paging token (names the parameter).</exception>
    Task<SearchPage> SearchAsync(DatasetQuery query, CancellationToken cancellationToken = default);

    /// <summary>Regions with a committed generation, with their dataset counts.</summary>
    Task<IReadOnlyList<RegionSummary>> ListRegionsAsync(CancellationToken cancellationToken = default);

    /// <summary>The report of the most recent finished run (committed, aborted or failed) of a region, or null.</summary>
    Task<SyncReport?> GetLastReportAsync(string region, CancellationToken cancellationToken = default);

    /// <summary>Stores the report of a run that never opened a generation (e.g. the FSx import failed).</summary>
    Task RecordReportAsync(SyncReport report, CancellationToken cancellationToken = default);
}

/// <summary>
/// A generation being built for one region. Starts as the live generation; changes are invisible to
/// readers until <see cref="CommitAsync"/>. Disposing without committing aborts.
/// </summary>
public interface ICatalogGeneration : IAsyncDisposable
{
    string Region { get; }

    string RunId { get; }

    /// <summary>Adds or replaces documents (by id) in this generation. Every document's region must be <see cref="Region"/>.</summary>
    Task UpsertAsync(IReadOnlyList<DatasetDocument> documents, CancellationToken cancellationToken = default);

    /// <summary>Removes datasets (by id) from this generation.</summary>
    Task RemoveAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken = default);

    /// <summary>Makes this generation live in one atomic step and stores the run report.</summary>
    Task CommitAsync(SyncReport report, CancellationToken cancellationToken = default);

    /// <summary>Discards this generation; the previous one stays live. The report (if any) is stored.</summary>
    Task AbortAsync(SyncReport? report, CancellationToken cancellationToken = default);
}

/// <summary>A catalog search. All filters are ANDed; null = no filter.</summary>
public sealed record DatasetQuery
{
    /// <summary>Spatial filter; any longitude convention; west &gt; east crosses the antimeridian.</summary>
    public BoundingBox? Bbox { get; init; }

    /// <summary>Inclusive time interval as <see cref="TimeKey"/> keys; null ends are open.</summary>
    public long? TimeStartKey { get; init; }

    public long? TimeEndKey { get; init; }

    /// <summary>Free text: every word must prefix-match a word of the id, variable names/standard names/long names or title attributes.</summary>
    public string? Text { get; init; }

    /// <summary>Exact (case-insensitive) variable name or CF standard_name.</summary>
    public string? Variable { get; init; }

    /// <summary>Only datasets in this region.</summary>
    public string? Region { get; init; }

    /// <summary>Caller's groups; null = no ACL filtering (trusted caller). Public datasets (empty ACL) always match.</summary>
    public IReadOnlyCollection<string>? Groups { get; init; }

    /// <summary>Page size, 1..<see cref="MaxLimit"/>.</summary>
    public int Limit { get; init; } = DefaultLimit;

    /// <summary>Opaque token from a previous page's <see cref="SearchPage.NextToken"/>.</summary>
    public string? PageToken { get; init; }

    public const int DefaultLimit = 10;

    public const int MaxLimit = 10_000;
}

/// <summary>One page of search results.</summary>
public sealed record SearchPage(long NumberMatched, IReadOnlyList<DatasetDocument> Items, string? NextToken);

/// <summary>A region with a live generation.</summary>
public sealed record RegionSummary(string Region, string? LiveRun, long Datasets, DateTimeOffset? CommittedUtc);

/// <summary>What one sync run of one region did; kept in the catalog.</summary>
public sealed record SyncReport
{
    public required string Region { get; init; }
    public required string RunId { get; init; }
    /// <summary><c>committed</c>, <c>unchanged</c>, <c>aborted</c> or <c>failed</c>.</summary>
    public required string Status { get; init; }
    public DateTimeOffset StartedUtc { get; init; }
    public DateTimeOffset FinishedUtc { get; init; }
    public int Found { get; init; }
    public int Registered { get; init; }
    public int Unchanged { get; init; }
    public int Removed { get; init; }
    public int Failed { get; init; }
    /// <summary>Document writes (upserts + removals) this run sent to the catalog.</summary>
    public int Writes { get; init; }
    public IReadOnlyList<DatasetError> Errors { get; init; } = [];
    /// <summary>Run-level failure (FSx import FAILED, catalog unavailable, ...), null on success.</summary>
    public string? Message { get; init; }
    public double DurationSeconds => (FinishedUtc - StartedUtc).TotalSeconds;
}

/// <summary>A dataset that could not be registered and why.</summary>
public sealed record DatasetError(string Path, string Message);

/// <summary>A search parameter is invalid. <see cref="Parameter"/> names it (e.g. <c>bbox</c>).</summary>
public sealed class CatalogQueryException(string parameter, string message) : Exception(message)
{
    public string Parameter { get; } = parameter;
}

/// <summary>Another process is building a generation for the same region.</summary>
public sealed class CatalogBusyException(string message) : Exception(message);

/// <summary>The catalog backend failed (bad response, corrupt state); the message says what and where.</summary>
public sealed class CatalogException : Exception
{
    public CatalogException(string message) : base(message)
    {
    }

    public CatalogException(string message, Exception inner) : base(message, inner)
    {
    }
}

/// <summary>Region names: lowercase letters, digits, '-' and '_' (they become index names and file paths).</summary>
public static class RegionNames
{
    /// <exception cref="ArgumentException">The name is empty or uses other characters; the message names it.</exception>
    public static void Validate(string region)
    {
        ArgumentException.ThrowIfNullOrEmpty(region);
        foreach (char ch in region)
        {
            if (!(char.IsAsciiLetterLower(ch) || char.IsAsciiDigit(ch) || ch == '-' || ch == '_'))
            {
                throw new ArgumentException($"region '{region}' must use lowercase letters, digits, '-' and '_' only", nameof(region));
            }
        }
    }
}
