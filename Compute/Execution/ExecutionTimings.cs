using System.Diagnostics;

namespace Proxima.Compute.Execution;

/// <summary>
/// Where an execution's time goes, summed over chunks (and so over threads: the phases add up to about
/// wall time × chunks in flight). Collected only when a benchmark passes one in <see cref="ExecutionOptions"/>;
/// a few <see cref="Stopwatch.GetTimestamp"/> calls per chunk, nothing per element.
/// </summary>
internal sealed class ExecutionTimings
{
    private long _read;
    private long _gather;
    private long _kernel;
    private long _merge;
    private long _chunks;
    private long _finish;

    /// <summary>Storage read + decompress + CF decode (<c>IGridSource.ReadChunkAsync</c>).</summary>
    public TimeSpan Read => Stopwatch.GetElapsedTime(0, Volatile.Read(ref _read));

    /// <summary>Copying a partly selected chunk into a dense box (zero when whole chunks are used in place).</summary>
    public TimeSpan Gather => Stopwatch.GetElapsedTime(0, Volatile.Read(ref _gather));

    /// <summary>The moment kernels over the box.</summary>
    public TimeSpan Kernel => Stopwatch.GetElapsedTime(0, Volatile.Read(ref _kernel));

    /// <summary>Folding a chunk's partial into the execution's accumulators (lock wait included).</summary>
    public TimeSpan Merge => Stopwatch.GetElapsedTime(0, Volatile.Read(ref _merge));

    public long Chunks => Volatile.Read(ref _chunks);

    /// <summary>After the last chunk: merging the lanes into one and building the partial result (one thread).</summary>
    public TimeSpan Finish => Stopwatch.GetElapsedTime(0, Volatile.Read(ref _finish));

    public void AddFinish(long ticks) => Interlocked.Add(ref _finish, ticks);

    public void AddRead(long ticks) => Interlocked.Add(ref _read, ticks);

    public void AddGather(long ticks) => Interlocked.Add(ref _gather, ticks);

    public void AddKernel(long ticks) => Interlocked.Add(ref _kernel, ticks);

    public void AddMerge(long ticks)
    {
        Interlocked.Add(ref _merge, ticks);
        Interlocked.Increment(ref _chunks);
    }
}
