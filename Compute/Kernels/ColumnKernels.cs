using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Proxima.Compute.Execution;

namespace Proxima.Compute.Kernels;

/// <summary>
/// The column kernel fused with the merge: for each of <c>n</c> columns over a set of rows (element (r, i) is
/// <c>x[rowOffsets[r] + i]</c>) it computes count/sum/min/max and then M2 about the column's own mean in registers,
/// and merges that partial into the accumulators with Chan's formula
/// (<see cref="ChanMerge.Into(ref double, ref double, ref double, ref double, ref double, double, double, double, double, double)"/>;
/// the vector paths write its correction δ²·n_a·n_b/n as (S_b·n_a − S_a·n_b)² / (n_a·n_b·n) with a fused multiply-add,
/// one division instead of three, and the unmasked pass takes the column mean as S·(1/rows): equal to the scalar
/// formula to 1e-12 relative, the same rounding error class). Each accumulator cell is read and written once per call.
/// </summary>
/// <remarks>
/// Two column vectors go through the row loop together (two independent dependency chains per accumulator, so the
/// adds are throughput- rather than latency-bound). The first pass runs without NaN masks; if a column's sum comes
/// out NaN (a NaN, or +inf and -inf, among its rows) the pair is redone with masks. Without NaN the masked and
/// unmasked passes perform the same additions, so the answer does not depend on which one ran.
/// An empty accumulator cell is (0, 0, 0, +inf, −inf).
/// </remarks>
internal static unsafe class ColumnKernels
{
    /// <summary>Elements ahead of the current column that the row loop asks the cache for (see <see cref="Prefetch"/>).</summary>
    private const int PrefetchAhead = 1024;

    public static void MomentsInto<TL, T>(ReadOnlySpan<T> x, ReadOnlySpan<int> rowOffsets, int n, Span<double> count, Span<double> sum, Span<double> m2, Span<double> min, Span<double> max, SimdPath path = SimdPath.Vector512)
        where TL : IWideningLoader<T>
        where T : unmanaged =>
        MomentsInto<TL, T, AllMoments>(x, rowOffsets, n, count, sum, m2, min, max, path);

    /// <summary>
    /// The same for the moments of <typeparamref name="TSet"/> only: without M2 there is no second pass over the rows
    /// and no division in the merge; without min/max those accumulators are neither read nor written.
    /// </summary>
    public static void MomentsInto<TL, T, TSet>(ReadOnlySpan<T> x, ReadOnlySpan<int> rowOffsets, int n, Span<double> count, Span<double> sum, Span<double> m2, Span<double> min, Span<double> max, SimdPath path = SimdPath.Vector512)
        where TL : IWideningLoader<T>
        where T : unmanaged
        where TSet : IMomentSet
    {
        if (count.Length < n || sum.Length < n || m2.Length < n || min.Length < n || max.Length < n)
        {
            ThrowHelper.AccumulatorTooShort();
        }

        for (var r = 0; r < rowOffsets.Length; r++)
        {
            if ((uint)rowOffsets[r] > (uint)x.Length || x.Length - rowOffsets[r] < n)
            {
                ThrowHelper.AccumulatorTooShort();
            }
        }

        var a = new Acc(ref MemoryMarshal.GetReference(count), ref MemoryMarshal.GetReference(sum), ref MemoryMarshal.GetReference(m2), ref MemoryMarshal.GetReference(min), ref MemoryMarshal.GetReference(max));
        ref var xs = ref MemoryMarshal.GetReference(x);
        var i = 0;
        if (path >= SimdPath.Vector512 && Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16)
            {
                if (!Pair512<TL, T, TSet, PerCellCount>(ref xs, rowOffsets, i, a, 0))
                {
                    Masked512<TL, T, TSet>(ref xs, rowOffsets, i, a);
                    Masked512<TL, T, TSet>(ref xs, rowOffsets, i + 8, a);
                }
            }

            for (; i + 8 <= n; i += 8)
            {
                Masked512<TL, T, TSet>(ref xs, rowOffsets, i, a);
            }
        }

