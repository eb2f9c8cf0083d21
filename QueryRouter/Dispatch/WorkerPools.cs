using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;
using Proxima.QueryRouter.Http;

namespace Proxima.QueryRouter.Dispatch;

/// <summary>What the planner needs to know of the pools: who has workers, how many, and a unit's chunk count.</summary>
internal interface IPoolDirectory
{
    bool HasRegion(string region);

    int PoolSize(string region);

    /// <summary>Asks a worker of the region how many chunks <paramref name="unit"/> touches (tries every worker once).</summary>
    /// <exception cref="QueryError">503 when no worker answers; the worker's own error (400/403/...) otherwise.</exception>
    Task<long> PlanChunksAsync(string region, WorkUnit unit, DateTime deadline, CancellationToken cancellationToken);
}

/// <summary>
/// The router's worker channels per region: handed out round-robin, skipping workers that failed
/// recently (health), with each pool's observed unit latencies (for hedging after p95).
/// </summary>
internal sealed class WorkerPools : IPoolDirectory, IDisposable
{
    private static readonly TimeSpan DownFor = TimeSpan.FromSeconds(5);

    private readonly Dictionary<string, Pool> _pools;
    private readonly TimeProvider _time;

    public WorkerPools(IReadOnlyDictionary<string, IReadOnlyList<Uri>> endpoints, Func<string, Uri, IWorkerChannel> connect, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _pools = new Dictionary<string, Pool>(StringComparer.Ordinal);
        foreach (var (region, uris) in endpoints)
        {
            var channels = new IWorkerChannel[uris.Count];
            for (var i = 0; i < uris.Count; i++)
            {
                channels[i] = connect(region, uris[i]);
            }

            _pools[region] = new Pool(channels);
        }
    }

    public IReadOnlySet<string> Regions => new HashSet<string>(_pools.Keys, StringComparer.Ordinal);

    public bool HasRegion(string region) => _pools.ContainsKey(region);

    public int PoolSize(string region) => _pools.TryGetValue(region, out var pool) ? pool.Channels.Length : 0;

    public IReadOnlyList<IWorkerChannel> Channels(string region) => GetPool(region).Channels;

    /// <summary>The next worker of the region, round-robin.</summary>
    public IWorkerChannel Pick(string region) => Pick(region, null) ?? GetPool(region).Channels[0];

    /// <summary>
    /// The next worker of the region not in <paramref name="exclude"/>, preferring ones not marked down;
    /// null when every worker is excluded.
    /// </summary>
    public IWorkerChannel? Pick(string region, IReadOnlyCollection<IWorkerChannel>? exclude)
    {
        var pool = GetPool(region);
        var now = _time.GetTimestamp();
        IWorkerChannel? fallback = null;
        lock (pool)
        {
            for (var k = 0; k < pool.Channels.Length; k++)
            {
                var i = (pool.Next + k) % pool.Channels.Length;
                var channel = pool.Channels[i];
                if (exclude is not null && exclude.Contains(channel))
                {
                    continue;
                }

                if (pool.DownUntil[i] > now)
                {
                    fallback ??= channel;
                    continue;
                }

                pool.Next = (i + 1) % pool.Channels.Length;
                return channel;
            }
        }

        // Every candidate is marked down: try one anyway (it may be back) rather than give up unasked.
        return fallback;
    }

    /// <summary>Marks a worker as failing: it is picked last for a few seconds.</summary>
    public void MarkFailed(IWorkerChannel channel)
    {
        var pool = GetPool(channel.Region);
        lock (pool)
        {
            var i = Array.IndexOf(pool.Channels, channel);
            if (i >= 0)
            {
                pool.DownUntil[i] = _time.GetTimestamp() + (long)(DownFor.TotalSeconds * _time.TimestampFrequency);
            }
        }
    }

    public void MarkHealthy(IWorkerChannel channel)
    {
        var pool = GetPool(channel.Region);
        lock (pool)
        {
            var i = Array.IndexOf(pool.Channels, channel);
            if (i >= 0)
            {
                pool.DownUntil[i] = 0;
            }
        }
    }

