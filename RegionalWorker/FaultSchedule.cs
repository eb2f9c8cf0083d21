namespace Proxima.RegionalWorker;

/// <summary>
/// Which work units the fault injection delays: exactly <c>fraction</c> of them, evenly spaced (unit n is
/// delayed when ⌊n·f⌋ steps up), so a test of N units knows it gets ⌊N·f⌋ delays instead of a random count.
/// </summary>
internal sealed class FaultSchedule
{
    private long _units;

    /// <summary>Counts one unit; true when it is one of the delayed ones.</summary>
    public bool NextIsDelayed(double fraction)
    {
        var n = Interlocked.Increment(ref _units);
        return Math.Floor(n * fraction) > Math.Floor((n - 1) * fraction);
    }
}
