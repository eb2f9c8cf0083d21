using Google.Protobuf;

namespace Proxima.Protocol.Grpc;

/// <summary>Reads a stream of messages, shaped like Grpc.Core's <c>IAsyncStreamReader&lt;T&gt;</c>.</summary>
public interface IAsyncStreamReader<out T>
{
    /// <summary>The message read by the last successful <see cref="MoveNext"/>.</summary>
    T Current { get; }

    /// <summary>Reads the next message; false at the end of a successful stream. Throws
    /// <see cref="RpcException"/> for a non-OK status (including CANCELLED/DEADLINE_EXCEEDED).</summary>
    Task<bool> MoveNext(CancellationToken cancellationToken);
}

/// <summary>Helpers for <see cref="IAsyncStreamReader{T}"/>.</summary>
public static class AsyncStreamReaderExtensions
{
    /// <summary>All remaining messages as an async sequence.</summary>
    public static async IAsyncEnumerable<T> ReadAllAsync<T>(this IAsyncStreamReader<T> reader, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        while (await reader.MoveNext(cancellationToken).ConfigureAwait(false))
        {
            yield return reader.Current;
        }
    }
}

/// <summary>A running server-streaming call. Dispose it to end the call; an unfinished call is
/// cancelled (RST_STREAM CANCEL).</summary>
public sealed class GrpcServerStreamingCall<TResponse> : IDisposable
    where TResponse : class
{
    private readonly IStreamingCall<TResponse> _call;

    internal GrpcServerStreamingCall(IStreamingCall<TResponse> call)
    {
        _call = call;
        ResponseStream = call;
    }

    /// <summary>The responses.</summary>
    public IAsyncStreamReader<TResponse> ResponseStream { get; }

    /// <summary>Response headers (custom metadata), available once the server answered.</summary>
    public Task<Metadata> ResponseHeadersAsync => _call.GetResponseHeadersAsync();

    /// <summary>Final status; throws <see cref="InvalidOperationException"/> while the call runs.</summary>
    public Status GetStatus() => _call.Status ?? throw new InvalidOperationException("The call has not finished yet; read the response stream to its end first.");

    /// <summary>Trailers; throws <see cref="InvalidOperationException"/> while the call runs.</summary>
    public Metadata GetTrailers() => _call.Status is not null ? _call.Trailers : throw new InvalidOperationException("The call has not finished yet; read the response stream to its end first.");

    /// <summary>Cancels the call if still running (the server sees CANCELLED).</summary>
    public void Cancel() => _call.Cancel();

    public void Dispose() => _call.Dispose();
}

internal interface IStreamingCall<TResponse> : IAsyncStreamReader<TResponse>, IDisposable
{
    Status? Status { get; }

    Metadata Trailers { get; }

    Task<Metadata> GetResponseHeadersAsync();

    void Cancel();
}

internal sealed class StreamingCallAdapter<TRequest, TResponse> : IStreamingCall<TResponse>
    where TRequest : class, IMessage<TRequest>
    where TResponse : class, IMessage<TResponse>
{
    private readonly ClientCall<TRequest, TResponse> _call;
    private readonly Task _start;
    private TResponse? _current;
    private int _reading;

    public StreamingCallAdapter(ClientCall<TRequest, TResponse> call, TRequest request)
    {
        _call = call;
        _start = call.StartAsync(request);
    }

    public TResponse Current => _current ?? throw new InvalidOperationException("No current message: call MoveNext first.");

    public Status? Status => _call.FinalStatus;

    public Metadata Trailers => _call.Trailers;

    public async Task<Metadata> GetResponseHeadersAsync()
    {
        await _start.ConfigureAwait(false);
        return _call.ResponseHeaders;
    }

    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _reading, 1) != 0)
        {
            throw new InvalidOperationException("Only one read at a time is allowed on a gRPC response stream.");
        }

        try
        {
            if (!_start.IsCompleted)
            {
                // The token cancels the call while it waits for the response headers too, not only
                // once messages flow (a worker that never answers must not hold the reader).
                using var registration = cancellationToken.CanBeCanceled
                    ? cancellationToken.UnsafeRegister(static s => ((ClientCall<TRequest, TResponse>)s!).Cancel(), _call)
                    : default;
                await _start.ConfigureAwait(false);
            }
            else
            {
                await _start.ConfigureAwait(false);
            }

            _current = await _call.ReadMessageAsync(cancellationToken).ConfigureAwait(false);
            return _current is not null;
        }
        finally
        {
            Volatile.Write(ref _reading, 0);
        }
    }

    public void Cancel() => _call.Cancel();

    public void Dispose()
    {
        _call.Dispose();

        // Observe a failed start nobody read, so it does not surface as an unobserved task exception.
        _ = _start.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
