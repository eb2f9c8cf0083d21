using Proxima.Shared;

namespace Proxima.QueryRouter;

/// <summary>The router's Prometheus metrics (<c>GET /metrics</c>).</summary>
internal sealed class RouterMetrics
{
    public MetricsRegistry Registry { get; } = new();

    public RouterMetrics()
    {
        Queries = Registry.Counter("proxima_router_queries_total", "Queries received.");
        Errors = Registry.Counter("proxima_router_errors_total", "Queries answered with an error, by error code.", "code");
        Units = Registry.Counter("proxima_router_work_units_total", "Work unit attempts sent to workers, by region.", "region");
        Retries = Registry.Counter("proxima_router_retries_total", "Work units retried on another worker, by region.", "region");
        Hedges = Registry.Counter("proxima_router_hedges_total", "Hedged (duplicate) work units started after the pool's p95, by region.", "region");
        HedgesDenied = Registry.Counter("proxima_router_hedges_denied_total", "Stragglers past the pool's p95 left unhedged because the pool's hedge budget was spent, by region.", "region");
        BytesRead = Registry.Counter("proxima_router_bytes_read_total", "Bytes workers read for the router's units, by region.", "region");
        BytesCrossRegion = Registry.Counter("proxima_router_bytes_cross_region_total", "Bytes of gRPC messages between router and workers.");
        QueryLatency = Registry.Histogram("proxima_router_query_duration_seconds", "Query latency, request to answer.", Histogram.LatencyBuckets);
        UnitLatency = Registry.Histogram("proxima_router_work_unit_duration_seconds", "Work unit latency seen by the router.", Histogram.LatencyBuckets);
    }

    public Counter Queries { get; }

    public Counter Errors { get; }

    public Counter Units { get; }

    public Counter Retries { get; }

    public Counter Hedges { get; }

    public Counter HedgesDenied { get; }

    public Counter BytesRead { get; }

    public Counter BytesCrossRegion { get; }

    public Histogram QueryLatency { get; }

    public Histogram UnitLatency { get; }
}
