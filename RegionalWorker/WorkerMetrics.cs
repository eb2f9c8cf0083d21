using Proxima.Shared;

namespace Proxima.RegionalWorker;

/// <summary>The worker's Prometheus metrics (<c>GET /metrics</c> on its metrics port).</summary>
internal sealed class WorkerMetrics
{
    private readonly UnitAdmission _admission;
    private long _running;
    private long _sharesRunning;
    private long _peak;
    private int _poolPeers;

    public WorkerMetrics(UnitAdmission admission)
    {
        _admission = admission;
        Units = Registry.Counter("proxima_worker_work_units_total", "Work units finished, by outcome (ok, error, cancelled, refused: over MaxConcurrentUnits + MaxQueuedUnits).", "outcome");
        Plans = Registry.Counter("proxima_worker_plans_total", "Plan calls answered.");
        BytesRead = Registry.Counter("proxima_worker_bytes_read_total", "Bytes read from storage for work units.");
        Chunks = Registry.Counter("proxima_worker_chunks_total", "Chunks processed.");
        ShareHedges = Registry.Counter("proxima_worker_share_hedges_total", "Shares a coordinator started a second time in-region because the first ran past its p95, by outcome (started, denied: the hedge budget was spent).", "outcome");
        UnitLatency = Registry.Histogram("proxima_worker_work_unit_duration_seconds", "Work unit latency on the worker (queueing included).", Histogram.LatencyBuckets);
        CancelToStop = Registry.Histogram("proxima_worker_cancel_to_stop_seconds",
            "Time from a unit's cancellation (client/router cancel, deadline) until the worker stopped working on it.",
            [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]);
    }

    public MetricsRegistry Registry { get; } = new();

    public Counter Units { get; }

    public Counter Plans { get; }

    public Counter BytesRead { get; }

    public Counter Chunks { get; }

    public Counter ShareHedges { get; }

    public Histogram UnitLatency { get; }

    public Histogram CancelToStop { get; }

    public long Running => Interlocked.Read(ref _running);

    /// <summary>The pool peers this worker found by DNS (<see cref="WorkerOptions.PeersDns"/>), itself excluded.</summary>
    public int PoolPeers { get => Volatile.Read(ref _poolPeers); set => Volatile.Write(ref _poolPeers, value); }

    /// <summary>Of <see cref="Running"/>, the shares a pool coordinator sent (<c>WorkUnit.coordinator</c>).</summary>
    public long SharesRunning => Interlocked.Read(ref _sharesRunning);

    /// <summary>The most units that ran at once since the worker started.</summary>
    public long PeakRunning => Interlocked.Read(ref _peak);

    public void Started(bool share = false)
    {
        if (share)
        {
            Interlocked.Increment(ref _sharesRunning);
        }

        var now = Interlocked.Increment(ref _running);
        long peak;
        while (now > (peak = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, peak) != peak)
        {
        }
    }

    public void Stopped(bool share = false)
    {
        if (share)
        {
            Interlocked.Decrement(ref _sharesRunning);
        }

        Interlocked.Decrement(ref _running);
    }

    public string Render() =>
        Registry.Render()
        + "# HELP proxima_worker_units_running Work units running now.\n# TYPE proxima_worker_units_running gauge\nproxima_worker_units_running " + Running + "\n"
        + "# HELP proxima_worker_shares_running Of the units running, the shares a pool coordinator sent (region-local merge).\n# TYPE proxima_worker_shares_running gauge\nproxima_worker_shares_running " + SharesRunning + "\n"
        + "# HELP proxima_worker_units_running_peak The most work units that ran at once since start (at most MaxConcurrentUnits).\n# TYPE proxima_worker_units_running_peak gauge\nproxima_worker_units_running_peak " + PeakRunning + "\n"
        + "# HELP proxima_worker_pool_peers Pool peers found by DNS (PROXIMA_PEERS_DNS), this worker excluded.\n# TYPE proxima_worker_pool_peers gauge\nproxima_worker_pool_peers " + PoolPeers + "\n"
        + "# HELP proxima_worker_units_queued Work units waiting for a slot now.\n# TYPE proxima_worker_units_queued gauge\nproxima_worker_units_queued " + _admission.Queued + "\n";
}
