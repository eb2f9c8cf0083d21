using Proxima.Shared;

namespace Proxima.RegionalWorker;

/// <summary>The worker's Prometheus metrics (<c>GET /metrics</c> on its metrics port).</summary>
internal sealed class WorkerMetrics
{
    private long _running;

    public WorkerMetrics()
    {
        Units = Registry.Counter("proxima_worker_work_units_total", "Work units finished, by outcome (ok, error, cancelled).", "outcome");
        Plans = Registry.Counter("proxima_worker_plans_total", "Plan calls answered.");
        BytesRead = Registry.Counter("proxima_worker_bytes_read_total", "Bytes read from storage for work units.");
        Chunks = Registry.Counter("proxima_worker_chunks_total", "Chunks processed.");
        UnitLatency = Registry.Histogram("proxima_worker_work_unit_duration_seconds", "Work unit latency on the worker.", Histogram.LatencyBuckets);
        CancelToStop = Registry.Histogram("proxima_worker_cancel_to_stop_seconds",
            "Time from a unit's cancellation (client/router cancel, deadline) until the worker stopped working on it.",
            [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]);
    }

    public MetricsRegistry Registry { get; } = new();

    public Counter Units { get; }

    public Counter Plans { get; }

    public Counter BytesRead { get; }

    public Counter Chunks { get; }

    public Histogram UnitLatency { get; }

    public Histogram CancelToStop { get; }

    public long Running => Interlocked.Read(ref _running);

    public void Started() => Interlocked.Increment(ref _running);

    public void Stopped() => Interlocked.Decrement(ref _running);

    public string Render() =>
        Registry.Render() + "# HELP proxima_worker_units_running Work units running now.\n# TYPE proxima_worker_units_running gauge\nproxima_worker_units_running " + Running + "\n";
}