        if (path >= SimdPath.Vector256 && Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= n; i += 8)
            {
                if (!Pair256<TL, T, TSet, PerCellCount>(ref xs, rowOffsets, i, a, 0))
                {
                    Masked256<TL, T, TSet>(ref xs, rowOffsets, i, a);
                    Masked256<TL, T, TSet>(ref xs, rowOffsets, i + 4, a);
                }
            }

            for (; i + 4 <= n; i += 4)
            {
                Masked256<TL, T, TSet>(ref xs, rowOffsets, i, a);
            }
        }

        if (path >= SimdPath.Vector128 && Vector128.IsHardwareAccelerated)
        {
            for (; i + 2 <= n; i += 2)
            {
                Masked128<TL, T, TSet>(ref xs, rowOffsets, i, a);
            }
        }

        for (; i < n; i++)
        {
            double c = 0, s = 0, lo = double.PositiveInfinity, hi = double.NegativeInfinity;
            foreach (var off in rowOffsets)
            {
                var v = TL.Load(ref xs, (nuint)(off + i));
                if (!double.IsNaN(v))
                {
                    c++;
                    s += v;
                    if (TSet.MinMax)
                    {
                        lo = Math.Min(lo, v);
                        hi = Math.Max(hi, v);
                    }
                }
            }

            double q = 0;
            if (TSet.M2)
            {
                var mu = s / c;
                foreach (var off in rowOffsets)
                {
                    var v = TL.Load(ref xs, (nuint)(off + i));
                    if (!double.IsNaN(v))
                    {
                        q += (v - mu) * (v - mu);
                    }
                }
            }

            MergeScalar<TSet>(a, i, c, s, q, lo, hi);
        }
    }

    /// <summary>
    /// Columns [0, <see cref="SpanWidth"/>) of a call whose cells are counted once as a span (see
    /// <c>Accumulators.TrySpan</c>): every one of them has seen <paramref name="spanCount"/> values, so the unmasked pairs
    /// merge with that count and store none; <paramref name="spanCount"/> comes back as the new common count. The first
    /// pair holding a NaN ends it: the counts of the span's cells are written out per cell (those merged already
    /// have the new count), <paramref name="spanCount"/> comes back −1, and the rest goes through
    /// <see cref="MomentsInto{TL, T, TSet}"/> — as do the columns past the span, whose counts are always per cell.
    /// Without NaN the same additions and merge formula run as there, with a count equal to the one it would load.
    /// </summary>
    public static void MomentsIntoSpan<TL, T, TSet>(ReadOnlySpan<T> x, ReadOnlySpan<int> rowOffsets, int n, ref double spanCount, Span<double> count, Span<double> sum, Span<double> m2, Span<double> min, Span<double> max, SimdPath path)
        where TL : IWideningLoader<T>
        where T : unmanaged
        where TSet : IMomentSet
    {
        if (count.Length < n || sum.Length < n || m2.Length < n || min.Length < n || max.Length < n || spanCount < 0)
        {
            ThrowHelper.AccumulatorTooShort();
        }

        for (var r = 0; r < rowOffsets.Length; r++)
        {
            if ((uint)rowOffsets[r] > (uint)x.Length || x.Length - rowOffsets[r] < n)
            {
                ThrowHelper.AccumulatorTooShort();
            }
        }

        var width = SpanWidth(n, path);
        var a = new Acc(ref MemoryMarshal.GetReference(count), ref MemoryMarshal.GetReference(sum), ref MemoryMarshal.GetReference(m2), ref MemoryMarshal.GetReference(min), ref MemoryMarshal.GetReference(max));
        ref var xs = ref MemoryMarshal.GetReference(x);
        var u = spanCount;
        var i = 0;
        if (width % 16 == 0 && path >= SimdPath.Vector512 && Vector512.IsHardwareAccelerated)
        {
            for (; i < width; i += 16)
            {
                if (!Pair512<TL, T, TSet, SpanCountMode>(ref xs, rowOffsets, i, a, u))
                {
                    break;
                }
            }
        }
        else
        {
            for (; i < width; i += 8)
            {
                if (!Pair256<TL, T, TSet, SpanCountMode>(ref xs, rowOffsets, i, a, u))
                {
                    break;
                }
            }
        }

        if (i == width)
        {
            spanCount = u + rowOffsets.Length;
        }
        else
        {
            count[..i].Fill(u + rowOffsets.Length);
            count[i..width].Fill(u);
            spanCount = -1;
        }

        if (i < n)
        {
            MomentsInto<TL, T, TSet>(x[i..], rowOffsets, n - i, count[i..], sum[i..], m2[i..], min[i..], max[i..], path);
        }
    }

    /// <summary>
    /// Columns of an <paramref name="n"/>-column call that <see cref="MomentsIntoSpan{TL, T, TSet}"/> counts as a span on
    /// <paramref name="path"/>: the whole pairs of 512- or 256-bit vectors (0 on narrower paths: no span).
    /// </summary>
    public static int SpanWidth(int n, SimdPath path) =>
        path >= SimdPath.Vector512 && Vector512.IsHardwareAccelerated ? n & ~15
        : path >= SimdPath.Vector256 && Vector256.IsHardwareAccelerated ? n & ~7
        : 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Pair512<TL, T, TSet, TCount>(ref T xs, ReadOnlySpan<int> rowOffsets, int i, Acc a, double spanCount)
        where TL : IWideningLoader<T>
        where T : unmanaged
        where TSet : IMomentSet
        where TCount : ICountMode
    {
        var s0 = Vector512<double>.Zero;
        var s1 = s0;
        var l0 = Vector512.Create(double.PositiveInfinity);
        var l1 = l0;
        var h0 = Vector512.Create(double.NegativeInfinity);
        var h1 = h0;
        foreach (var off in rowOffsets)
        {
            var o = (nuint)(off + i);
            Prefetch(ref xs, o + PrefetchAhead);
            var v0 = TL.Load512(ref xs, o);
            var v1 = TL.Load512(ref xs, o + 8);
            s0 += v0;
            s1 += v1;
            if (TSet.MinMax)
            {
                l0 = Vector512.MinNative(l0, v0);
                l1 = Vector512.MinNative(l1, v1);
                h0 = Vector512.MaxNative(h0, v0);
                h1 = Vector512.MaxNative(h1, v1);
            }
        }

        if (!Vector512.EqualsAll(s0, s0) || !Vector512.EqualsAll(s1, s1))
        {
            return false;
        }

        var c = Vector512.Create((double)rowOffsets.Length);
        var q0 = Vector512<double>.Zero;
        var q1 = q0;
        if (TSet.M2)
        {
            var inverse = Vector512.Create(1.0 / rowOffsets.Length);
            var mu0 = s0 * inverse;
            var mu1 = s1 * inverse;
            foreach (var off in rowOffsets)
            {
                var o = (nuint)(off + i);
                var d0 = TL.Load512(ref xs, o) - mu0;
                var d1 = TL.Load512(ref xs, o + 8) - mu1;
                q0 += d0 * d0;
                q1 += d1 * d1;
            }
        }

        Merge<TSet, TCount>(c, s0, q0, l0, h0, a, (nuint)i, spanCount);
        Merge<TSet, TCount>(c, s1, q1, l1, h1, a, (nuint)i + 8, spanCount);
        return true;
    }

    private static void Masked512<TL, T, TSet>(ref T xs, ReadOnlySpan<int> rowOffsets, int i, Acc a)
        where TL : IWideningLoader<T>
        where T : unmanaged
        where TSet : IMomentSet
    {
        var one = Vector512<double>.One;
        var vc = Vector512<double>.Zero;
        var vs = Vector512<double>.Zero;
        var vl = Vector512.Create(double.PositiveInfinity);
        var vh = Vector512.Create(double.NegativeInfinity);
        foreach (var off in rowOffsets)
        {
            var v = TL.Load512(ref xs, (nuint)(off + i));
            var m = Vector512.Equals(v, v);
            vc += Vector512.BitwiseAnd(m, one);
            vs += Vector512.BitwiseAnd(m, v);
            if (TSet.MinMax)
            {
                vl = Vector512.ConditionalSelect(m, Vector512.MinNative(vl, v), vl);
                vh = Vector512.ConditionalSelect(m, Vector512.MaxNative(vh, v), vh);
            }
        }

        var vq = Vector512<double>.Zero;
        if (TSet.M2)
        {
            var mu = vs / vc;
            foreach (var off in rowOffsets)
            {
                var v = TL.Load512(ref xs, (nuint)(off + i));
                var d = v - mu;
                vq += Vector512.BitwiseAnd(Vector512.Equals(v, v), d * d);
            }
        }

        Merge<TSet, PerCellCount>(vc, vs, vq, vl, vh, a, (nuint)i, 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Pair256<TL, T, TSet, TCount>(ref T xs, ReadOnlySpan<int> rowOffsets, int i, Acc a, double spanCount)
        where TL : IWideningLoader<T>
        where T : unmanaged
        where TSet : IMomentSet
        where TCount : ICountMode
    {
        var s0 = Vector256<double>.Zero;
        var s1 = s0;
        var l0 = Vector256.Create(double.PositiveInfinity);
        var l1 = l0;
        var h0 = Vector256.Create(double.NegativeInfinity);
        var h1 = h0;
        foreach (var off in rowOffsets)
        {
            var o = (nuint)(off + i);
            Prefetch(ref xs, o + PrefetchAhead);
            var v0 = TL.Load256(ref xs, o);
            var v1 = TL.Load256(ref xs, o + 4);
            s0 += v0;
            s1 += v1;
            if (TSet.MinMax)
            {
                l0 = Vector256.MinNative(l0, v0);
                l1 = Vector256.MinNative(l1, v1);
                h0 = Vector256.MaxNative(h0, v0);
                h1 = Vector256.MaxNative(h1, v1);
            }
        }

        if (!Vector256.EqualsAll(s0, s0) || !Vector256.EqualsAll(s1, s1))
        {
            return false;
        }

        var c = Vector256.Create((double)rowOffsets.Length);
        var q0 = Vector256<double>.Zero;
        var q1 = q0;
        if (TSet.M2)
        {
            var inverse = Vector256.Create(1.0 / rowOffsets.Length);
            var mu0 = s0 * inverse;
            var mu1 = s1 * inverse;
            foreach (var off in rowOffsets)
            {
                var o = (nuint)(off + i);
                var d0 = TL.Load256(ref xs, o) - mu0;
                var d1 = TL.Load256(ref xs, o + 4) - mu1;
                q0 += d0 * d0;
                q1 += d1 * d1;
            }
        }

        Merge<TSet, TCount>(c, s0, q0, l0, h0, a, (nuint)i, spanCount);
        Merge<TSet, TCount>(c, s1, q1, l1, h1, a, (nuint)i + 4, spanCount);
        return true;
    }

    private static void Masked256<TL, T, TSet>(ref T xs, ReadOnlySpan<int> rowOffsets, int i, Acc a)
        where TL : IWideningLoader<T>
        where T : unmanaged
        where TSet : IMomentSet
    {
        var one = Vector256<double>.One;
        var vc = Vector256<double>.Zero;
        var vs = Vector256<double>.Zero;
        var vl = Vector256.Create(double.PositiveInfinity);
        var vh = Vector256.Create(double.NegativeInfinity);
        foreach (var off in rowOffsets)
        {
            var v = TL.Load256(ref xs, (nuint)(off + i));
            var m = Vector256.Equals(v, v);
            vc += Vector256.BitwiseAnd(m, one);
            vs += Vector256.BitwiseAnd(m, v);
            if (TSet.MinMax)
            {
                vl = Vector256.ConditionalSelect(m, Vector256.MinNative(vl, v), vl);
                vh = Vector256.ConditionalSelect(m, Vector256.MaxNative(vh, v), vh);
            }
        }

        var vq = Vector256<double>.Zero;
        if (TSet.M2)
        {
            var mu = vs / vc;
            foreach (var off in rowOffsets)
            {
                var v = TL.Load256(ref xs, (nuint)(off + i));
                var d = v - mu;
                vq += Vector256.BitwiseAnd(Vector256.Equals(v, v), d * d);
            }
        }

        Merge<TSet, PerCellCount>(vc, vs, vq, vl, vh, a, (nuint)i, 0);
    }

    private static void Masked128<TL, T, TSet>(ref T xs, ReadOnlySpan<int> rowOffsets, int i, Acc a)
        where TL : IWideningLoader<T>
        where T : unmanaged
        where TSet : IMomentSet
    {
        var one = Vector128<double>.One;
        var vc = Vector128<double>.Zero;
        var vs = Vector128<double>.Zero;
        var vl = Vector128.Create(double.PositiveInfinity);
        var vh = Vector128.Create(double.NegativeInfinity);
        foreach (var off in rowOffsets)
        {
            var v = TL.Load128(ref xs, (nuint)(off + i));
            var m = Vector128.Equals(v, v);
            vc += Vector128.BitwiseAnd(m, one);
            vs += Vector128.BitwiseAnd(m, v);
            if (TSet.MinMax)
            {
                vl = Vector128.ConditionalSelect(m, Vector128.MinNative(vl, v), vl);
                vh = Vector128.ConditionalSelect(m, Vector128.MaxNative(vh, v), vh);
            }
        }

        var vq = Vector128<double>.Zero;
        if (TSet.M2)
        {
            var mu = vs / vc;
            foreach (var off in rowOffsets)
            {
                var v = TL.Load128(ref xs, (nuint)(off + i));
                var d = v - mu;
                vq += Vector128.BitwiseAnd(Vector128.Equals(v, v), d * d);
            }
        }

        Merge<TSet>(vc, vs, vq, vl, vh, a, (nuint)i);
    }

    /// <summary>Chan's merge of a column partial (nb, sb, qb, lb, hb) into the accumulators at <paramref name="i"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Merge<TSet, TCount>(Vector512<double> nb, Vector512<double> sb, Vector512<double> qb, Vector512<double> lb, Vector512<double> hb, Acc a, nuint i, double spanCount)
        where TSet : IMomentSet
        where TCount : ICountMode
    {
        var na = TCount.Span ? Vector512.Create(spanCount) : Vector512.LoadUnsafe(ref a.Count(0), i);
        var sa = Vector512.LoadUnsafe(ref a.Sum(0), i);
        var emptyA = Vector512.Equals(na, Vector512<double>.Zero);
        var emptyB = Vector512.Equals(nb, Vector512<double>.Zero);
        var nt = na + nb;
        if (TSet.M2)
        {
            var qa = Vector512.LoadUnsafe(ref a.M2(0), i);
            var d = Vector512.FusedMultiplyAdd(sb, na, -(sa * nb));
            var q = qa + qb + (d * d * Reciprocal.Of(na * nb * nt));
            Vector512.ConditionalSelect(emptyA, qb, Vector512.ConditionalSelect(emptyB, qa, q)).StoreUnsafe(ref a.M2(0), i);
        }

        if (!TCount.Span)
        {
            Vector512.ConditionalSelect(emptyB, na, nt).StoreUnsafe(ref a.Count(0), i);
        }
        Vector512.ConditionalSelect(emptyA, sb, Vector512.ConditionalSelect(emptyB, sa, sa + sb)).StoreUnsafe(ref a.Sum(0), i);
        if (TSet.MinMax)
        {
            Vector512.MinNative(Vector512.LoadUnsafe(ref a.Min(0), i), lb).StoreUnsafe(ref a.Min(0), i);
            Vector512.MaxNative(Vector512.LoadUnsafe(ref a.Max(0), i), hb).StoreUnsafe(ref a.Max(0), i);
        }
    }

    /// <inheritdoc cref="Merge{TSet, TCount}(Vector512{double}, Vector512{double}, Vector512{double}, Vector512{double}, Vector512{double}, Acc, nuint, double)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Merge<TSet, TCount>(Vector256<double> nb, Vector256<double> sb, Vector256<double> qb, Vector256<double> lb, Vector256<double> hb, Acc a, nuint i, double spanCount)
        where TSet : IMomentSet
        where TCount : ICountMode
    {
        var na = TCount.Span ? Vector256.Create(spanCount) : Vector256.LoadUnsafe(ref a.Count(0), i);
        var sa = Vector256.LoadUnsafe(ref a.Sum(0), i);
        var emptyA = Vector256.Equals(na, Vector256<double>.Zero);
        var emptyB = Vector256.Equals(nb, Vector256<double>.Zero);
        var nt = na + nb;
        if (TSet.M2)
        {
            var qa = Vector256.LoadUnsafe(ref a.M2(0), i);
            var d = Vector256.FusedMultiplyAdd(sb, na, -(sa * nb));
            var q = qa + qb + (d * d * Reciprocal.Of(na * nb * nt));
            Vector256.ConditionalSelect(emptyA, qb, Vector256.ConditionalSelect(emptyB, qa, q)).StoreUnsafe(ref a.M2(0), i);
        }

        if (!TCount.Span)
        {
            Vector256.ConditionalSelect(emptyB, na, nt).StoreUnsafe(ref a.Count(0), i);
        }
        Vector256.ConditionalSelect(emptyA, sb, Vector256.ConditionalSelect(emptyB, sa, sa + sb)).StoreUnsafe(ref a.Sum(0), i);
        if (TSet.MinMax)
        {
            Vector256.MinNative(Vector256.LoadUnsafe(ref a.Min(0), i), lb).StoreUnsafe(ref a.Min(0), i);
            Vector256.MaxNative(Vector256.LoadUnsafe(ref a.Max(0), i), hb).StoreUnsafe(ref a.Max(0), i);
        }
    }

    /// <inheritdoc cref="Merge{TSet, TCount}(Vector512{double}, Vector512{double}, Vector512{double}, Vector512{double}, Vector512{double}, Acc, nuint, double)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Merge<TSet>(Vector128<double> nb, Vector128<double> sb, Vector128<double> qb, Vector128<double> lb, Vector128<double> hb, Acc a, nuint i)
        where TSet : IMomentSet
    {
        var na = Vector128.LoadUnsafe(ref a.Count(0), i);
        var sa = Vector128.LoadUnsafe(ref a.Sum(0), i);
        var emptyA = Vector128.Equals(na, Vector128<double>.Zero);
        var emptyB = Vector128.Equals(nb, Vector128<double>.Zero);
        var nt = na + nb;
        if (TSet.M2)
        {
            var qa = Vector128.LoadUnsafe(ref a.M2(0), i);
            var d = Vector128.FusedMultiplyAdd(sb, na, -(sa * nb));
            var q = qa + qb + (d * d / (na * nb * nt));
            Vector128.ConditionalSelect(emptyA, qb, Vector128.ConditionalSelect(emptyB, qa, q)).StoreUnsafe(ref a.M2(0), i);
        }

        Vector128.ConditionalSelect(emptyB, na, nt).StoreUnsafe(ref a.Count(0), i);
        Vector128.ConditionalSelect(emptyA, sb, Vector128.ConditionalSelect(emptyB, sa, sa + sb)).StoreUnsafe(ref a.Sum(0), i);
        if (TSet.MinMax)
        {
            Vector128.MinNative(Vector128.LoadUnsafe(ref a.Min(0), i), lb).StoreUnsafe(ref a.Min(0), i);
            Vector128.MaxNative(Vector128.LoadUnsafe(ref a.Max(0), i), hb).StoreUnsafe(ref a.Max(0), i);
        }
    }

    /// <summary>Chan's merge of one column's partial, for the moments of <typeparamref name="TSet"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MergeScalar<TSet>(Acc a, int i, double c, double s, double q, double lo, double hi)
        where TSet : IMomentSet
    {
        if (TSet.M2 && TSet.MinMax)
        {
            ChanMerge.Into(ref a.Count(i), ref a.Sum(i), ref a.M2(i), ref a.Min(i), ref a.Max(i), c, s, q, lo, hi);
            return;
        }

        // The same operations as ChanMerge.Into on the moments kept (its other outputs are not touched).
        double unusedM2 = 0, unusedMin = double.PositiveInfinity, unusedMax = double.NegativeInfinity;
        ChanMerge.Into(
            ref a.Count(i),
            ref a.Sum(i),
            ref TSet.M2 ? ref a.M2(i) : ref unusedM2,
            ref TSet.MinMax ? ref a.Min(i) : ref unusedMin,
            ref TSet.MinMax ? ref a.Max(i) : ref unusedMax,
            c,
            s,
            q,
            lo,
            hi);
    }

    /// <summary>
    /// The rows of a chunk are a whole time slice apart (about 1 MB for a 0.5° grid): more concurrent streams than
    /// the hardware prefetcher follows, so without a hint every row's next line is a DRAM miss.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Prefetch<T>(ref T xs, nuint offset)
        where T : unmanaged
    {
        if (System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            System.Runtime.Intrinsics.X86.Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref xs, offset)));
        }
    }

    /// <summary>The five accumulator rows of one call (refs to their first cell).</summary>
    private readonly ref struct Acc
    {
        private readonly ref double _count;
        private readonly ref double _sum;
        private readonly ref double _m2;
        private readonly ref double _min;
        private readonly ref double _max;

        public Acc(ref double count, ref double sum, ref double m2, ref double min, ref double max)
        {
            _count = ref count;
            _sum = ref sum;
            _m2 = ref m2;
            _min = ref min;
            _max = ref max;
        }

        public ref double Count(int i) => ref Unsafe.Add(ref _count, i);

        public ref double Sum(int i) => ref Unsafe.Add(ref _sum, i);

        public ref double M2(int i) => ref Unsafe.Add(ref _m2, i);

        public ref double Min(int i) => ref Unsafe.Add(ref _min, i);

        public ref double Max(int i) => ref Unsafe.Add(ref _max, i);
    }
}

