using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Proxima.Compute.Kernels;

/// <summary>
/// NaN-skipping moment kernels (count, sum, min, max; then M2 about a given mean), float64 accumulation.
/// </summary>
/// <remarks>
/// NaN semantics (xarray <c>skipna=True</c>): a NaN element changes nothing. Count is kept in float64 lanes (exact
/// below 2^53). Min/max start at +inf/-inf, so an all-NaN cell stays at ±inf and the finalizer turns it into NaN.
/// "Row" kernels update one accumulator per element (a row of output cells, contiguous inner dims);
/// "Span" kernels reduce a whole span into one cell. Two passes per chunk (moments, then M2 about the chunk mean)
/// keep M2 exact without Welford's per-element division; chunk partials are then merged with Chan's formula.
/// </remarks>
internal static class MomentKernels
{
    public static void RowMoments<TL, T>(ReadOnlySpan<T> x, Span<double> count, Span<double> sum, Span<double> min, Span<double> max, SimdPath path = SimdPath.Vector512)
        where TL : IWideningLoader<T>
        where T : unmanaged
    {
        var n = x.Length;
        if (count.Length < n || sum.Length < n || min.Length < n || max.Length < n)
        {
            ThrowHelper.AccumulatorTooShort();
        }

        ref var xs = ref MemoryMarshal.GetReference(x);
        ref var c = ref MemoryMarshal.GetReference(count);
        ref var s = ref MemoryMarshal.GetReference(sum);
        ref var lo = ref MemoryMarshal.GetReference(min);
        ref var hi = ref MemoryMarshal.GetReference(max);
        nuint i = 0;
        var len = (nuint)n;
        if (path >= SimdPath.Vector512 && Vector512.IsHardwareAccelerated)
        {
            var one = Vector512<double>.One;
            for (; i + 8 <= len; i += 8)
            {
                var v = TL.Load512(ref xs, i);
                var m = Vector512.Equals(v, v);
                (Vector512.LoadUnsafe(ref c, i) + Vector512.BitwiseAnd(m, one)).StoreUnsafe(ref c, i);
                (Vector512.LoadUnsafe(ref s, i) + Vector512.BitwiseAnd(m, v)).StoreUnsafe(ref s, i);
                var l = Vector512.LoadUnsafe(ref lo, i);
                Vector512.ConditionalSelect(m, Vector512.MinNative(l, v), l).StoreUnsafe(ref lo, i);
                var h = Vector512.LoadUnsafe(ref hi, i);
                Vector512.ConditionalSelect(m, Vector512.MaxNative(h, v), h).StoreUnsafe(ref hi, i);
            }
        }

        if (path >= SimdPath.Vector256 && Vector256.IsHardwareAccelerated)
        {
            var one = Vector256<double>.One;
            for (; i + 4 <= len; i += 4)
            {
                var v = TL.Load256(ref xs, i);
                var m = Vector256.Equals(v, v);
                (Vector256.LoadUnsafe(ref c, i) + Vector256.BitwiseAnd(m, one)).StoreUnsafe(ref c, i);
                (Vector256.LoadUnsafe(ref s, i) + Vector256.BitwiseAnd(m, v)).StoreUnsafe(ref s, i);
                var l = Vector256.LoadUnsafe(ref lo, i);
                Vector256.ConditionalSelect(m, Vector256.MinNative(l, v), l).StoreUnsafe(ref lo, i);
                var h = Vector256.LoadUnsafe(ref hi, i);
                Vector256.ConditionalSelect(m, Vector256.MaxNative(h, v), h).StoreUnsafe(ref hi, i);
            }
        }

        if (path >= SimdPath.Vector128 && Vector128.IsHardwareAccelerated)
        {
            var one = Vector128<double>.One;
            for (; i + 2 <= len; i += 2)
            {
                var v = TL.Load128(ref xs, i);
                var m = Vector128.Equals(v, v);
                (Vector128.LoadUnsafe(ref c, i) + Vector128.BitwiseAnd(m, one)).StoreUnsafe(ref c, i);
                (Vector128.LoadUnsafe(ref s, i) + Vector128.BitwiseAnd(m, v)).StoreUnsafe(ref s, i);
                var l = Vector128.LoadUnsafe(ref lo, i);
                Vector128.ConditionalSelect(m, Vector128.MinNative(l, v), l).StoreUnsafe(ref lo, i);
                var h = Vector128.LoadUnsafe(ref hi, i);
                Vector128.ConditionalSelect(m, Vector128.MaxNative(h, v), h).StoreUnsafe(ref hi, i);
            }
        }

        for (; i < len; i++)
        {
            var v = TL.Load(ref xs, i);
            if (!double.IsNaN(v))
            {
                Unsafe.Add(ref c, i) += 1;
                Unsafe.Add(ref s, i) += v;
                ref var l = ref Unsafe.Add(ref lo, i);
                if (v < l)
                {
                    l = v;
                }

                ref var h = ref Unsafe.Add(ref hi, i);
                if (v > h)
                {
                    h = v;
                }
            }
        }
    }

