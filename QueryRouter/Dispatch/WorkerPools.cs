using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;
using Proxima.QueryRouter.Http;
using Proxima.Shared;

namespace Proxima.QueryRouter.Dispatch;

/// <summary>What the planner needs to know of the pools: who has workers, how many, and a unit's chunk count.</summary>
internal interface IPoolDirectory
{
    bool HasRegion(string region);

    int PoolSize(string region);

    /// <summary>Asks a worker of the region how many chunks <paramref name="unit"/> touches and how many cells it answers (tries every worker once).</summary>
    /// <exception cref="QueryError">503 when no worker answers; the worker's own error (400/403/...) otherwise.</exception>
    Task<UnitPlan> PlanAsync(string region, WorkUnit unit, DateTime deadline, CancellationToken cancellationToken);
}

/// <summary>
/// The router's worker channels per region: handed out round-robin, skipping workers that failed
/// recently (health), with each pool's observed unit latencies (for hedging after p95). Membership may
/// change while queries run (<see cref="UpdateMembers"/>, from DNS discovery): a worker that leaves is
/// no longer picked, but its channel stays open for <see cref="RetireAfter"/> so units in flight finish.
/// </summary>
internal sealed class WorkerPools : IPoolDirectory, IDisposable
{
    private static readonly TimeSpan DownFor = TimeSpan.FromSeconds(5);

    private readonly Dictionary<string, Pool> _pools;
    private readonly TimeProvider _time;
    private readonly Func<string, Uri, IWorkerChannel> _connect;

    /// <param name="endpoints">The regions and their first members (a region may start empty when discovered).</param>
    public WorkerPools(IReadOnlyDictionary<string, IReadOnlyList<Uri>> endpoints, Func<string, Uri, IWorkerChannel> connect, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        _connect = connect;
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

    /// <summary>How long a departed worker's channel stays open for the units it still runs (longer than any deadline).</summary>
    public TimeSpan RetireAfter { get; init; } = TimeSpan.FromMinutes(10);

    public IReadOnlySet<string> Regions => new HashSet<string>(_pools.Keys, StringComparer.Ordinal);

    /// <summary>True when the region is known and has at least one worker now.</summary>
    public bool HasRegion(string region) => _pools.TryGetValue(region, out var pool) && pool.Channels.Length > 0;

    public int PoolSize(string region) => _pools.TryGetValue(region, out var pool) ? pool.Channels.Length : 0;

    public IReadOnlyList<IWorkerChannel> Channels(string region) => GetPool(region).Channels;

    /// <summary>The next worker of the region, round-robin.</summary>
    /// <exception cref="RpcException">UNAVAILABLE when the region has no workers now.</exception>
    public IWorkerChannel Pick(string region) =>
        Pick(region, null) ?? throw new RpcException(StatusCode.Unavailable, $"region {region} has no workers");

    /// <summary>
    /// Makes <paramref name="members"/> the region's workers: channels of workers that stay are kept
    /// (with their health), new ones are connected, departed ones are retired (not picked, closed after
    /// <see cref="RetireAfter"/>). Returns how many joined and left.
    /// </summary>
    public (int Added, int Removed) UpdateMembers(string region, IReadOnlyList<Uri> members)
    {
        var pool = GetPool(region);
        var closing = new List<IWorkerChannel>();
        int added = 0, removed = 0;
        lock (pool)
        {
            var now = _time.GetTimestamp();
            var channels = new List<IWorkerChannel>(members.Count);
            var down = new List<long>(members.Count);
            foreach (var uri in members)
            {
                var existing = -1;
                for (var i = 0; i < pool.Channels.Length; i++)
                {
                    if (pool.Channels[i].Address == uri)
                    {
                        existing = i;
                    }
                }

                if (channels.Exists(c => c.Address == uri))
                {
                    continue;
                }

                if (existing >= 0)
                {
                    channels.Add(pool.Channels[existing]);
                    down.Add(pool.DownUntil[existing]);
                }
                else
                {
                    // A worker that comes back within RetireAfter gets its open channel again.
                    var back = pool.Retired.FindIndex(r => r.Channel.Address == uri);
                    if (back >= 0)
                    {
                        channels.Add(pool.Retired[back].Channel);
                        pool.Retired.RemoveAt(back);
                    }
                    else
                    {
                        channels.Add(_connect(region, uri));
                    }

                    down.Add(0);
                    added++;
                }
            }

            foreach (var old in pool.Channels)
            {
                if (!channels.Contains(old))
                {
                    pool.Retired.Add((old, now));
                    removed++;
                }
            }

            pool.Retired.RemoveAll(r =>
            {
                var expired = _time.GetElapsedTime(r.At) >= RetireAfter;
                if (expired)
                {
                    closing.Add(r.Channel);
                }

                return expired;
            });
            pool.DownUntil = [.. down];
            pool.Channels = [.. channels];
            pool.Next = pool.Channels.Length == 0 ? 0 : pool.Next % pool.Channels.Length;
        }

        foreach (var channel in closing)
        {
            channel.Dispose();
        }

        return (added, removed);
    }

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

    public async Task<UnitPlan> PlanAsync(string region, WorkUnit unit, DateTime deadline, CancellationToken cancellationToken)
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
                return plan;
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
            lock (pool)
            {
                foreach (var channel in pool.Channels)
                {
                    channel.Dispose();
                }

                foreach (var (channel, _) in pool.Retired)
                {
                    channel.Dispose();
                }
            }
        }
    }

    private Pool GetPool(string region) =>
        _pools.TryGetValue(region, out var pool) ? pool : throw new InvalidOperationException($"no workers for region '{region}'");

    /// <summary>One region's members; the arrays are replaced (under the pool's lock) when membership changes.</summary>
    private sealed class Pool(IWorkerChannel[] channels)
    {
        public IWorkerChannel[] Channels { get; set; } = channels;

        public long[] DownUntil { get; set; } = new long[channels.Length];

        public List<(IWorkerChannel Channel, long At)> Retired { get; } = [];

        public int Next { get; set; }

        public LatencyWindow Latencies { get; } = new(256);
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