/// <summary>Where the column kernel's merge takes the count of the cells it merges into.</summary>
internal interface ICountMode
{
    /// <summary>True: one count for all of them, passed in and not stored (a span); false: per cell, loaded and stored.</summary>
    static abstract bool Span { get; }
}

/// <summary>Counts per cell in the count accumulator.</summary>
internal readonly struct PerCellCount : ICountMode
{
    public static bool Span => false;
}

/// <summary>One count for the span's cells (see <c>Accumulators.TrySpan</c>).</summary>
internal readonly struct SpanCountMode : ICountMode
{
    public static bool Span => true;
}

/// <summary>Which moments a column reduction keeps (count and sum always): a query's ops decide (see <see cref="MomentSets"/>).</summary>
internal interface IMomentSet
{
    /// <summary>M2 (std, var).</summary>
    static abstract bool M2 { get; }

    /// <summary>Min and max.</summary>
    static abstract bool MinMax { get; }
}

/// <summary>Count, sum, M2, min, max.</summary>
internal readonly struct AllMoments : IMomentSet
{
    public static bool M2 => true;

    public static bool MinMax => true;
}

/// <summary>Count, sum, M2 (mean, std, var, sum, count).</summary>
internal readonly struct NoMinMax : IMomentSet
{
    public static bool M2 => true;

    public static bool MinMax => false;
}

/// <summary>Count, sum, min, max (no std/var).</summary>
internal readonly struct NoM2 : IMomentSet
{
    public static bool M2 => false;

    public static bool MinMax => true;
}

/// <summary>Count and sum (mean, sum, count).</summary>
internal readonly struct CountSum : IMomentSet
{
    public static bool M2 => false;

    public static bool MinMax => false;
}

/// <summary>The moment set a list of ops needs.</summary>
internal enum MomentSets
{
    All,
    NoMinMax,
    NoM2,
    CountSum,
}