    public static void RowDeviations<TL, T>(ReadOnlySpan<T> x, ReadOnlySpan<double> mean, Span<double> m2, SimdPath path = SimdPath.Vector512)
        where TL : IWideningLoader<T>
        where T : unmanaged
    {
        var n = x.Length;
        if (mean.Length < n || m2.Length < n)
        {
            ThrowHelper.AccumulatorTooShort();
        }

        ref var xs = ref MemoryMarshal.GetReference(x);
        ref var mu = ref MemoryMarshal.GetReference(mean);
        ref var q = ref MemoryMarshal.GetReference(m2);
        nuint i = 0;
        var len = (nuint)n;
        if (path >= SimdPath.Vector512 && Vector512.IsHardwareAccelerated)
        {
            for (; i + 8 <= len; i += 8)
            {
                var v = TL.Load512(ref xs, i);
                var d = v - Vector512.LoadUnsafe(ref mu, i);
                (Vector512.LoadUnsafe(ref q, i) + Vector512.BitwiseAnd(Vector512.Equals(v, v), d * d)).StoreUnsafe(ref q, i);
            }
        }

        if (path >= SimdPath.Vector256 && Vector256.IsHardwareAccelerated)
        {
            for (; i + 4 <= len; i += 4)
            {
                var v = TL.Load256(ref xs, i);
                var d = v - Vector256.LoadUnsafe(ref mu, i);
                (Vector256.LoadUnsafe(ref q, i) + Vector256.BitwiseAnd(Vector256.Equals(v, v), d * d)).StoreUnsafe(ref q, i);
            }
        }

        if (path >= SimdPath.Vector128 && Vector128.IsHardwareAccelerated)
        {
            for (; i + 2 <= len; i += 2)
            {
                var v = TL.Load128(ref xs, i);
                var d = v - Vector128.LoadUnsafe(ref mu, i);
                (Vector128.LoadUnsafe(ref q, i) + Vector128.BitwiseAnd(Vector128.Equals(v, v), d * d)).StoreUnsafe(ref q, i);
            }
        }

        for (; i < len; i++)
        {
            var v = TL.Load(ref xs, i);
            if (!double.IsNaN(v))
            {
                var d = v - Unsafe.Add(ref mu, i);
                Unsafe.Add(ref q, i) += d * d;
            }
        }
    }

