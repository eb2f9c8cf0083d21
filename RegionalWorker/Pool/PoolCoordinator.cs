using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Proxima.Protocol;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;
using Proxima.Shared;
using QuerySpec = Proxima.Compute.Query.QuerySpec;

namespace Proxima.RegionalWorker.Pool;

/// <summary>
/// Region-local merge: runs a work unit that the router sent to this worker as its pool's coordinator
/// (<c>WorkUnit.coordinate_shares</c> &gt; 0). The unit is cut into shares of the chunk list (the same cut as
/// the router's per-worker shares, <see cref="Shared.WorkShares"/>); share k goes to worker k mod (peers + 1)
/// with this worker first, peers are called directly at their in-region addresses (mutual TLS), and the
/// partials are merged here exactly (Chan, <see cref="Compute.Execution.PartialMerge"/>), so one partial
/// crosses regions instead of one per worker. A share that fails retryably (peer gone, crashed, full) is run
/// again by this worker, then by another peer, at most <see cref="MaxAttempts"/> times; its deadline and
/// cancellation are the unit's, so cancelling the unit stops the peers' shares too. Peers' progress is summed
/// into the unit's. A share still running after the p95 of this coordinator's recent shares is hedged
/// in-region (a peer's share on this worker, this worker's on a peer), within a budget of 5% of shares plus
/// 10 in a row, the router's rule one level down: with one partial per region, a straggling peer would
/// otherwise hold every map query of the pool, and the router could only hedge the whole unit.
/// A unit with <c>discover_peers</c> (the router reached this worker through the region's load balancer and knows no
/// peers) uses the peers this worker found by DNS (<see cref="PoolPeers"/>), <c>coordinate_shares</c> per worker.
/// </summary>
internal sealed class PoolCoordinator(WorkerOptions options, WorkUnitRunner runner, PeerClients peers, PoolPeers discovered, WorkerMetrics metrics, ILogger<PoolCoordinator> logger)
{
    /// <summary>Most shares one coordinated unit may be cut into.</summary>
    public const int MaxShares = 1024;

    /// <summary>Attempts per share (first try + retries), as the router allows per unit.</summary>
    public const int MaxAttempts = 3;

    /// <summary>Shares this coordinator must have seen finish before it hedges (p95 needs a sample).</summary>
    public const int HedgeMinSamples = 20;

    private readonly LatencyWindow _shareLatencies = new(256);
    private readonly HedgeBudget _hedgeBudget = new(ratio: 0.05, burst: 10);

    public async Task<PartialResult> RunAsync(WorkUnit unit, QuerySpec spec, IProgress<Progress> progress, DateTime deadline, CancellationToken cancellationToken)
    {
        if (unit.CoordinateShares > MaxShares)
        {
            throw new WorkUnitException(StatusCode.InvalidArgument, $"unit {unit.UnitId}: coordinate_shares {unit.CoordinateShares} is over {MaxShares}");
        }

        var addresses = unit.DiscoverPeers ? DiscoveredPeers(unit) : PeerAddresses(unit);
        var count = unit.DiscoverPeers ? (int)Math.Min(MaxShares, (long)unit.CoordinateShares * (addresses.Count + 1)) : unit.CoordinateShares;
        WorkerLog.UnitCoordinating(logger, unit.UnitId, count, addresses.Count);
        using var failFast = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var run = new CoordinatedRun(unit, spec, count, new ShareProgress(progress, count), new ShareMerge(unit, count), deadline, failFast);
        var tasks = new Task[count];
        for (var k = 0; k < count; k++)
        {
            var first = k % (addresses.Count + 1);
            tasks[k] = RunShareAsync(run, k, first == 0 ? null : addresses[first - 1], addresses);
        }

        try
        {
            await Task.WhenAll(tasks);
        }
        catch (Exception) when (run.Fatal is not null || cancellationToken.IsCancellationRequested)
        {
            // The first fatal share error (the others were cancelled by it) or the unit's own cancellation.
        }

        cancellationToken.ThrowIfCancellationRequested();
        if (run.Fatal is { } fatal)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(fatal);
        }

