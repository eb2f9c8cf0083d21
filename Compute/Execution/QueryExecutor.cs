using System.Diagnostics;
using Proxima.Arrays.Codecs;
using Proxima.Compute.Kernels;
using Proxima.Compute.Planning;
using Proxima.Compute.Query;

namespace Proxima.Compute.Execution;

/// <summary>Options for <c>QueryExecutor.ExecuteAsync</c>.</summary>
public sealed record ExecutionOptions
{
    /// <summary>Chunks read and reduced concurrently; memory ≈ this × (chunk + gathered box) + output (see <c>BufferSet</c>).</summary>
    public int MaxChunksInFlight { get; init; } = Math.Max(2, Environment.ProcessorCount);

    /// <summary>Largest answer (output cells of the whole query) accepted; beyond it the query is a 400 <c>limit_exceeded</c>.</summary>
    public long MaxOutputCells { get; init; } = 50_000_000;

    /// <summary>
    /// When <see cref="MaxChunksInFlight"/> whole decoded chunks would not fit in this many bytes (the last-level
    /// cache), a reduction that keeps the innermost dim takes one chunk at a time and gives it all the threads instead
    /// (Blosc decompresses it in that many block ranges, then the column kernel runs over it split by rows), so the
    /// chunk is still in the cache when the kernel reads it. Off by default (<see cref="long.MaxValue"/>): on the
    /// 2-core test machine with 25 MB chunks two chunks at a time, one thread each, were 1.9x faster (no per-chunk
    /// fork/join, both cores busy through each chunk's serial parts).
    /// </summary>
    public long CacheBytes { get; init; } = long.MaxValue;

    /// <summary>
    /// Decoded bytes a chunk is reduced in when it can be (default 8 MiB; 0 always decodes chunks whole): a whole
    /// float32 Blosc chunk whose leading dim is reduced or grouped and whose innermost dim is kept is decoded a range
    /// of leading rows at a time into a buffer of this size (whole compressed blocks, on the chunk's own thread) and
    /// each range is reduced and merged while it is still in the CPU cache, so the decoded chunk never goes to memory
    /// and back. A plan of that shape runs <see cref="MaxChunksInFlight"/> chunks at a time whatever <see cref="CacheBytes"/>
    /// says (also when its source turns out to read chunks whole: that is known only per chunk). Each piece is merged
    /// into the output once, so the accumulators (8–24 bytes a cell) are read and written once per piece: 8 MiB (8 rows
    /// of a 0.5° grid, 3 pieces of a 24-row chunk) kept that traffic at a third of 2 MiB's while the two pieces in
    /// flight and their accumulators still fit the 48 MB L3 of the test machine; in interleaved runs at load 13–24
    /// it took 20–25% less CPU than 2 MiB for mean+std and 5–10% less for the monthly mean (TuningBenchmarks).
    /// </summary>
    public int PieceBytes { get; init; } = 8 << 20;

    /// <summary>When set, per-phase times are added to it (benchmarks).</summary>
    internal ExecutionTimings? Timings { get; init; }
}

/// <summary>
/// Runs a <see cref="QueryPlan"/> (or a <see cref="ChunkRange"/> of it): streams chunks through the SIMD kernels
/// with a bounded number in flight and returns a mergeable <see cref="PartialResult"/>.
/// </summary>
public static partial class QueryExecutor
{
    internal static QueryPlan Plan(IGridSource source, string dataset, QuerySpec spec) => QueryPlanner.Plan(source, dataset, spec);

