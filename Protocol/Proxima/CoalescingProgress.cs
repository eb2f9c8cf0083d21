using Google.Protobuf;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;

namespace Proxima.Protocol;

/// <summary>
/// Reports <see cref="Progress"/> as events on a server stream without ever blocking the work that
/// reports it: reports arriving while a write is in flight are coalesced to the latest one, and
/// writes never overlap (gRPC stream writes must not).
/// </summary>
public sealed class CoalescingProgress<TEvent>(IServerStreamWriter<TEvent> stream, Func<Progress, TEvent> wrap, CancellationToken cancellationToken) : IProgress<Progress>
    where TEvent : class, IMessage<TEvent>
{
    private readonly Lock _gate = new();
    private Progress? _pending;
    private bool _running;
    private Task _writing = Task.CompletedTask;

    public void Report(Progress value)
    {
        lock (_gate)
        {
            _pending = value;
            if (!_running)
            {
                // Started on the reporting thread (the lock is reentrant), so the first report of an idle
                // stream is handed to the transport now: a thread-pool item could wait behind the very chunk
                // work that reports, until the query is done, leaving only its 100% to be seen.
                _running = true;
                _writing = WriteLoopAsync();
            }
        }
    }

    private async Task WriteLoopAsync()
    {
        while (true)
        {
            Progress next;
            lock (_gate)
            {
                if (_pending is null)
                {
                    _running = false;
                    return;
                }

                next = _pending;
                _pending = null;
            }

            await stream.WriteAsync(wrap(next), cancellationToken);
        }
    }

    /// <summary>Completes when every report so far has been written; call before writing the final message.</summary>
    public Task DrainAsync()
    {
        lock (_gate)
        {
            return _writing;
        }
    }
}
