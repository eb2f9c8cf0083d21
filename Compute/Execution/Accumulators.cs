using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Proxima.Compute.Kernels;

namespace Proxima.Compute.Execution;

/// <summary>
/// One set of output accumulators of an execution: count (float64, exact below 2^53, so the kernels merge it in
/// vector lanes), sum, M2, min, max per cell of the output box; an empty cell is (0, 0, 0, +inf, −inf).
/// </summary>
/// <remarks>
/// Span counts (<see cref="PrepareSpanCounts"/>): the column kernel merges a run of consecutive cells (a span, always the
/// same cells for the same start: one chunk column's row of kept cells) once per piece of rows, and without NaN every
/// cell of a span has seen the same number of values. The span's count is then kept once, at its first cell, instead of
/// being loaded and stored per cell on every merge — a third of the accumulator traffic of mean+std and half of a
/// mean's. A span whose columns meet a NaN has its counts written out per cell and stays per cell. Reading
/// <see cref="Count"/> writes every span's count out first and ends span counting for this set, so every other reader
/// and writer (the span path's merge, <see cref="MergeFrom"/>, the partial result) sees per-cell counts.
/// </remarks>
internal sealed class Accumulators
{
    private readonly double[] _count;

    /// <summary>
    /// Per 8 cells (spans are at least 8 cells long and never overlap, so at most one starts in any 8): the start of
    /// the span starting there (−1: none yet) and its length, while span counting is on.
    /// </summary>
    private int[]? _spanStart;

    private int[]? _spanLength;

    /// <summary>Per span (same index): its cells' common count, or −1 once they are per cell in <see cref="_count"/>.</summary>
    private double[]? _spanCount;

    /// <summary>Set once <see cref="Count"/> was read: from then on every count is per cell.</summary>
    private bool _perCellOnly;

    public Accumulators(int cells)
    {
        _count = new double[cells];
        Sum = new double[cells];
        M2 = new double[cells];
        // Filled right away, so not zeroed first (a lane of a 0.5° grid is 2 MB per array).
        Min = GC.AllocateUninitializedArray<double>(cells);
        Max = GC.AllocateUninitializedArray<double>(cells);
        Array.Fill(Min, double.PositiveInfinity);
        Array.Fill(Max, double.NegativeInfinity);
    }

    /// <summary>The per-cell counts, every span's count written out first (see the remarks).</summary>
    public double[] Count
    {
        get
        {
            WriteOutSpans();
            return _count;
        }
    }

    /// <summary>The per-cell count array as it is, for the column kernel (span cells there are stale: see <see cref="TrySpan"/>).</summary>
    public double[] CellCounts => _count;

    public double[] Sum { get; }

    public double[] M2 { get; }

    public double[] Min { get; }

    public double[] Max { get; }

    /// <summary>
    /// Turns span counting on (allocates its tables) unless <see cref="Count"/> was read already; call before any thread
    /// uses <see cref="TrySpan"/>. False when counts are per cell.
    /// </summary>
    public bool PrepareSpanCounts()
    {
        if (_perCellOnly)
        {
            return false;
        }

        if (_spanLength is null)
        {
            var slots = (_count.Length >> SlotShift) + 1;
            _spanStart = new int[slots];
            Array.Fill(_spanStart, -1);
            _spanLength = new int[slots];
            _spanCount = new double[slots];
        }

        return true;
    }

    /// <summary>
    /// True when cells [<paramref name="start"/>, + <paramref name="length"/>) are a span counted at its start (the first
    /// call for a start makes it one, with count 0 — its cells are all empty then); false when they are per cell or
    /// the start was seen with another length (the cells are then written out per cell).
    /// </summary>
    public bool TrySpan(int start, int length)
    {
        var starts = _spanStart;
        if (starts is null || length < (1 << SlotShift))
        {
            return false;
        }

        var k = start >> SlotShift;
        if (starts[k] < 0)
        {
            starts[k] = start;
            _spanLength![k] = length;
            return true;
        }

        if (starts[k] != start || _spanLength![k] != length)
        {
            // Not the span this slot holds (spans are fixed per execution, so this is not expected): per cell from here.
            WriteOut(k);
            return false;
        }

        return _spanCount![k] >= 0;
    }

    /// <summary>The count of the span starting at <paramref name="start"/> (after <see cref="TrySpan"/> said true).</summary>
    public ref double SpanCount(int start) => ref _spanCount![start >> SlotShift];

    /// <summary>Writes the span of slot <paramref name="k"/> out to its cells; they are per cell from then on.</summary>
    private void WriteOut(int k)
    {
        var n = _spanCount![k];
        if (n >= 0)
        {
            _count.AsSpan(_spanStart![k], _spanLength![k]).Fill(n);
            _spanCount[k] = -1;
        }
    }

