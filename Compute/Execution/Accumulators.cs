namespace Proxima.Compute.Execution;

/// <summary>
/// One set of output accumulators of an execution: count (float64, exact below 2^53, so the kernels merge it in
/// vector lanes), sum, M2, min, max per cell of the output box; an empty cell is (0, 0, 0, +inf, −inf).
/// </summary>
internal sealed class Accumulators
{
    public Accumulators(int cells)
    {
        Count = new double[cells];
        Sum = new double[cells];
        M2 = new double[cells];
        Min = new double[cells];
        Max = new double[cells];
        Array.Fill(Min, double.PositiveInfinity);
        Array.Fill(Max, double.NegativeInfinity);
    }

    public double[] Count { get; }

    public double[] Sum { get; }

    public double[] M2 { get; }

    public double[] Min { get; }

    public double[] Max { get; }

    /// <summary>Chan-merges <paramref name="other"/> into this set, cell by cell.</summary>
    public void MergeFrom(Accumulators other)
    {
        var count = Count;
        for (var c = 0; c < count.Length; c++)
        {
            ChanMerge.Into(ref count[c], ref Sum[c], ref M2[c], ref Min[c], ref Max[c], other.Count[c], other.Sum[c], other.M2[c], other.Min[c], other.Max[c]);
        }
    }
}
