using System.Buffers;
using System.Diagnostics;
using Proxima.Compute.Kernels;
using Proxima.Compute.Planning;

namespace Proxima.Compute.Execution;

/// <summary>
/// Reduces one dense box (the selected part of a chunk, logical dim order) into chunk-local moments, then merges
/// them into the execution's output box with Chan's formula.
/// </summary>
/// <remarks>
/// When the innermost dim is kept, rows map onto contiguous output cells: the column kernel reduces each cell over
/// the rows sharing it (count/sum/min/max, then M2 about the cell's chunk mean). When the innermost
/// dim is reduced or grouped, each run of equal output cell is reduced by the span kernels into an exact partial and
/// merged into its cell.
/// </remarks>
internal static class ChunkReducer
{
    /// <param name="threads">Threads the column kernel may split this chunk's rows over (the span path uses one).</param>
    /// <param name="lane">The accumulators this chunk merges into (<see cref="ExecutionState.RentLane"/>).</param>
    public static void Reduce<T, TL>(ExecutionState state, ChunkGroup[] groups, T[] boxArray, int boxLength, int threads, Accumulators lane)
        where T : unmanaged
        where TL : IWideningLoader<T>
    {
        var box = new ReadOnlySpan<T>(boxArray, 0, boxLength);
        var dims = state.Plan.LogicalDims;
        var nl = groups.Length;
        var path = SimdPaths.Best;
        var t0 = Stopwatch.GetTimestamp();

        // Chunk-local output box.
        var outPos = new int[nl][];
        var lmin = new int[nl];
        var lext = new int[nl];
        for (var j = 0; j < nl; j++)
        {
            outPos[j] = state.OutPositions(j, groups[j]);
            if (dims[j].Role == DimRole.Reduced)
            {
                lext[j] = 1;
                continue;
            }

            int a = int.MaxValue, b = int.MinValue;
            foreach (var p in outPos[j])
            {
                a = Math.Min(a, p);
                b = Math.Max(b, p);
            }

            lmin[j] = a;
            lext[j] = b - a + 1;
        }

        var inner = nl - 1;
        var innerOut = outPos[inner];
        if (dims[inner].Role == DimRole.Kept && QueryExecutor.IsConsecutive(innerOut))
        {
            // Rows map onto runs of consecutive output cells: the column kernel merges straight into the output.
            ReduceKeptInner<T, TL>(state, groups, dims, boxArray, boxLength, outPos, path, threads, lane);
            if (state.Timings is { } kt)
            {
                kt.AddKernel(Stopwatch.GetTimestamp() - t0);
                kt.AddMerge(0);
            }

            return;
        }

        var lstride = new int[nl];
        var cells = 1;
        for (var j = nl - 1; j >= 0; j--)
        {
            if (dims[j].Role == DimRole.Reduced)
            {
                continue;
            }

            lstride[j] = cells;
            cells *= lext[j];
        }

        var pool = ArrayPool<double>.Shared;
        var cnt = pool.Rent(cells);
        var sum = pool.Rent(cells);
        var m2 = pool.Rent(cells);
        var mn = pool.Rent(cells);
        var mx = pool.Rent(cells);
        try
        {
            cnt.AsSpan(0, cells).Clear();
            sum.AsSpan(0, cells).Clear();
            m2.AsSpan(0, cells).Clear();
            mn.AsSpan(0, cells).Fill(double.PositiveInfinity);
            mx.AsSpan(0, cells).Fill(double.NegativeInfinity);

            var innerLen = groups[inner].Positions.Length;
            var idx = new int[nl];
            var pos = 0;
            var reducedInner = dims[inner].Role == DimRole.Reduced;
            do
            {
                var rowBase = RowBase(idx, outPos, lmin, lstride, dims, inner);
                var row = box.Slice(pos, innerLen);
                var l = 0;
                while (l < innerLen)
                {
                    var end = innerLen;
                    var cell = rowBase;
                    if (!reducedInner)
                    {
                        end = l + 1;
                        while (end < innerLen && innerOut[end] == innerOut[l])
                        {
                            end++;
                        }

                        cell += innerOut[l] - lmin[inner];
                    }

                    var run = row[l..end];
                    MomentKernels.SpanMoments<TL, T>(run, out var c, out var s, out var lo, out var hi, path);
                    if (c > 0)
                    {
                        var q = MomentKernels.SpanDeviations<TL, T>(run, s / c, path);
                        ChanMerge.Into(ref cnt[cell], ref sum[cell], ref m2[cell], ref mn[cell], ref mx[cell], c, s, q, lo, hi);
                    }

                    l = end;
                }

                pos += innerLen;
            }
            while (QueryExecutor.Advance(idx, groups, inner));

            var t1 = Stopwatch.GetTimestamp();
            MergeIntoOutput(state, lane, dims, lmin, lext, cells, cnt, sum, m2, mn, mx);
            if (state.Timings is { } timings)
            {
                timings.AddKernel(t1 - t0);
                timings.AddMerge(Stopwatch.GetTimestamp() - t1);
            }
        }
        finally
        {
            pool.Return(cnt);
            pool.Return(sum);
            pool.Return(m2);
            pool.Return(mn);
            pool.Return(mx);
        }
    }

