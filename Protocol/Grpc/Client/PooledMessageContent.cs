using System.Buffers;
using System.Net;
using System.Net.Http.Headers;

namespace Proxima.Protocol.Grpc;

/// <summary>
/// A request body of one length-prefixed message in a pooled array. The array is reference-counted:
/// SocketsHttpHandler may still be writing it after the response arrived (HTTP/2 is duplex, e.g. a
/// server answering RESOURCE_EXHAUSTED early) or may send it again on a retry after REFUSED_STREAM,
/// so it goes back to the pool only when both the owner disposed and no write is in flight.
/// </summary>
internal sealed class PooledMessageContent : HttpContent
{
    private static readonly MediaTypeHeaderValue s_contentType = new(GrpcProtocol.ContentType);
    private readonly byte[] _buffer;
    private readonly int _length;
    private int _references = 1;
    private int _disposed;

    public PooledMessageContent(byte[] buffer, int length)
    {
        _buffer = buffer;
        _length = length;
        Headers.ContentType = s_contentType;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        AddReference();
        try
        {
            await stream.WriteAsync(_buffer.AsMemory(0, _length), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Release();
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _length;
        return true;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Release();
        }

        base.Dispose(disposing);
    }

    private void AddReference()
    {
        var current = Volatile.Read(ref _references);
        while (true)
        {
            ObjectDisposedException.ThrowIf(current == 0, this);
            var seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }
    }
}
