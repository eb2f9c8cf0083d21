using System.Runtime.CompilerServices;

namespace Proxima.Compute.Execution;

/// <summary>
/// Chan, Golub and LeVeque's pairwise update: merging (n_a, S_a, M2_a) with (n_b, S_b, M2_b) gives
/// n = n_a + n_b, S = S_a + S_b, M2 = M2_a + M2_b + δ²·n_a·n_b/n with δ = S_b/n_b − S_a/n_a. Exact in exact
/// arithmetic for any split, so chunk, worker and region partials combine in any order.
/// </summary>
internal static class ChanMerge
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Into(ref long n, ref double sum, ref double m2, ref double min, ref double max, double nb, double sb, double m2b, double minb, double maxb)
    {
        if (nb <= 0)
        {
            return;
        }

        if (n == 0)
        {
            n = (long)nb;
            sum = sb;
            m2 = m2b;
            min = minb;
            max = maxb;
            return;
        }

        double na = n;
        var nt = na + nb;
        var delta = (sb / nb) - (sum / na);
        m2 = m2 + m2b + (delta * delta * (na * nb / nt));
        sum += sb;
        n = (long)nt;
        if (minb < min)
        {
            min = minb;
        }

        if (maxb > max)
        {
            max = maxb;
        }
    }

    /// <summary>Same, with a float64 count on the left (chunk-local accumulators).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Into(ref double n, ref double sum, ref double m2, ref double min, ref double max, double nb, double sb, double m2b, double minb, double maxb)
    {
        if (nb <= 0)
        {
            return;
        }

        if (n == 0)
        {
            n = nb;
            sum = sb;
            m2 = m2b;
            min = minb;
            max = maxb;
            return;
        }

        var na = n;
        var nt = na + nb;
        var delta = (sb / nb) - (sum / na);
        m2 = m2 + m2b + (delta * delta * (na * nb / nt));
        sum += sb;
        n = nt;
        if (minb < min)
        {
            min = minb;
        }

        if (maxb > max)
        {
            max = maxb;
        }
    }
}
