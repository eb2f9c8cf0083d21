using Proxima.Protocol;
using Proxima.Protocol.V1;

namespace Proxima.RegionalWorker.Pool;

/// <summary>
/// A coordinated unit's progress: the sum of its shares' latest reports (this worker's and the peers'),
/// forwarded once every share has said how many chunks it has, so the total does not grow as shares start.
/// A finished share counts as all its chunks done. A share that runs twice (a retry from the start, or an
/// in-region hedge beside the first copy) reports from two runs; each share keeps the furthest of them, so
/// the unit's progress never goes back.
/// </summary>
internal sealed class ShareProgress(IProgress<Progress> sink, int count)
{
    private readonly Lock _gate = new();
    private readonly Progress?[] _shares = new Progress?[count];
    private int _known;

    public void Report(int k, Progress progress) =>
        Set(k, new Progress { ChunksDone = progress.ChunksDone, ChunksTotal = progress.ChunksTotal, BytesRead = progress.BytesRead });

    public void Complete(int k, long chunks, long bytesRead) =>
        Set(k, new Progress { ChunksDone = chunks, ChunksTotal = chunks, BytesRead = bytesRead });

    private void Set(int k, Progress progress)
    {
        lock (_gate)
        {
            if (_shares[k] is null)
            {
                _known++;
            }

            _shares[k] = progress.Furthest(_shares[k]);
            if (_known < _shares.Length)
            {
                return;
            }

            var total = new Progress();
            foreach (var p in _shares)
            {
                total.ChunksDone += p!.ChunksDone;
                total.ChunksTotal += p.ChunksTotal;
                total.BytesRead += p.BytesRead;
            }

            // Under the lock, so totals reach the stream in order (the sink only hands them to its writer).
            sink.Report(total);
        }
    }
}
