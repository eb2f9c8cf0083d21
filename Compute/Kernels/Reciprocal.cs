using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Proxima.Compute.Kernels;

/// <summary>
/// 1/x per lane for the Chan merge's correction term without a vector division: a 512-bit <c>vdivpd</c> issues once
/// every 16 cycles on the test machine's cores (Ice Lake), and the column kernel merges every output cell once per
/// piece of rows — by that count up to a third of the kernel's time with 2 MiB pieces; in interleaved runs on the
/// loaded machine the measured difference was within the noise (0–7% of the query's CPU time). With AVX-512 it is the
/// 14-bit estimate <c>vrcp14pd</c> refined by two Newton–Raphson steps (14 → 28 → 53+ bits: within a few ulps of the
/// quotient, and the term it scales is a small addition to M2, so the merged M2 equals the divided one to ~1e-16
/// relative); elsewhere the division itself. Lanes with x = 0 come out NaN or infinite: the merge selects them away.
/// </summary>
internal static class Reciprocal
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> Of(Vector512<double> x)
    {
        if (Avx512F.IsSupported)
        {
            var r = Avx512F.Reciprocal14(x);
            r = Refine(x, r);
            return Refine(x, r);
        }

        return Vector512<double>.One / x;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Of(Vector256<double> x)
    {
        if (Avx512F.VL.IsSupported)
        {
            var r = Avx512F.VL.Reciprocal14(x);
            r = Refine(x, r);
            return Refine(x, r);
        }

        return Vector256<double>.One / x;
    }

    /// <summary>One Newton–Raphson step r·(2 − x·r), as r + r·(1 − x·r) with fused multiply-adds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Refine(Vector512<double> x, Vector512<double> r) =>
        Vector512.FusedMultiplyAdd(r, Vector512.FusedMultiplyAdd(-x, r, Vector512<double>.One), r);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Refine(Vector256<double> x, Vector256<double> r) =>
        Vector256.FusedMultiplyAdd(r, Vector256.FusedMultiplyAdd(-x, r, Vector256<double>.One), r);
}
