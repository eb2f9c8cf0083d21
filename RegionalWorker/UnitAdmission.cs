namespace Proxima.RegionalWorker;

/// <summary>
/// Admission of work units on one worker: at most <see cref="MaxRunning"/> run at once
/// (<see cref="WorkerOptions.MaxConcurrentUnits"/>), up to <see cref="MaxQueued"/> more wait for a
/// slot in arrival order (<see cref="WorkerOptions.MaxQueuedUnits"/>), and a unit beyond both is
/// refused at once so the router can send it to another worker instead of piling work up here.
/// </summary>
internal sealed class UnitAdmission(int maxRunning, int maxQueued) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(maxRunning, maxRunning);
    private int _queued;

    public int MaxRunning { get; } = maxRunning;

    public int MaxQueued { get; } = maxQueued;

    /// <summary>Units waiting for a slot now.</summary>
    public int Queued => Volatile.Read(ref _queued);

    /// <summary>
    /// Takes a slot, waiting (cancellably) in the queue when all are taken; false when the queue is full
    /// too. A true return must be paired with <see cref="Exit"/>.
    /// </summary>
    public async ValueTask<bool> TryEnterAsync(CancellationToken cancellationToken)
    {
        if (_slots.Wait(0, CancellationToken.None))
        {
            return true;
        }

        if (Interlocked.Increment(ref _queued) > MaxQueued)
        {
            Interlocked.Decrement(ref _queued);
            return false;
        }

        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        finally
        {
            Interlocked.Decrement(ref _queued);
        }
    }

    public void Exit() => _slots.Release();

    public void Dispose() => _slots.Dispose();
}

/// <summary>
/// The worker's two admission lanes: units from the router, and shares a pool coordinator sent
/// (<c>WorkUnit.coordinator</c>). A coordinator holds its unit's slot while it waits on its peers' shares;
/// were those shares queued behind the peers' own coordinated units, two coordinators could wait on each
/// other until the deadline. Shares never wait on anything, so their own lane (same limits) cannot deadlock.
/// </summary>
internal sealed record AdmissionLanes(UnitAdmission Units, UnitAdmission Shares)
{
    public UnitAdmission For(Protocol.V1.WorkUnit unit) => unit.Coordinator.Length > 0 ? Shares : Units;
}