    /// <summary>
    /// Chan-merges <paramref name="other"/> into this set, cell by cell: four cells at a time in the vector form of the
    /// column kernel's merge (<c>(S_b·n_a − S_a·n_b)² / (n_a·n_b·n)</c>, equal to <see cref="ChanMerge"/>'s to 1e-12 relative),
    /// the tail with <see cref="ChanMerge"/> itself. It runs after the last chunk (the lanes of a 2-group 0.5°
    /// climatology are 520,000 cells: 13 ms of finishing work one cell at a time on the loaded test machine), split in
    /// up to <paramref name="threads"/> cell ranges of at least 64 Ki cells on threads of our own pool.
    /// </summary>
    /// <param name="other">The lane to fold in (left as it was, its span counts written out).</param>
    /// <param name="moments">The moments the execution's ops need: only they are merged (count and sum always); the
    /// others keep this set's values, which the partial result then carries unread (empty on the column path).</param>
    /// <param name="threads">Threads to split the cells over (the chunks in flight are done, so theirs are free).</param>
    public void MergeFrom(Accumulators other, MomentSets moments = MomentSets.All, int threads = 1)
    {
        var count = Count;
        var otherCount = other.Count;
        if (otherCount.Length != count.Length)
        {
            throw new ArgumentException($"lanes of {count.Length} and {otherCount.Length} cells", nameof(other));
        }

        const int MinCellsPerThread = 1 << 16;
        var parts = Math.Max(1, Math.Min(threads, count.Length / MinCellsPerThread));
        if (parts == 1)
        {
            MergeRange(other, moments, 0, count.Length);
            return;
        }

        Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, p =>
        {
            // Range ends on multiples of 8 cells, so every range but the last runs whole vectors.
            var from = (int)((long)count.Length * p / parts) & ~7;
            var to = p == parts - 1 ? count.Length : (int)((long)count.Length * (p + 1) / parts) & ~7;
            MergeRange(other, moments, from, to);
        });
    }

    private void MergeRange(Accumulators other, MomentSets moments, int from, int to)
    {
        switch (moments)
        {
            case MomentSets.NoMinMax: MergeRange<NoMinMax>(other, from, to); break;
            case MomentSets.NoM2: MergeRange<NoM2>(other, from, to); break;
            case MomentSets.CountSum: MergeRange<CountSum>(other, from, to); break;
            default: MergeRange<AllMoments>(other, from, to); break;
        }
    }

    /// <summary>Cells [<paramref name="from"/>, <paramref name="to"/>) of <see cref="MergeFrom"/> (span counts written out by it).</summary>
    private void MergeRange<TSet>(Accumulators other, int from, int to)
        where TSet : IMomentSet
    {
        var count = _count;
        var otherCount = other._count;
        var c = from;
        if (Vector256.IsHardwareAccelerated)
        {
            ref var na0 = ref MemoryMarshal.GetArrayDataReference(count);
            ref var sa0 = ref MemoryMarshal.GetArrayDataReference(Sum);
            ref var qa0 = ref MemoryMarshal.GetArrayDataReference(M2);
            ref var la0 = ref MemoryMarshal.GetArrayDataReference(Min);
            ref var ha0 = ref MemoryMarshal.GetArrayDataReference(Max);
            ref var nb0 = ref MemoryMarshal.GetArrayDataReference(otherCount);
            ref var sb0 = ref MemoryMarshal.GetArrayDataReference(other.Sum);
            ref var qb0 = ref MemoryMarshal.GetArrayDataReference(other.M2);
            ref var lb0 = ref MemoryMarshal.GetArrayDataReference(other.Min);
            ref var hb0 = ref MemoryMarshal.GetArrayDataReference(other.Max);
            for (; c + 4 <= to; c += 4)
            {
                var i = (nuint)c;
                var na = Vector256.LoadUnsafe(ref na0, i);
                var nb = Vector256.LoadUnsafe(ref nb0, i);
                var sa = Vector256.LoadUnsafe(ref sa0, i);
                var sb = Vector256.LoadUnsafe(ref sb0, i);
                var emptyA = Vector256.Equals(na, Vector256<double>.Zero);
                var emptyB = Vector256.LessThanOrEqual(nb, Vector256<double>.Zero);
                var nt = na + nb;
                if (TSet.M2)
                {
                    var qa = Vector256.LoadUnsafe(ref qa0, i);
                    var qb = Vector256.LoadUnsafe(ref qb0, i);
                    var d = Vector256.FusedMultiplyAdd(sb, na, -(sa * nb));
                    var q = qa + qb + (d * d / (na * nb * nt));
                    Vector256.ConditionalSelect(emptyB, qa, Vector256.ConditionalSelect(emptyA, qb, q)).StoreUnsafe(ref qa0, i);
                }

                Vector256.ConditionalSelect(emptyB, sa, Vector256.ConditionalSelect(emptyA, sb, sa + sb)).StoreUnsafe(ref sa0, i);
                Vector256.ConditionalSelect(emptyB, na, nt).StoreUnsafe(ref na0, i);
                if (TSet.MinMax)
                {
                    var la = Vector256.LoadUnsafe(ref la0, i);
                    var ha = Vector256.LoadUnsafe(ref ha0, i);
                    Vector256.ConditionalSelect(emptyB, la, Vector256.Min(la, Vector256.LoadUnsafe(ref lb0, i))).StoreUnsafe(ref la0, i);
                    Vector256.ConditionalSelect(emptyB, ha, Vector256.Max(ha, Vector256.LoadUnsafe(ref hb0, i))).StoreUnsafe(ref ha0, i);
                }
            }
        }

        for (; c < to; c++)
        {
            // ChanMerge merges all five; the moments not in the set are put back as they were.
            double m2 = M2[c], min = Min[c], max = Max[c];
            ChanMerge.Into(ref count[c], ref Sum[c], ref M2[c], ref Min[c], ref Max[c], otherCount[c], other.Sum[c], other.M2[c], other.Min[c], other.Max[c]);
            if (!TSet.M2)
            {
                M2[c] = m2;
            }

            if (!TSet.MinMax)
            {
                Min[c] = min;
                Max[c] = max;
            }
        }
    }

    private void WriteOutSpans()
    {
        var starts = _spanStart;
        _perCellOnly = true;
        if (starts is null)
        {
            return;
        }

        for (var k = 0; k < starts.Length; k++)
        {
            if (starts[k] >= 0)
            {
                WriteOut(k);
            }
        }

        _spanStart = null;
        _spanLength = null;
        _spanCount = null;
    }

    /// <summary>Cells per slot of the span tables (log2): the shortest span (<c>ColumnKernels.SpanWidth</c>) is 8 cells.</summary>
    private const int SlotShift = 3;
}