    /// <summary>Reduces a whole span into (count, sum, min, max); min/max are ±inf when nothing is valid.</summary>
    public static void SpanMoments<TL, T>(ReadOnlySpan<T> x, out double count, out double sum, out double min, out double max, SimdPath path = SimdPath.Vector512)
        where TL : IWideningLoader<T>
        where T : unmanaged
    {
        ref var xs = ref MemoryMarshal.GetReference(x);
        nuint i = 0;
        var len = (nuint)x.Length;
        double c = 0, s = 0, lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        if (path >= SimdPath.Vector512 && Vector512.IsHardwareAccelerated && len >= 8)
        {
            var vc = Vector512<double>.Zero;
            var vs = Vector512<double>.Zero;
            var vl = Vector512.Create(double.PositiveInfinity);
            var vh = Vector512.Create(double.NegativeInfinity);
            var one = Vector512<double>.One;
            for (; i + 8 <= len; i += 8)
            {
                var v = TL.Load512(ref xs, i);
                var m = Vector512.Equals(v, v);
                vc += Vector512.BitwiseAnd(m, one);
                vs += Vector512.BitwiseAnd(m, v);
                vl = Vector512.ConditionalSelect(m, Vector512.MinNative(vl, v), vl);
                vh = Vector512.ConditionalSelect(m, Vector512.MaxNative(vh, v), vh);
            }

            c += Vector512.Sum(vc);
            s += Vector512.Sum(vs);
            lo = Math.Min(lo, HMin(vl.GetLower(), vl.GetUpper()));
            hi = Math.Max(hi, HMax(vh.GetLower(), vh.GetUpper()));
        }

        if (path >= SimdPath.Vector256 && Vector256.IsHardwareAccelerated && len - i >= 4)
        {
            var vc = Vector256<double>.Zero;
            var vs = Vector256<double>.Zero;
            var vl = Vector256.Create(double.PositiveInfinity);
            var vh = Vector256.Create(double.NegativeInfinity);
            var one = Vector256<double>.One;
            for (; i + 4 <= len; i += 4)
            {
                var v = TL.Load256(ref xs, i);
                var m = Vector256.Equals(v, v);
                vc += Vector256.BitwiseAnd(m, one);
                vs += Vector256.BitwiseAnd(m, v);
                vl = Vector256.ConditionalSelect(m, Vector256.MinNative(vl, v), vl);
                vh = Vector256.ConditionalSelect(m, Vector256.MaxNative(vh, v), vh);
            }

            c += Vector256.Sum(vc);
            s += Vector256.Sum(vs);
            lo = Math.Min(lo, HMin(vl, vl));
            hi = Math.Max(hi, HMax(vh, vh));
        }

        if (path >= SimdPath.Vector128 && Vector128.IsHardwareAccelerated && len - i >= 2)
        {
            var vc = Vector128<double>.Zero;
            var vs = Vector128<double>.Zero;
            var vl = Vector128.Create(double.PositiveInfinity);
            var vh = Vector128.Create(double.NegativeInfinity);
            var one = Vector128<double>.One;
            for (; i + 2 <= len; i += 2)
            {
                var v = TL.Load128(ref xs, i);
                var m = Vector128.Equals(v, v);
                vc += Vector128.BitwiseAnd(m, one);
                vs += Vector128.BitwiseAnd(m, v);
                vl = Vector128.ConditionalSelect(m, Vector128.MinNative(vl, v), vl);
                vh = Vector128.ConditionalSelect(m, Vector128.MaxNative(vh, v), vh);
            }

            c += Vector128.Sum(vc);
            s += Vector128.Sum(vs);
            lo = Math.Min(lo, Math.Min(vl.GetElement(0), vl.GetElement(1)));
            hi = Math.Max(hi, Math.Max(vh.GetElement(0), vh.GetElement(1)));
        }

        for (; i < len; i++)
        {
            var v = TL.Load(ref xs, i);
            if (!double.IsNaN(v))
            {
                c += 1;
                s += v;
                if (v < lo)
                {
                    lo = v;
                }

                if (v > hi)
                {
                    hi = v;
                }
            }
        }

        count = c;
        sum = s;
        min = lo;
        max = hi;
    }

