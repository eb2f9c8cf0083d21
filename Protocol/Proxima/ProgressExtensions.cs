using Proxima.Protocol.V1;

namespace Proxima.Protocol;

/// <summary>Combining progress reports of the same piece of work.</summary>
public static class ProgressExtensions
{
    /// <summary>
    /// The furthest of two reports of one unit or share: a retry from the start or a hedged copy reports from
    /// a run of its own, and a late report can arrive after a later one, so each count only moves forward.
    /// </summary>
    public static Progress Furthest(this Progress latest, Progress? seen) => seen is null ? latest : new Progress
    {
        ChunksDone = Math.Max(latest.ChunksDone, seen.ChunksDone),
        ChunksTotal = Math.Max(latest.ChunksTotal, seen.ChunksTotal),
        BytesRead = Math.Max(latest.BytesRead, seen.BytesRead),
    };
}
