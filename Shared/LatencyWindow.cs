namespace Proxima.Shared;

/// <summary>The last N latencies of a pool's units (router) or a coordinator's peer shares (worker): a ring, for the hedging threshold.</summary>
internal sealed class LatencyWindow(int capacity)
{
    private readonly double[] _ring = new double[capacity];
    private int _count;
    private int _next;

    public void Add(double ms)
    {
        lock (_ring)
        {
            _ring[_next] = ms;
            _next = (_next + 1) % _ring.Length;
            _count = Math.Min(_count + 1, _ring.Length);
        }
    }

    public double? Percentile(double q, int minSamples)
    {
        double[] copy;
        lock (_ring)
        {
            if (_count < Math.Max(1, minSamples))
            {
                return null;
            }

            copy = new double[_count];
            Array.Copy(_ring, copy, _count);
        }

        Array.Sort(copy);
        var rank = (int)Math.Ceiling(q * copy.Length) - 1;
        return copy[Math.Clamp(rank, 0, copy.Length - 1)];
    }
}
