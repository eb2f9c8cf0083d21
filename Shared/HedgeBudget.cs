namespace Proxima.Shared;

/// <summary>
/// How many hedges a pool may start: a token bucket that every dispatched unit fills by
/// <c>ratio</c> tokens (up to <c>burst</c>) and every hedge empties by one, so over any run of N units a
/// pool hedges at most <c>ratio × N + burst</c> of them — the cap on extra load that Finagle's backup
/// requests and gRPC's retry throttling keep too. Without it, a machine that is slow for a while makes
/// every unit look like a straggler past the old p95 and hedging doubles the load exactly when there is
/// least room for it. The bucket starts full, so a fresh router hedges its first stragglers.
/// </summary>
internal sealed class HedgeBudget
{
    // Tokens in thousandths, so the bound is exact: 20 deposits of 0.05 are one hedge, never 0.999... of one.
    private const long Scale = 1000;

    private readonly long _deposit;
    private readonly long _capacity;
    private readonly Lock _lock = new();
    private long _tokens;

    /// <param name="ratio">Hedges allowed per dispatched unit in the long run (0.05 = 5% extra units at most), in steps of 0.001.</param>
    /// <param name="burst">Tokens the bucket holds at most: hedges allowed in a row after a quiet time.</param>
    public HedgeBudget(double ratio, double burst)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(ratio);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1.0);
        _deposit = (long)Math.Round(ratio * Scale);
        _capacity = (long)Math.Round(burst * Scale);
        _tokens = _capacity;
    }

    /// <summary>A unit was dispatched (once per unit, not per attempt).</summary>
    public void Deposit()
    {
        lock (_lock)
        {
            _tokens = Math.Min(_capacity, _tokens + _deposit);
        }
    }

    /// <summary>Takes the token a hedge costs; false when the budget is spent (the unit is not hedged).</summary>
    public bool TryWithdraw()
    {
        lock (_lock)
        {
            if (_tokens < Scale)
            {
                return false;
            }

            _tokens -= Scale;
            return true;
        }
    }
}