        return run.Merge.Result();
    }

    /// <summary>The peers this worker found by DNS, for a unit that names none (<c>discover_peers</c>).</summary>
    private List<Uri> DiscoveredPeers(WorkUnit unit)
    {
        if (unit.Peers.Count > 0)
        {
            throw new WorkUnitException(StatusCode.InvalidArgument, $"unit {unit.UnitId}: discover_peers with {unit.Peers.Count} peer(s) named; name peers or ask for discovery, not both", "peers");
        }

        return [.. discovered.Current];
    }

    /// <summary>The peers' in-region addresses (absolute http/https URIs; https when this worker speaks mutual TLS).</summary>
    private List<Uri> PeerAddresses(WorkUnit unit)
    {
        var addresses = new List<Uri>(unit.Peers.Count);
        foreach (var text in unit.Peers)
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                throw new WorkUnitException(StatusCode.InvalidArgument, $"unit {unit.UnitId}: peer '{text}' is not an absolute http(s) URI", "peers");
            }

            if (peers.MutualTls && uri.Scheme != Uri.UriSchemeHttps)
            {
                throw new WorkUnitException(StatusCode.InvalidArgument, $"unit {unit.UnitId}: peer '{text}' is not https, and this worker calls peers over mutual TLS only", "peers");
            }

            addresses.Add(uri);
        }

        return addresses;
    }

    /// <summary>One share to its merged partial: attempts on <paramref name="first"/> (null = this worker), then this worker, then untried peers.</summary>
    private async Task RunShareAsync(CoordinatedRun run, int k, Uri? first, List<Uri> addresses)
    {
        var cancellationToken = run.FailFast.Token;
        var share = ShareUnit(run.Unit, k, run.Count);
        _hedgeBudget.Deposit();
        var tried = new List<Uri?>(MaxAttempts);
        var target = first;
        RpcException? last = null;
        try
        {
            for (var attempt = 0; attempt < MaxAttempts; attempt++)
            {
                tried.Add(target);
                try
                {
                    var partial = await RunHedgedAsync(share, run, k, target, tried, addresses, cancellationToken);
                    run.Merge.Add(k, partial);
                    run.Progress.Complete(k, partial.Stats?.Chunks ?? 0, partial.Stats?.BytesRead ?? 0);
                    return;
                }
                catch (RpcException ex) when (!cancellationToken.IsCancellationRequested && Retryable(ex.StatusCode) && DateTime.UtcNow < run.Deadline)
                {
                    last = ex;
                    if (!NextTarget(tried, addresses, out target))
                    {
                        break;
                    }

                    WorkerLog.ShareRetrying(logger, share.UnitId, tried[^1]?.ToString() ?? options.Name, ex.StatusCode.ToString(), ex.Status.Detail, target?.ToString() ?? options.Name);
                }
            }

            throw new WorkUnitException(StatusCode.Unavailable,
                $"unit {run.Unit.UnitId}: share {k} of {run.Count} failed on {tried.Count} worker(s) of the pool (last: {last?.StatusCode}: {last?.Status.Detail})");
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested && !Retryable(ex.StatusCode))
        {
            // What another worker would repeat (bad query, no access, unreadable data, deadline): the unit's answer.
            run.SetFatal(ex.StatusCode == StatusCode.DeadlineExceeded
                ? ex
                : new WorkUnitException(ex.StatusCode, ex.Status.Detail, ex.Trailers.GetValue("proxima-field")));
            throw;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            run.SetFatal(ex);
            throw;
        }
    }

    /// <summary>
    /// One attempt of a share on <paramref name="target"/> (null = this worker); once this coordinator has a
    /// sample and the attempt runs past its p95, a copy starts on another worker of the pool (added to
    /// <paramref name="tried"/>) and the first answer wins, the other is cancelled.
    /// </summary>
    private async Task<PartialResult> RunHedgedAsync(WorkUnit share, CoordinatedRun run, int k, Uri? target, List<Uri?> tried, List<Uri> addresses, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var firstCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var first = RunOnAsync(target, share, run, k, firstCts.Token);
        if (!run.Unit.NoShareHedging && addresses.Count > 0 && _shareLatencies.Percentile(0.95, HedgeMinSamples) is { } p95)
        {
            using var delayCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(TimeSpan.FromMilliseconds(p95), delayCts.Token);
            if (await Task.WhenAny(first, delay) != first && !cancellationToken.IsCancellationRequested && HedgeTarget(tried, target, addresses, out var other))
            {
                if (!_hedgeBudget.TryWithdraw())
                {
                    metrics.ShareHedges.Add("denied");
                }
                else
                {
                    tried.Add(other);
                    metrics.ShareHedges.Add("started");
                    WorkerLog.ShareHedged(logger, share.UnitId, target?.ToString() ?? options.Name, other?.ToString() ?? options.Name, p95);
                    using var secondCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    var second = RunOnAsync(other, share, run, k, secondCts.Token);
                    var winner = await Task.WhenAny(first, second);
                    var loser = winner == first ? second : first;
                    if (!winner.IsCompletedSuccessfully)
                    {
                        // The first to end failed: the other copy may still answer (its failure is the attempt's).
                        (winner, loser) = (loser, winner);
                        await Task.WhenAny(winner);
                    }

                    if (winner.IsCompletedSuccessfully)
                    {
                        await (loser == first ? firstCts : secondCts).CancelAsync();
                        await Task.WhenAny(loser); // observed, never thrown: the losing copy was cancelled or failed
                        _ = loser.Exception;
                        _shareLatencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                        return winner.Result;
                    }

                    _ = loser.Exception;
                    return await winner;
                }
            }

            await delayCts.CancelAsync();
        }

        var partial = await first;
        _shareLatencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return partial;
    }

    private Task<PartialResult> RunOnAsync(Uri? target, WorkUnit share, CoordinatedRun run, int k, CancellationToken cancellationToken) =>
        target is null ? RunHereAsync(share, run, k, cancellationToken) : RunOnPeerAsync(target, share, run, k, cancellationToken);

    /// <summary>Where a straggling share's copy goes: this worker for a peer's share, else the first peer not yet tried.</summary>
    private static bool HedgeTarget(List<Uri?> tried, Uri? target, List<Uri> addresses, out Uri? other)
    {
        other = null;
        if (target is not null)
        {
            return !tried.Contains(null);
        }

        foreach (var a in addresses)
        {
            if (!tried.Contains(a))
            {
                other = a;
                return true;
            }
        }

        return false;
    }

    /// <summary>Where a failed share goes next: this worker (null; alive, and its own share may be done), else a peer not yet tried; false when none is left.</summary>
    private static bool NextTarget(List<Uri?> tried, List<Uri> addresses, out Uri? target)
    {
        target = null;
        if (!tried.Contains(null))
        {
            return true;
        }

        foreach (var a in addresses)
        {
            if (!tried.Contains(a))
            {
                target = a;
                return true;
            }
        }

        return false;
    }

    private static bool Retryable(StatusCode code) => code is StatusCode.Unavailable or StatusCode.Unknown
        or StatusCode.Internal or StatusCode.Aborted or StatusCode.Cancelled or StatusCode.ResourceExhausted;

    private async Task<PartialResult> RunHereAsync(WorkUnit share, CoordinatedRun run, int k, CancellationToken cancellationToken)
    {
        var partial = await runner.RunAsync(share, run.Spec, new InlineProgress<Progress>(p => run.Progress.Report(k, p)), cancellationToken);
        metrics.BytesRead.Add(partial.Stats.BytesRead);
        metrics.Chunks.Add(partial.Stats.Chunks);
        return partial;
    }

    private async Task<PartialResult> RunOnPeerAsync(Uri peer, WorkUnit share, CoordinatedRun run, int k, CancellationToken cancellationToken)
    {
        var client = peers.Get(peer);
        var call = new GrpcCallOptions(Deadline: run.Deadline == DateTime.MaxValue ? null : run.Deadline, CancellationToken: cancellationToken);
        PartialResult? partial = null;
        await foreach (var e in client.ServerStreamingAsync(ProximaMethods.WorkerExecute, share, call, cancellationToken))
        {
            switch (e.EventCase)
            {
                case WorkerEvent.EventOneofCase.Progress:
                    run.Progress.Report(k, e.Progress);
                    break;
                case WorkerEvent.EventOneofCase.Partial:
                    partial = e.Partial;
                    break;
            }
        }

        if (partial is null)
        {
            throw new RpcException(StatusCode.Unavailable, $"peer {peer} ended share {share.UnitId} without a result");
        }

        // Completeness: the answer is for this share and covers exactly its chunks of the peer's plan.
        var (start, end) = Shared.WorkShares.Range(partial.Stats?.ChunksTotal ?? 0, k, run.Count);
        if (partial.UnitId != share.UnitId || partial.Stats is null || partial.Stats.Chunks != end - start)
        {
            throw new RpcException(StatusCode.Internal, $"peer {peer} answered '{partial.UnitId}' with {partial.Stats?.Chunks} chunk(s) for share '{share.UnitId}'");
        }

        return partial;
    }

    /// <summary>Share k of the coordinated unit: the same query, cut by whoever runs it from its own plan.</summary>
    private WorkUnit ShareUnit(WorkUnit unit, int k, int count)
    {
        var share = unit.Clone();
        share.UnitId = $"{unit.UnitId}#{k}";
        share.AllChunks = false;
        share.ShareIndex = k;
        share.ShareCount = count;
        share.CoordinateShares = 0;
        share.DiscoverPeers = false;
        share.Peers.Clear();
        share.Coordinator = options.Name;
        return share;
    }

    /// <summary>The state of one coordinated unit shared by its share tasks.</summary>
    private sealed class CoordinatedRun(WorkUnit unit, QuerySpec spec, int count, ShareProgress progress, ShareMerge merge, DateTime deadline, CancellationTokenSource failFast)
    {
        private Exception? _fatal;

        public WorkUnit Unit { get; } = unit;

        public int Count { get; } = count;

        public ShareProgress Progress { get; } = progress;

        public ShareMerge Merge { get; } = merge;

        public DateTime Deadline { get; } = deadline;

        public CancellationTokenSource FailFast { get; } = failFast;

        public QuerySpec Spec { get; } = spec;

        public Exception? Fatal => Volatile.Read(ref _fatal);

        /// <summary>Keeps the first fatal error and stops the other shares.</summary>
        public void SetFatal(Exception ex)
        {
            if (Interlocked.CompareExchange(ref _fatal, ex, null) is null)
            {
                FailFast.Cancel();
            }
        }
    }
}