    /// <summary>Executes the chunks in <paramref name="range"/> (all chunks when null) of a plan.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside 0..plan.ChunkCount.</exception>
    public static async Task<PartialResult> ExecuteAsync(
        QueryPlan plan,
        ChunkRange? range = null,
        ExecutionOptions? options = null,
        IProgress<QueryProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var r = range ?? new ChunkRange(0, plan.ChunkCount);
        if (r.Start < 0 || r.Count < 0 || r.End > plan.ChunkCount)
        {
            throw new ArgumentOutOfRangeException(nameof(range), $"Chunk range {r.Start}+{r.Count} is outside the plan's {plan.ChunkCount} chunks.");
        }

        options ??= new ExecutionOptions();
        long cells = 1;
        foreach (var n in plan.Shape)
        {
            cells *= n;
        }

        if (cells > options.MaxOutputCells)
        {
            throw new QueryValidationException("limit_exceeded", $"The answer would have {cells} cells (limit {options.MaxOutputCells}); narrow 'select' or add 'reduce'.", "select");
        }

        var threads = Math.Max(1, options.MaxChunksInFlight);
        var state = new ExecutionState(plan, r) { Timings = options.Timings, PieceBytes = Math.Max(0, options.PieceBytes), ChunksInFlight = threads };
        var done = 0;
        long bytes = 0;
        var chunkBytes = (long)state.ChunkLength * (plan.Source.IsDouble ? 8 : 4);
        var inPieces = state.PieceBytes > 0 && state.CanReduceInPieces;
        if (threads > 1 && !inPieces && plan.IsReduce && plan.LogicalDims[^1].Role == DimRole.Kept && chunkBytes * threads > options.CacheBytes)
        {
            for (var ordinal = r.Start; ordinal < r.End; ordinal++)
            {
                var read = plan.Source.IsDouble
                    ? await ProcessChunkAsync<double, DoubleLoader>(state, ordinal, threads, cancellationToken).ConfigureAwait(false)
                    : await ProcessChunkAsync<float, FloatLoader>(state, ordinal, threads, cancellationToken).ConfigureAwait(false);
                bytes += read;
                done++;
                progress?.Report(new QueryProgress(done, r.Count, bytes));
            }

            return state.ToPartial(done, bytes);
        }

        await Parallel.ForEachAsync(
            Ordinals(r),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.MaxChunksInFlight), CancellationToken = cancellationToken },
            async (ordinal, ct) =>
            {
                var read = plan.Source.IsDouble
                    ? await ProcessChunkAsync<double, DoubleLoader>(state, ordinal, 1, ct).ConfigureAwait(false)
                    : await ProcessChunkAsync<float, FloatLoader>(state, ordinal, 1, ct).ConfigureAwait(false);
                var total = Interlocked.Add(ref bytes, read);
                var n = Interlocked.Increment(ref done);
                progress?.Report(new QueryProgress(n, r.Count, total));
            }).ConfigureAwait(false);

        var finish = Stopwatch.GetTimestamp();
        var partial = state.ToPartial(done, Interlocked.Read(ref bytes));
        options.Timings?.AddFinish(Stopwatch.GetTimestamp() - finish);
        return partial;
    }

    private static IEnumerable<int> Ordinals(ChunkRange r)
    {
        for (var i = r.Start; i < r.End; i++)
        {
            yield return i;
        }
    }

    /// <param name="threads">Threads this one chunk may use (decode and kernel); 1 when chunks run in parallel.</param>
    private static async ValueTask<long> ProcessChunkAsync<T, TL>(ExecutionState state, int ordinal, int threads, CancellationToken ct)
        where T : unmanaged
        where TL : IWideningLoader<T>
    {
        var plan = state.Plan;
        var nl = plan.LogicalDims.Length;
        var gi = new int[nl];
        plan.GroupsOf(ordinal, gi);
        var chunkIndex = plan.ChunkIndexOf(gi);
        var chunkLen = state.ChunkLength;
        if (typeof(T) == typeof(float) && state.PieceBytes > 0 && state.CanReduceInPieces
            && await TryReduceInPiecesAsync(state, gi, chunkIndex, ct).ConfigureAwait(false) is long pieceRead)
        {
            return pieceRead;
        }

        var groups = new ChunkGroup[nl];
        var boxLen = 1;
        var whole = true;
        for (var j = 0; j < nl; j++)
        {
            groups[j] = plan.LogicalDims[j].Groups[gi[j]];
            boxLen *= groups[j].Positions.Length;
            whole &= state.IsWholeChunk(j, groups[j]);
        }

        var elements = SparseElements(state, groups, boxLen, out var inBoxOrder);
        var packed = elements is not null && inBoxOrder;
        T[]? chunk = packed ? null : state.Buffers.Rent<T>(chunkLen);
        T[]? dense = null;
        var timings = state.Timings;
        try
        {
            var t0 = Stopwatch.GetTimestamp();
            using var decodeThreads = DecodeThreads.Use(threads);
            long read;
            T[] box;
            if (packed)
            {
                // A point series: the selected elements, in box order, decoded straight into the box (no chunk buffer, no gather).
                dense = state.Buffers.Rent<T>(boxLen);
                read = typeof(T) == typeof(float)
                    ? await plan.Source.ReadChunkElementsPackedAsync(chunkIndex, elements!, ((float[])(object)dense).AsMemory(0, boxLen), ct).ConfigureAwait(false)
                    : await plan.Source.ReadChunkElementsPackedAsync(chunkIndex, elements!, ((double[])(object)dense).AsMemory(0, boxLen), ct).ConfigureAwait(false);
                box = dense;
                timings?.AddRead(Stopwatch.GetTimestamp() - t0);
            }
            else
            {
                read = typeof(T) == typeof(float)
                    ? await ReadAsync(plan.Source, chunkIndex, elements, ((float[])(object)chunk!).AsMemory(0, chunkLen), ct).ConfigureAwait(false)
                    : await ReadAsync(plan.Source, chunkIndex, elements, ((double[])(object)chunk!).AsMemory(0, chunkLen), ct).ConfigureAwait(false);
                var t1 = Stopwatch.GetTimestamp();
                timings?.AddRead(t1 - t0);
                box = chunk!;
                if (!whole)
                {
                    dense = state.Buffers.Rent<T>(boxLen);
                    Gather<T>(chunk!, groups, dense.AsSpan(0, boxLen));
                    box = dense;
                    timings?.AddGather(Stopwatch.GetTimestamp() - t1);
                }
                else
                {
                    boxLen = chunkLen;
                }
            }

            if (plan.IsReduce)
            {
                var lane = state.RentLane();
                try
                {
                    ChunkReducer.Reduce<T, TL>(state, groups, box, boxLen, threads, lane);
                }
                finally
                {
                    state.ReturnLane(lane);
                }
            }
            else
            {
                ScatterValues<T, TL>(state, groups, box.AsSpan(0, boxLen));
            }

            return read;
        }
        finally
        {
            if (chunk is not null)
            {
                state.Buffers.Return(chunk);
            }

            if (dense is not null)
            {
                state.Buffers.Return(dense);
            }
        }
    }

    /// <summary>
    /// Reduces a whole chunk a piece of leading rows at a time (<see cref="ChunkReducer.ReduceInPieces"/>) when its
    /// selection covers it whole and the source can decode it in ranges; null to read it whole instead.
    /// </summary>
    private static async ValueTask<long?> TryReduceInPiecesAsync(ExecutionState state, int[] gi, int[] chunkIndex, CancellationToken ct)
    {
        var plan = state.Plan;
        var nl = gi.Length;
        var groups = new ChunkGroup[nl];
        for (var j = 0; j < nl; j++)
        {
            groups[j] = plan.LogicalDims[j].Groups[gi[j]];
            if (!state.IsWholeChunk(j, groups[j]))
            {
                return null;
            }
        }

        if (!IsConsecutive(state.OutPositions(nl - 1, groups[nl - 1])))
        {
            return null;
        }

        var t0 = Stopwatch.GetTimestamp();
        using var ranges = await plan.Source.OpenChunkRangesAsync(chunkIndex, ct).ConfigureAwait(false);
        if (ranges is null)
        {
            return null;
        }

        var rows = plan.Source.ChunkShape[0];
        var rowLength = state.ChunkLength / rows;
        var pieceRows = BalancedPieceRows(rows, Math.Max(1, state.PieceBytes / 4 / rowLength));
        var capacity = (int)Math.Min(state.ChunkLength, ((long)pieceRows * rowLength) + ranges.BlockElements);
        var buffer = state.Buffers.Rent<float>(capacity);
        var lane = state.RentLane();
        try
        {
            var open = Stopwatch.GetTimestamp() - t0;
            var (decode, kernel) = ChunkReducer.ReduceInPieces(state, groups, ranges, buffer, rows, rowLength, pieceRows, lane);
            if (state.Timings is { } timings)
            {
                timings.AddRead(open + decode);
                timings.AddKernel(kernel);
                timings.AddMerge(0);
            }

            return ranges.BytesRead;
        }
        finally
        {
            state.ReturnLane(lane);
            state.Buffers.Return(buffer);
        }
    }

    /// <summary>
    /// Rows per piece when a chunk of <paramref name="rows"/> rows is cut in pieces of at most <paramref name="maxRows"/>:
    /// the fewest pieces, of equal size but the last (24 rows at most 10 a piece: 8+8+8, not 10+10+4), so no piece is
    /// merged for a few rows and the buffer is no larger than the pieces need.
    /// </summary>
    internal static int BalancedPieceRows(int rows, int maxRows)
    {
        var pieces = (rows + maxRows - 1) / maxRows;
        return (rows + pieces - 1) / pieces;
    }

    /// <summary>Element reads are used when the selected box is at most 1/this of the chunk.</summary>
    internal const int SparseReadFraction = 8;

    private static ValueTask<long> ReadAsync(IGridSource source, int[] chunkIndex, int[]? elements, Memory<float> chunk, CancellationToken ct) =>
        elements is null ? source.ReadChunkAsync(chunkIndex, chunk, ct) : source.ReadChunkElementsAsync(chunkIndex, elements, chunk, ct);

    private static ValueTask<long> ReadAsync(IGridSource source, int[] chunkIndex, int[]? elements, Memory<double> chunk, CancellationToken ct) =>
        elements is null ? source.ReadChunkAsync(chunkIndex, chunk, ct) : source.ReadChunkElementsAsync(chunkIndex, elements, chunk, ct);

    /// <summary>
    /// For a selection touching a small part of its chunk (a point series), the chunk offsets to read, ascending and
    /// distinct (points may share a cell), so the source reads only those where the format allows (byte ranges, blosc
    /// blocks); null to read the whole chunk. <paramref name="inBoxOrder"/> is true when entry i is box element i (the
    /// offsets ascended in box order already, as a point series walking time does), so they can be read packed.
    /// </summary>
    private static int[]? SparseElements(ExecutionState state, ChunkGroup[] groups, long boxLen, out bool inBoxOrder)
    {
        inBoxOrder = false;
        var nl = groups.Length;
        if (boxLen * SparseReadFraction > state.ChunkLength)
        {
            return null;
        }

        // Odometer over the outer dims, the innermost dim's offsets added in a plain loop.
        var all = new int[boxLen];
        var inner = groups[nl - 1].SrcOffsets;
        var idx = new int[nl];
        var n = 0;
        var sorted = true;
        var previous = -1;
        do
        {
            var off = 0;
            for (var j = 0; j < nl - 1; j++)
            {
                off += groups[j].SrcOffsets[idx[j]];
            }

            for (var l = 0; l < inner.Length; l++)
            {
                var e = off + inner[l];
                sorted &= e > previous;
                previous = e;
                all[n++] = e;
            }
        }
        while (Advance(idx, groups, nl - 1));

        // Usually ascending already (a point series walks time in order): sort only when not.
        if (sorted)
        {
            inBoxOrder = true;
            return all;
        }

        Array.Sort(all);
        var m = 0;
        for (var i = 0; i < all.Length; i++)
        {
            if (m == 0 || all[i] != all[m - 1])
            {
                all[m++] = all[i];
            }
        }

        return m == all.Length ? all : all.AsSpan(0, m).ToArray();
    }

    /// <summary>Copies the selected elements of a chunk into a dense box in logical dim order.</summary>
    private static void Gather<T>(T[] chunk, ChunkGroup[] groups, Span<T> dest)
        where T : unmanaged
    {
        var nl = groups.Length;
        var inner = groups[nl - 1].SrcOffsets;
        var innerLen = inner.Length;
        var consecutive = IsConsecutive(inner);
        var idx = new int[nl];
        var pos = 0;
        while (true)
        {
            var baseOff = 0;
            for (var j = 0; j < nl - 1; j++)
            {
                baseOff += groups[j].SrcOffsets[idx[j]];
            }

            if (consecutive)
            {
                chunk.AsSpan(baseOff + inner[0], innerLen).CopyTo(dest.Slice(pos, innerLen));
            }
            else
            {
                for (var l = 0; l < innerLen; l++)
                {
                    dest[pos + l] = chunk[baseOff + inner[l]];
                }
            }

            pos += innerLen;
            if (!Advance(idx, groups, nl - 1))
            {
                break;
            }
        }
    }

    /// <summary>Odometer over dims 0..count-1 (last fastest); false when it wraps.</summary>
    internal static bool Advance(int[] idx, ChunkGroup[] groups, int count)
    {
        for (var j = count - 1; j >= 0; j--)
        {
            if (++idx[j] < groups[j].Positions.Length)
            {
                return true;
            }

            idx[j] = 0;
        }

        return false;
    }

    internal static bool IsConsecutive(int[] a)
    {
        for (var i = 1; i < a.Length; i++)
        {
            if (a[i] != a[i - 1] + 1)
            {
                return false;
            }
        }

        return true;
    }

    private static void ScatterValues<T, TL>(ExecutionState state, ChunkGroup[] groups, ReadOnlySpan<T> box)
        where T : unmanaged
        where TL : IWideningLoader<T>
    {
        var nl = groups.Length;
        var outPos = new int[nl][];
        for (var j = 0; j < nl; j++)
        {
            outPos[j] = state.OutPositions(j, groups[j]);
        }

        var values = state.Values!;
        var innerPos = outPos[nl - 1];
        var innerLen = innerPos.Length;
        var consecutive = IsConsecutive(innerPos);
        var idx = new int[nl];
        var pos = 0;
        ref var b0 = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(box);
        while (true)
        {
            long gbase = 0;
            for (var j = 0; j < nl - 1; j++)
            {
                gbase += (long)outPos[j][idx[j]] * state.GlobalStrides[j];
            }

            if (consecutive)
            {
                var dst = values.AsSpan((int)(gbase + innerPos[0]), innerLen);
                for (var l = 0; l < innerLen; l++)
                {
                    dst[l] = TL.Load(ref b0, (nuint)(pos + l));
                }
            }
            else
            {
                for (var l = 0; l < innerLen; l++)
                {
                    values[gbase + innerPos[l]] = TL.Load(ref b0, (nuint)(pos + l));
                }
            }

            pos += innerLen;
            if (!Advance(idx, groups, nl - 1))
            {
                break;
            }
        }
    }
}
