namespace Proxima.QueryRouter.Dispatch;

/// <summary>The router's worker channels per region, handed out round-robin.</summary>
internal sealed class WorkerPools : IDisposable
{
    private readonly Dictionary<string, IWorkerChannel[]> _pools;
    private readonly Dictionary<string, int> _next = new(StringComparer.Ordinal);

    public WorkerPools(IReadOnlyDictionary<string, IReadOnlyList<Uri>> endpoints, Func<string, Uri, IWorkerChannel> connect)
    {
        _pools = new Dictionary<string, IWorkerChannel[]>(StringComparer.Ordinal);
        foreach (var (region, uris) in endpoints)
        {
            var channels = new IWorkerChannel[uris.Count];
            for (var i = 0; i < uris.Count; i++)
            {
                channels[i] = connect(region, uris[i]);
            }

            _pools[region] = channels;
        }
    }

    public IReadOnlySet<string> Regions => new HashSet<string>(_pools.Keys, StringComparer.Ordinal);

    public IWorkerChannel Pick(string region)
    {
        if (!_pools.TryGetValue(region, out var channels))
        {
            throw new InvalidOperationException($"no workers for region '{region}'");
        }

        lock (_next)
        {
            var index = _next.GetValueOrDefault(region);
            _next[region] = (index + 1) % channels.Length;
            return channels[index];
        }
    }

    public void Dispose()
    {
        foreach (var channels in _pools.Values)
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }
        }
    }
}
