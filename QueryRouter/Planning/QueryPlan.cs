using Proxima.Catalog;
using Proxima.Protocol.V1;
using QuerySpec = Proxima.Compute.Query.QuerySpec;

namespace Proxima.QueryRouter.Planning;

/// <summary>What the router will ask of which region for one query.</summary>
internal sealed record QueryPlan(string QueryId, QuerySpec Spec, IReadOnlyList<DatasetPlan> Datasets)
{
    public int UnitCount
    {
        get
        {
            var n = 0;
            foreach (var d in Datasets)
            {
                n += d.Units.Count;
            }

            return n;
        }
    }
}

/// <summary>
/// One requested dataset: its catalog parts, the work units that cover them, and (with allow_partial)
/// the parts no worker could even plan.
/// </summary>
internal sealed record DatasetPlan(string DatasetId, int Index, IReadOnlyList<DatasetDocument> Parts, IReadOnlyList<PlannedUnit> Units)
{
    public IReadOnlyList<string> MissingAtPlan { get; init; } = [];
}

/// <summary>
/// A work unit bound for a region's worker pool; <see cref="ChunkCount"/> = its range's length, or -1 for
/// all chunks and for a share (whose length follows from the worker's chunk total, <see cref="Covers"/>).
/// </summary>
internal sealed record PlannedUnit(string Region, DatasetDocument Part, WorkUnit Message)
{
    public long ChunkCount => Message.AllChunks || Message.ShareCount > 0 ? -1 : Message.ChunkEnd - Message.ChunkStart;

    /// <summary>True when a coordinator worker splits this unit over its pool and merges in-region (<c>WorkUnit.coordinate_shares</c>).</summary>
    public bool Coordinated => Message.CoordinateShares > 0;

    /// <summary>
    /// Whether a partial covers exactly this unit's chunks: its range, its share of the chunk total the worker
    /// reports, or, coordinated, every chunk of the coordinator's plan.
    /// </summary>
    public bool Covers(PartialResult partial)
    {
        var chunks = partial.Stats?.Chunks;
        if (Coordinated)
        {
            return partial.Stats is { } s && s.Chunks == s.ChunksTotal;
        }

        if (Message.ShareCount > 0)
        {
            var (start, end) = Shared.WorkShares.Range(partial.Stats?.ChunksTotal ?? 0, Message.ShareIndex, Message.ShareCount);
            return chunks == end - start;
        }

        return ChunkCount < 0 || chunks == ChunkCount;
    }

    /// <summary>How the answer names this unit's part when it is missing: <c>region</c> or <c>region:part</c>.</summary>
    public string MissingLabel => PartLabel(Region, Part);

    public static string PartLabel(string region, DatasetDocument part) =>
        part.Part is { Length: > 0 } p ? $"{region}:{p}"
        : part.Time is { } t ? $"{region}:{t.Start}/{t.End}"
        : region;
}
