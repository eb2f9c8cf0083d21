using Proxima.Protocol.V1;
using Proxima.RegionalWorker.Pool;

namespace Proxima.RegionalWorker.Tests.Pool;

public sealed class ShareProgressTests
{
    [Fact]
    public void A_share_run_twice_never_moves_the_units_progress_back()
    {
        var seen = new List<long>();
        var progress = new ShareProgress(new InlineSink(p => seen.Add(p.ChunksDone)), count: 2);
        progress.Report(0, new Progress { ChunksDone = 5, ChunksTotal = 10 });
        progress.Report(1, new Progress { ChunksDone = 0, ChunksTotal = 10 }); // every share known: 5 of 20
        progress.Report(0, new Progress { ChunksDone = 1, ChunksTotal = 10 }); // the hedge's copy of share 0, behind the first
        progress.Report(1, new Progress { ChunksDone = 4, ChunksTotal = 10 });
        progress.Complete(0, 10, 0);
        progress.Complete(1, 10, 0);
        Assert.Equal([5, 5, 9, 14, 20], seen);
    }

    private sealed class InlineSink(Action<Progress> report) : IProgress<Progress>
    {
        public void Report(Progress value) => report(value);
    }
}
