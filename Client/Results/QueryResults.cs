using System.Collections;

namespace Proxima.Client;

/// <summary>The answer to a query: one <see cref="DatasetResult"/> per dataset, in query order, and statistics.</summary>
public sealed class QueryResults : IReadOnlyList<DatasetResult>
{
    private readonly List<DatasetResult> _results;

    internal QueryResults(List<DatasetResult> results, QueryStatistics statistics)
    {
        _results = results;
        Statistics = statistics;
    }

    /// <summary>Where the work happened and what crossed regions.</summary>
    public QueryStatistics Statistics { get; }

    /// <summary>Number of dataset results.</summary>
    public int Count => _results.Count;

    /// <summary>The result at <paramref name="index"/> (query order).</summary>
    public DatasetResult this[int index] => _results[index];

    /// <summary>The result of dataset <paramref name="dataset"/>.</summary>
    /// <exception cref="KeyNotFoundException">The query had no such dataset.</exception>
    public DatasetResult this[string dataset]
    {
        get
        {
            foreach (var r in _results)
            {
                if (r.Dataset == dataset)
                {
                    return r;
                }
            }

            throw new KeyNotFoundException($"No result for dataset '{dataset}'.");
        }
    }

    /// <summary>The only result (a query over one dataset).</summary>
    /// <exception cref="InvalidOperationException">The query had several datasets.</exception>
    public DatasetResult Single() => _results.Count == 1 ? _results[0]
        : throw new InvalidOperationException($"The query returned {_results.Count} results; index them by dataset id.");

    /// <inheritdoc />
    public IEnumerator<DatasetResult> GetEnumerator() => _results.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Per-query statistics: bytes that crossed regions and per-region work.</summary>
/// <param name="BytesCrossRegion">Bytes of partial results that crossed region links.</param>
/// <param name="Regions">Per region: chunks read, bytes read, milliseconds.</param>
/// <param name="Milliseconds">Router-side duration, when reported.</param>
public sealed record QueryStatistics(long BytesCrossRegion, IReadOnlyDictionary<string, RegionStatistics> Regions, double Milliseconds);

/// <summary>One region's share of a query.</summary>
/// <param name="Chunks">Chunks read.</param>
/// <param name="BytesRead">Bytes read from storage.</param>
/// <param name="Milliseconds">Time spent in the region.</param>
public sealed record RegionStatistics(long Chunks, long BytesRead, double Milliseconds);

/// <summary>Progress of a running query, reported from the router's gRPC stream. Reports are monotonic
/// and the last one has <see cref="Fraction"/> = 1.</summary>
/// <param name="ChunksDone">Chunks finished so far, over all regions.</param>
/// <param name="ChunksTotal">Chunks the query touches (0 while unknown).</param>
/// <param name="BytesRead">Bytes read so far.</param>
/// <param name="Region">The region the latest event came from, if any.</param>
public sealed record QueryProgress(long ChunksDone, long ChunksTotal, long BytesRead, string? Region)
{
    /// <summary>Fraction done, 0..1.</summary>
    public double Fraction => ChunksTotal <= 0 ? 0 : Math.Clamp((double)ChunksDone / ChunksTotal, 0, 1);

    /// <summary>Percent done, 0..100.</summary>
    public double Percent => Fraction * 100;
}