    /// <summary>Sum of squared deviations from <paramref name="mean"/> over the non-NaN elements.</summary>
    public static double SpanDeviations<TL, T>(ReadOnlySpan<T> x, double mean, SimdPath path = SimdPath.Vector512)
        where TL : IWideningLoader<T>
        where T : unmanaged
    {
        ref var xs = ref MemoryMarshal.GetReference(x);
        nuint i = 0;
        var len = (nuint)x.Length;
        double q = 0;
        if (path >= SimdPath.Vector512 && Vector512.IsHardwareAccelerated && len >= 8)
        {
            var vq = Vector512<double>.Zero;
            var mu = Vector512.Create(mean);
            for (; i + 8 <= len; i += 8)
            {
                var v = TL.Load512(ref xs, i);
                var d = v - mu;
                vq += Vector512.BitwiseAnd(Vector512.Equals(v, v), d * d);
            }

            q += Vector512.Sum(vq);
        }

        if (path >= SimdPath.Vector256 && Vector256.IsHardwareAccelerated && len - i >= 4)
        {
            var vq = Vector256<double>.Zero;
            var mu = Vector256.Create(mean);
            for (; i + 4 <= len; i += 4)
            {
                var v = TL.Load256(ref xs, i);
                var d = v - mu;
                vq += Vector256.BitwiseAnd(Vector256.Equals(v, v), d * d);
            }

            q += Vector256.Sum(vq);
        }

        if (path >= SimdPath.Vector128 && Vector128.IsHardwareAccelerated && len - i >= 2)
        {
            var vq = Vector128<double>.Zero;
            var mu = Vector128.Create(mean);
            for (; i + 2 <= len; i += 2)
            {
                var v = TL.Load128(ref xs, i);
                var d = v - mu;
                vq += Vector128.BitwiseAnd(Vector128.Equals(v, v), d * d);
            }

            q += Vector128.Sum(vq);
        }

        for (; i < len; i++)
        {
            var v = TL.Load(ref xs, i);
            if (!double.IsNaN(v))
            {
                var d = v - mean;
                q += d * d;
            }
        }

        return q;
    }

    /// <summary>
    /// Exact moments of <paramref name="n"/> columns over a set of rows: element (r, i) is
    /// <c>x[rowOffsets[r] + i]</c>. The destinations are overwritten (not accumulated); see
    /// <see cref="ColumnKernels.MomentsInto{TL, T}"/> for the form that merges into accumulators.
    /// </summary>
    public static void ColumnMoments<TL, T>(ReadOnlySpan<T> x, ReadOnlySpan<int> rowOffsets, int n, Span<double> count, Span<double> sum, Span<double> m2, Span<double> min, Span<double> max, SimdPath path = SimdPath.Vector512)
        where TL : IWideningLoader<T>
        where T : unmanaged
    {
        if (count.Length < n || sum.Length < n || m2.Length < n || min.Length < n || max.Length < n)
        {
            ThrowHelper.AccumulatorTooShort();
        }

        count[..n].Clear();
        sum[..n].Clear();
        m2[..n].Clear();
        min[..n].Fill(double.PositiveInfinity);
        max[..n].Fill(double.NegativeInfinity);
        ColumnKernels.MomentsInto<TL, T>(x, rowOffsets, n, count, sum, m2, min, max, path);
    }

    private static double HMin(Vector256<double> a, Vector256<double> b)
    {
        var m = Vector256.MinNative(a, b);
        var r = m.GetElement(0);
        for (var k = 1; k < 4; k++)
        {
            r = Math.Min(r, m.GetElement(k));
        }

        return r;
    }

    private static double HMax(Vector256<double> a, Vector256<double> b)
    {
        var m = Vector256.MaxNative(a, b);
        var r = m.GetElement(0);
        for (var k = 1; k < 4; k++)
        {
            r = Math.Max(r, m.GetElement(k));
        }

        return r;
    }
}

internal static class ThrowHelper
{
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void AccumulatorTooShort() => throw new ArgumentException("Accumulator spans are shorter than the input.");
}