    /// <summary>
    /// Innermost dim kept and contiguous. For each kept outer index and each bucket of rows sharing cells (all
    /// reduced rows, or the rows of one group), the fused column kernel reduces every cell over the bucket's rows in
    /// registers (moments, then M2 about the cell mean while the rows are in L1) and merges it into the output cell
    /// with Chan's formula, holding the stripe locks of those cells: no chunk-local accumulators, no second pass.
    /// </summary>
    private static void ReduceKeptInner<T, TL>(ExecutionState state, ChunkGroup[] groups, LogicalDim[] dims, T[] boxArray, int boxLength, int[][] outPos, SimdPath path, int threads, Accumulators lane)
        where T : unmanaged
        where TL : IWideningLoader<T>
    {
        var ctx = KeptInner.Create(state, groups, dims, outPos, path, lane);
        var keptCount = ctx.KeptCount;
        var parts = Math.Min(threads, keptCount);
        if (parts <= 1)
        {
            ctx.Run<T, TL>(boxArray, boxLength, 0, keptCount);
            return;
        }

        // One chunk, several threads: contiguous ranges of kept indices, so each thread owns its cells.
        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, p =>
            ctx.Run<T, TL>(boxArray, boxLength, (int)((long)keptCount * p / parts), (int)((long)keptCount * (p + 1) / parts)));
    }

    /// <summary>
    /// A whole chunk whose leading dim is reduced or grouped and whose other dims are kept, decoded a piece of leading
    /// rows (<paramref name="pieceRows"/>) at a time into <paramref name="buffer"/> (ranges on compressed-block boundaries, so
    /// each block is decoded once; the partial row after a piece's last block moves to the buffer's start), each piece
    /// reduced by the fused column kernel and merged into the output with Chan's formula while it is still in the
    /// cache, into <paramref name="lane"/>. Returns the decode and kernel ticks.
    /// </summary>
    public static (long Decode, long Kernel) ReduceInPieces(ExecutionState state, ChunkGroup[] groups, IChunkRanges ranges, float[] buffer, int rows, int rowLength, int pieceRows, Accumulators lane)
    {
        var dims = state.Plan.LogicalDims;
        var nl = groups.Length;
        var outPos = new int[nl][];
        for (var j = 0; j < nl; j++)
        {
            outPos[j] = state.OutPositions(j, groups[j]);
        }

        var all = KeptInner.Create(state, groups, dims, outPos, SimdPaths.Best, lane);
        var block = ranges.BlockElements;
        var chunkLen = (long)rows * rowLength;
        long decoded = 0;
        long bufferBase = 0;
        long decodeTicks = 0;
        long kernelTicks = 0;
        var done = 0;
        while (done < rows)
        {
            var t0 = Stopwatch.GetTimestamp();
            var target = Math.Min(rows, done + pieceRows);
            var end = Math.Min(chunkLen, ((((long)target * rowLength) + block - 1) / block) * block);
            if (end > decoded)
            {
                ranges.Read((int)decoded, buffer.AsSpan((int)(decoded - bufferBase), (int)(end - decoded)));
                decoded = end;
            }

            var complete = (int)Math.Min(rows, decoded / rowLength);
            var t1 = Stopwatch.GetTimestamp();
            var piece = all.Window((long)done * rowLength, (long)complete * rowLength, bufferBase);
            var length = (int)(decoded - bufferBase);
            piece.Run<float, FloatLoader>(buffer, length, 0, piece.KeptCount);

            // The rows after the last complete one (less than a row) move to the buffer's start.
            var tail = (int)(decoded - ((long)complete * rowLength));
            if (tail > 0)
            {
                buffer.AsSpan((int)(((long)complete * rowLength) - bufferBase), tail).CopyTo(buffer);
            }

            bufferBase = (long)complete * rowLength;
            done = complete;
            decodeTicks += t1 - t0;
            kernelTicks += Stopwatch.GetTimestamp() - t1;
        }

        return (decodeTicks, kernelTicks);
    }

    /// <summary>What every range of kept indices of one chunk shares (see <see cref="ReduceKeptInner"/>).</summary>
    private sealed class KeptInner(ExecutionState state, Accumulators lane, int[][] outPos, List<int> keptDims, int[] denseStride, List<(long CellOffset, int[] RowOffsets)> buckets, int inner, int innerLen, SimdPath path, int keptCount, bool spans)
    {
        /// <summary>Kept outer indices (the product of the kept dims' lengths, innermost dim excluded).</summary>
        public int KeptCount => keptCount;

        public static KeptInner Create(ExecutionState state, ChunkGroup[] groups, LogicalDim[] dims, int[][] outPos, SimdPath path, Accumulators lane)
        {
            var nl = groups.Length;
            var inner = nl - 1;
            var innerLen = groups[inner].Positions.Length;
            var strides = state.GlobalStrides;
            var denseStride = new int[nl];
            var st = 1;
            for (var j = nl - 1; j >= 0; j--)
            {
                denseStride[j] = st;
                st *= groups[j].Positions.Length;
            }

            // Outer dims split into kept (cells differ), reduced (rows fold into the same cells) and at most one grouped
            // dim (rows of one group fold into that group's cells): each bucket is the set of rows sharing cells.
            var keptDims = new List<int>();
            var redDims = new List<int>();
            var grouped = -1;
            for (var j = 0; j < inner; j++)
            {
                switch (dims[j].Role)
                {
                    case DimRole.Reduced: redDims.Add(j); break;
                    case DimRole.Grouped: grouped = j; break;
                    default: keptDims.Add(j); break;
                }
            }

            var redCount = 1;
            foreach (var j in redDims)
            {
                redCount *= groups[j].Positions.Length;
            }

            var redOffsets = new int[redCount];
            var ri = new int[redDims.Count];
            for (var r = 0; r < redCount; r++)
            {
                var off = 0;
                for (var k = 0; k < redDims.Count; k++)
                {
                    off += ri[k] * denseStride[redDims[k]];
                }

                redOffsets[r] = off;
                for (var k = redDims.Count - 1; k >= 0; k--)
                {
                    if (++ri[k] < groups[redDims[k]].Positions.Length)
                    {
                        break;
                    }

                    ri[k] = 0;
                }
            }

            var buckets = new List<(long CellOffset, int[] RowOffsets)>();
            if (grouped < 0)
            {
                buckets.Add((0, redOffsets));
            }
            else
            {
                var byGroup = new SortedDictionary<int, List<int>>();
                var gp = outPos[grouped];
                for (var l = 0; l < gp.Length; l++)
                {
                    if (!byGroup.TryGetValue(gp[l], out var rows))
                    {
                        byGroup[gp[l]] = rows = [];
                    }

                    foreach (var r in redOffsets)
                    {
                        rows.Add(r + (l * denseStride[grouped]));
                    }
                }

                foreach (var kv in byGroup)
                {
                    buckets.Add((kv.Key * strides[grouped], [.. kv.Value]));
                }
            }

            var keptCount = 1;
            foreach (var j in keptDims)
            {
                keptCount *= groups[j].Positions.Length;
            }

            // Span counts (Accumulators.TrySpan) only where no other thread can read the lane's counts meanwhile.
            var spans = state.SpanCounts && lane.PrepareSpanCounts();
            return new KeptInner(state, lane, outPos, keptDims, denseStride, buckets, inner, innerLen, path, keptCount, spans);
        }

        /// <summary>
        /// The same reduction restricted to the rows at box offsets [<paramref name="from"/>, <paramref name="to"/>) (the
        /// leading dim is not kept, so every row offset is a whole leading row), read from a buffer that starts at box
        /// offset <paramref name="bufferBase"/>.
        /// </summary>
        public KeptInner Window(long from, long to, long bufferBase)
        {
            var window = new List<(long CellOffset, int[] RowOffsets)>(buckets.Count);
            foreach (var (cellOffset, rowOffsets) in buckets)
            {
                var n = 0;
                foreach (var r in rowOffsets)
                {
                    n += r >= from && r < to ? 1 : 0;
                }

                if (n == 0)
                {
                    continue;
                }

                var shifted = new int[n];
                n = 0;
                foreach (var r in rowOffsets)
                {
                    if (r >= from && r < to)
                    {
                        shifted[n++] = (int)(r - bufferBase);
                    }
                }

                window.Add((cellOffset, shifted));
            }

            return new KeptInner(state, lane, outPos, keptDims, denseStride, window, inner, innerLen, path, keptCount, spans);
        }

        /// <summary>Kept indices [from, to) in odometer order (last kept dim fastest), for the moments the query's ops need.</summary>
        public void Run<T, TL>(T[] boxArray, int boxLength, int from, int to)
            where T : unmanaged
            where TL : IWideningLoader<T>
        {
            if (from >= to)
            {
                return;
            }

            switch (state.Moments)
            {
                case MomentSets.NoMinMax: Run<T, TL, NoMinMax>(boxArray, boxLength, from, to); break;
                case MomentSets.NoM2: Run<T, TL, NoM2>(boxArray, boxLength, from, to); break;
                case MomentSets.CountSum: Run<T, TL, CountSum>(boxArray, boxLength, from, to); break;
                default: Run<T, TL, AllMoments>(boxArray, boxLength, from, to); break;
            }
        }

        private void Run<T, TL, TSet>(T[] boxArray, int boxLength, int from, int to)
            where T : unmanaged
            where TL : IWideningLoader<T>
            where TSet : IMomentSet
        {

            var box = new ReadOnlySpan<T>(boxArray, 0, boxLength);
            var strides = state.GlobalStrides;
            var count = lane.CellCounts;
            var sum = lane.Sum;
            var m2 = lane.M2;
            var min = lane.Min;
            var max = lane.Max;
            var locked = !state.PrivateLanes;
            var spanWidth = spans ? ColumnKernels.SpanWidth(innerLen, path) : 0;
            var ki = new int[keptDims.Count];
            var rest = from;
            for (var k = keptDims.Count - 1; k >= 0; k--)
            {
                var len = outPos[keptDims[k]].Length;
                ki[k] = rest % len;
                rest /= len;
            }

            for (var o = from; o < to; o++)
            {
                var rowOff = 0;
                long cellBase = outPos[inner][0];
                for (var k = 0; k < keptDims.Count; k++)
                {
                    var j = keptDims[k];
                    rowOff += ki[k] * denseStride[j];
                    cellBase += outPos[j][ki[k]] * strides[j];
                }

                // Each (kept index, bucket) covers its own cells of this chunk; other chunks may cover them too in a
                // shared lane, hence the locks there.
                foreach (var (cellOffset, rowOffsets) in buckets)
                {
                    var c0 = cellBase + cellOffset;
                    var g = (int)c0;
                    if (!locked)
                    {
                        Merge<T, TL, TSet>(box[rowOff..], rowOffsets, g, spanWidth, count, sum, m2, min, max);
                        continue;
                    }

                    state.EnterCells(c0, innerLen);
                    try
                    {
                        Merge<T, TL, TSet>(box[rowOff..], rowOffsets, g, spanWidth, count, sum, m2, min, max);
                    }
                    finally
                    {
                        state.ExitCells(c0, innerLen);
                    }
                }

                for (var k = keptDims.Count - 1; k >= 0; k--)
                {
                    if (++ki[k] < outPos[keptDims[k]].Length)
                    {
                        break;
                    }

                    ki[k] = 0;
                }
            }
        }

        /// <summary>One (kept index, bucket) call: its cells counted as a span when they are one, else per cell.</summary>
        private void Merge<T, TL, TSet>(ReadOnlySpan<T> rows, int[] rowOffsets, int g, int spanWidth, double[] count, double[] sum, double[] m2, double[] min, double[] max)
            where T : unmanaged
            where TL : IWideningLoader<T>
            where TSet : IMomentSet
        {
            if (spanWidth > 0 && lane.TrySpan(g, spanWidth))
            {
                ColumnKernels.MomentsIntoSpan<TL, T, TSet>(rows, rowOffsets, innerLen, ref lane.SpanCount(g), count.AsSpan(g, innerLen), sum.AsSpan(g, innerLen), m2.AsSpan(g, innerLen), min.AsSpan(g, innerLen), max.AsSpan(g, innerLen), path);
                return;
            }

            ColumnKernels.MomentsInto<TL, T, TSet>(rows, rowOffsets, innerLen, count.AsSpan(g, innerLen), sum.AsSpan(g, innerLen), m2.AsSpan(g, innerLen), min.AsSpan(g, innerLen), max.AsSpan(g, innerLen), path);
        }
    }

    private static int RowBase(int[] idx, int[][] outPos, int[] lmin, int[] lstride, LogicalDim[] dims, int inner)
    {
        var b = 0;
        for (var j = 0; j < inner; j++)
        {
            if (dims[j].Role != DimRole.Reduced)
            {
                b += (outPos[j][idx[j]] - lmin[j]) * lstride[j];
            }
        }

        return b;
    }

    private static void MergeIntoOutput(ExecutionState state, Accumulators lane, LogicalDim[] dims, int[] lmin, int[] lext, int cells, double[] cnt, double[] sum, double[] m2, double[] mn, double[] mx)
    {
        var nl = dims.Length;
        var gCount = lane.Count;
        var gSum = lane.Sum;
        var gM2 = lane.M2;
        var gMin = lane.Min;
        var gMax = lane.Max;
        var li = new int[nl];
        var locked = !state.PrivateLanes;
        if (locked)
        {
            state.EnterAll();
        }

        try
        {
            for (var c = 0; c < cells; c++)
            {
                // Local cell c → global index (odometer over local extents, last dim fastest).
                long g = 0;
                for (var j = 0; j < nl; j++)
                {
                    if (dims[j].Role != DimRole.Reduced)
                    {
                        g += (long)(lmin[j] + li[j]) * state.GlobalStrides[j];
                    }
                }

                ChanMerge.Into(ref gCount[g], ref gSum[g], ref gM2[g], ref gMin[g], ref gMax[g], cnt[c], sum[c], m2[c], mn[c], mx[c]);
                for (var j = nl - 1; j >= 0; j--)
                {
                    if (++li[j] < lext[j])
                    {
                        break;
                    }

                    li[j] = 0;
                }
            }
        }
        finally
        {
            if (locked)
            {
                state.ExitAll();
            }
        }
    }
}
