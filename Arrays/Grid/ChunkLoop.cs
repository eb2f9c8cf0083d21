using System.Runtime.ExceptionServices;

namespace Proxima.Arrays.Grid;

/// <summary>
/// Runs a region read's body once per chunk of the box <c>first..last</c> (chunk indices, inclusive) with up to
/// <c>loops</c> loops at once, each taking the next chunk from a shared counter; the first loop runs on the calling
/// thread. Where chunk reads complete synchronously (page-cache maps) the caller decodes chunks itself instead of
/// parking while pool threads do, and a read whose last chunk the caller decodes returns without a cross-thread wake-up
/// (on a loaded machine, the wake of a parked thread costs milliseconds). The first error stops the loops from taking
/// more chunks and is rethrown as it was thrown (not wrapped, not replaced by another loop's).
/// </summary>
internal sealed class ChunkLoop
{
    private readonly long[] _first;
    private readonly long[] _extent;
    private readonly long _chunks;
    private readonly Func<long[], CancellationToken, ValueTask> _body;
    private readonly CancellationToken _cancellationToken;
    private long _next = -1;
    private ExceptionDispatchInfo? _error;

    private ChunkLoop(long[] first, long[] last, Func<long[], CancellationToken, ValueTask> body, CancellationToken cancellationToken)
    {
        _first = first;
        _extent = new long[first.Length];
        _chunks = 1;
        for (int d = 0; d < first.Length; d++)
        {
            _extent[d] = last[d] - first[d] + 1;
            _chunks *= _extent[d];
        }

        _body = body;
        _cancellationToken = cancellationToken;
    }

    /// <summary>Runs <paramref name="body"/> for every chunk of the box, at most <paramref name="loops"/> at once.</summary>
    public static async Task RunAsync(long[] first, long[] last, int loops, Func<long[], CancellationToken, ValueTask> body, CancellationToken cancellationToken)
    {
        var loop = new ChunkLoop(first, last, body, cancellationToken);
        int n = (int)Math.Clamp(loop._chunks, 1, Math.Max(1, loops));
        var tasks = new Task[n];
        for (int i = 1; i < n; i++)
        {
            // Not the token: a loop started after cancellation reports it itself, as the first error.
            tasks[i] = Task.Run(loop.LoopAsync, CancellationToken.None);
        }

        tasks[0] = loop.LoopAsync();
        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (Exception) when (loop._error is not null)
        {
            // Reported below as the first loop's error.
        }

        loop._error?.Throw();
    }

    private async Task LoopAsync()
    {
        long[] idx = new long[_first.Length];
        while (_error is null)
        {
            long i = Interlocked.Increment(ref _next);
            if (i >= _chunks)
            {
                return;
            }

            // Row-major over the box, as the chunks lie in a C-order output.
            for (int d = idx.Length - 1; d >= 0; d--)
            {
                idx[d] = _first[d] + (i % _extent[d]);
                i /= _extent[d];
            }

            try
            {
                _cancellationToken.ThrowIfCancellationRequested();
                await _body((long[])idx.Clone(), _cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
                return;
            }
        }
    }
}