    /// <summary>Records how long a successful unit took in the region.</summary>
    public void RecordLatency(string region, TimeSpan elapsed) => GetPool(region).Latencies.Add(elapsed.TotalMilliseconds);

    /// <summary>The pool's observed p95 unit latency, or null before <paramref name="minSamples"/> units were seen.</summary>
    public TimeSpan? P95(string region, int minSamples)
    {
        var ms = GetPool(region).Latencies.Percentile(0.95, minSamples);
        return ms is { } v ? TimeSpan.FromMilliseconds(v) : null;
    }

    public async Task<long> PlanChunksAsync(string region, WorkUnit unit, DateTime deadline, CancellationToken cancellationToken)
    {
        var tried = new List<IWorkerChannel>();
        RpcException? last = null;
        while (Pick(region, tried) is { } channel)
        {
            tried.Add(channel);
            try
            {
                var plan = await channel.PlanAsync(unit, deadline, cancellationToken);
                MarkHealthy(channel);
                return plan.ChunkCount;
            }
            catch (RpcException ex) when (WorkerErrors.IsRetryable(ex.StatusCode) && !cancellationToken.IsCancellationRequested)
            {
                MarkFailed(channel);
                last = ex;
            }
            catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw WorkerErrors.ToQueryError(ex, region, unit.UnitId);
            }
            catch (RpcException ex)
            {
                // The query was cancelled (deadline or client): the caller decides 504 or nothing.
                throw new OperationCanceledException("planning was cancelled", ex, cancellationToken);
            }
        }

        throw QueryError.RegionUnavailable(region,
            $"region {region} is unavailable: none of its {tried.Count} worker(s) could plan '{unit.Dataset}' ({last?.StatusCode}: {last?.Status.Detail})");
    }

    public void Dispose()
    {
        foreach (var pool in _pools.Values)
        {
            foreach (var channel in pool.Channels)
            {
                channel.Dispose();
            }
        }
    }

    private Pool GetPool(string region) =>
        _pools.TryGetValue(region, out var pool) ? pool : throw new InvalidOperationException($"no workers for region '{region}'");

    private sealed class Pool(IWorkerChannel[] channels)
    {
        public IWorkerChannel[] Channels { get; } = channels;

        public long[] DownUntil { get; } = new long[channels.Length];

        public int Next { get; set; }

        public LatencyWindow Latencies { get; } = new(256);
    }
}

/// <summary>The last N unit latencies of a pool (a ring), for the hedging threshold.</summary>
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

/// <summary>How worker gRPC failures map to retry decisions and to the query's error.</summary>
internal static class WorkerErrors
{
    /// <summary>Failures another worker may not repeat: lost connections, crashes, overload.</summary>
    public static bool IsRetryable(StatusCode code) => code is StatusCode.Unavailable or StatusCode.Unknown
        or StatusCode.Internal or StatusCode.Aborted or StatusCode.Cancelled or StatusCode.ResourceExhausted;

    public static QueryError ToQueryError(RpcException ex, string region, string unitId) => ex.StatusCode switch
    {
        StatusCode.InvalidArgument => QueryError.BadRequest("bad_request", ex.Status.Detail, ex.Trailers.GetValue("proxima-field")),
        StatusCode.NotFound => QueryError.BadRequest("unknown_dataset", ex.Status.Detail),
        StatusCode.PermissionDenied => new QueryError(403, "forbidden", ex.Status.Detail),
        StatusCode.DeadlineExceeded => QueryError.DeadlineExceeded($"the query's deadline passed in region {region}"),
        StatusCode.DataLoss => new QueryError(500, "data_error", $"region {region}: {ex.Status.Detail}"),
        _ when IsRetryable(ex.StatusCode) =>
            QueryError.RegionUnavailable(region, $"region {region} failed unit {unitId}: {ex.StatusCode}: {ex.Status.Detail}"),
        _ => new QueryError(500, "internal", $"region {region}: {ex.StatusCode}: {ex.Status.Detail}"),
    };
}
