using Microsoft.Extensions.Logging;
using Proxima.Protocol;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;
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
/// into the unit's.
/// </summary>
internal sealed class PoolCoordinator(WorkerOptions options, WorkUnitRunner runner, PeerClients peers, WorkerMetrics metrics, ILogger<PoolCoordinator> logger)
{
    /// <summary>Most shares one coordinated unit may be cut into.</summary>
    public const int MaxShares = 1024;

    /// <summary>Attempts per share (first try + retries), as the router allows per unit.</summary>
    public const int MaxAttempts = 3;

    public async Task<PartialResult> RunAsync(WorkUnit unit, QuerySpec spec, IProgress<Progress> progress, DateTime deadline, CancellationToken cancellationToken)
    {
        var count = unit.CoordinateShares;
        if (count > MaxShares)
        {
            throw new WorkUnitException(StatusCode.InvalidArgument, $"unit {unit.UnitId}: coordinate_shares {count} is over {MaxShares}");
        }

        var addresses = PeerAddresses(unit);
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
                    var partial = target is null
                        ? await RunHereAsync(share, run, k, cancellationToken)
                        : await RunOnPeerAsync(target, share, run, k, cancellationToken);
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
