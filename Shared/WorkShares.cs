namespace Proxima.Shared;

/// <summary>
/// How a share of a work unit (<c>WorkUnit.share_index</c> of <c>share_count</c>) maps to chunks: the worker
/// cuts its own plan's n chunks into contiguous shares, so the router needs no chunk count first. Linked
/// into the worker (which cuts) and the router (which checks each share covered exactly its chunks).
/// </summary>
internal static class WorkShares
{
    /// <summary>Chunks [start, end) of share <paramref name="index"/> of <paramref name="count"/> over <paramref name="chunks"/> chunks.</summary>
    public static (long Start, long End) Range(long chunks, int index, int count) =>
        (chunks * index / count, chunks * (index + 1) / count);

    /// <summary>
    /// True when the share gets no chunk and so answers a partial without data that is not merged; share 0
    /// of an empty chunk list is the exception: it carries the empty selection's answer.
    /// </summary>
    public static bool IsEmpty(long chunks, int index, int count)
    {
        var (start, end) = Range(chunks, index, count);
        return start == end && !(chunks == 0 && index == 0);
    }
}
