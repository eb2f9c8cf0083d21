using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Proxima.Cli.Local;

/// <summary>Settings of one emulated cross-region link.</summary>
internal sealed record LinkSettings
{
    /// <summary>One-way latency added to every byte in each direction.</summary>
    public TimeSpan Latency { get; init; } = TimeSpan.FromMilliseconds(40);

    /// <summary>Bandwidth of each direction in bits per second (0 = unlimited).</summary>
    public long BitsPerSecond { get; init; } = 200_000_000;

    public static LinkSettings None { get; } = new() { Latency = TimeSpan.Zero, BitsPerSecond = 0 };

    public override string ToString() =>
        $"{Latency.TotalMilliseconds:0.#} ms, {(BitsPerSecond == 0 ? "unlimited" : $"{BitsPerSecond / 1e6:0.#} Mbit/s")}";
}

/// <summary>
/// A TCP proxy that stands for the network between two regions: it delays every segment by the
/// one-way latency, paces each direction to the bandwidth, and counts the bytes in each direction.
/// Each direction is modelled as a serial link: a segment departs when the link is free, occupies it
/// for size/bandwidth, and arrives one latency later.
/// </summary>
internal sealed class LinkEmulator : IAsyncDisposable
{
    private const int SegmentSize = 16 * 1024;

    private readonly Socket _listener;
    private readonly EndPoint _target;
    private readonly LinkSettings _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _connections = [];
    private readonly Task _acceptLoop;
    private long _bytesForward;
    private long _bytesBackward;
    private long _connectionsAccepted;

    public LinkEmulator(string name, EndPoint target, LinkSettings settings, ILogger logger, TimeProvider? time = null, int listenPort = 0)
    {
        Name = name;
        _target = target;
        _settings = settings;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, listenPort));
        _listener.Listen(512);
        LocalEndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _acceptLoop = AcceptLoopAsync(_stopping.Token);
        LinkLog.Started(_logger, name, LocalEndPoint.ToString(), target.ToString() ?? "", settings.ToString());
    }

    public string Name { get; }

    /// <summary>Where clients connect (127.0.0.1 and an ephemeral port).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Bytes carried from the connecting side (client region) to the target.</summary>
    public long BytesForward => Interlocked.Read(ref _bytesForward);

    /// <summary>Bytes carried from the target back to the connecting side.</summary>
    public long BytesBackward => Interlocked.Read(ref _bytesBackward);

    public long Connections => Interlocked.Read(ref _connectionsAccepted);

    private async Task AcceptLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket inbound;
            try
            {
                inbound = await _listener.AcceptAsync(cancellationToken);
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException ex)
            {
                LinkLog.AcceptFailed(_logger, Name, ex);
                continue;
            }

            Interlocked.Increment(ref _connectionsAccepted);
            inbound.NoDelay = true;
            lock (_connections)
            {
                _connections.RemoveAll(static t => t.IsCompleted);
                _connections.Add(HandleConnectionAsync(inbound, cancellationToken));
            }
        }
    }

    private async Task HandleConnectionAsync(Socket inbound, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var outbound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await outbound.ConnectAsync(_target, linked.Token);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException)
        {
            LinkLog.ConnectFailed(_logger, Name, _target.ToString() ?? "", ex);
            inbound.Dispose();
            return;
        }

        using (inbound)
        {
            var forward = PumpAsync(inbound, outbound, isForward: true, linked.Token);
            var backward = PumpAsync(outbound, inbound, isForward: false, linked.Token);
            // When either side closes, the other direction drains and then the pair is torn down.
            await Task.WhenAny(forward, backward);
            await linked.CancelAsync();
            try
            {
                await Task.WhenAll(forward, backward);
            }
            catch (Exception) when (linked.IsCancellationRequested)
            {
            }
        }
    }

    /// <summary>
    /// Reads segments from <paramref name="from"/>, schedules each on the emulated link, and writes
    /// it to <paramref name="to"/> when it arrives. Reading and delivering run concurrently so the
    /// link keeps a bandwidth-delay product of data in flight, as a real path does.
    /// </summary>
    private async Task PumpAsync(Socket from, Socket to, bool isForward, CancellationToken cancellationToken)
    {
        var inFlight = Channel.CreateUnbounded<Segment>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var deliver = DeliverAsync(inFlight.Reader, to, cancellationToken);
        long linkFreeAtTicks = 0;
        try
        {
            while (true)
            {
                var buffer = ArrayPool<byte>.Shared.Rent(SegmentSize);
                int read;
                try
                {
                    read = await from.ReceiveAsync(buffer.AsMemory(0, SegmentSize), SocketFlags.None, cancellationToken);
                }
                catch
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    throw;
                }

                if (read == 0)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    break;
                }

                if (isForward)
                {
                    Interlocked.Add(ref _bytesForward, read);
                }
                else
                {
                    Interlocked.Add(ref _bytesBackward, read);
                }

                var now = _time.GetTimestamp();
                var departs = Math.Max(now, linkFreeAtTicks);
                var transmitTicks = _settings.BitsPerSecond == 0
                    ? 0
                    : (long)(read * 8.0 / _settings.BitsPerSecond * _time.TimestampFrequency);
                linkFreeAtTicks = departs + transmitTicks;
                var arrives = linkFreeAtTicks + (long)(_settings.Latency.TotalSeconds * _time.TimestampFrequency);
                await inFlight.Writer.WriteAsync(new Segment(buffer, read, arrives), cancellationToken);
            }
        }
        finally
        {
            inFlight.Writer.TryComplete();
        }

        await deliver;
        // Propagate the half-close so the peer sees end of stream.
        try
        {
            to.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
        }
    }

    private async Task DeliverAsync(ChannelReader<Segment> segments, Socket to, CancellationToken cancellationToken)
    {
        await foreach (var segment in segments.ReadAllAsync(cancellationToken))
        {
            try
            {
                var wait = _time.GetElapsedTime(_time.GetTimestamp(), segment.ArrivesAtTicks);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, cancellationToken);
                }

                await to.SendAsync(segment.Buffer.AsMemory(0, segment.Length), SocketFlags.None, cancellationToken);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(segment.Buffer);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Dispose();
        await _acceptLoop;
        Task[] pending;
        lock (_connections)
        {
            pending = [.. _connections];
        }

        await Task.WhenAll(pending);
        _stopping.Dispose();
        LinkLog.Stopped(_logger, Name, BytesForward, BytesBackward);
    }

    private readonly record struct Segment(byte[] Buffer, int Length, long ArrivesAtTicks);
}

internal static partial class LinkLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Link {Name}: {Listen} -> {Target} ({Settings})")]
    public static partial void Started(ILogger logger, string name, string listen, string target, string settings);

    [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Link {Name}: accept failed")]
    public static partial void AcceptFailed(ILogger logger, string name, Exception exception);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "Link {Name}: cannot reach {Target}")]
    public static partial void ConnectFailed(ILogger logger, string name, string target, Exception exception);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Link {Name} closed: {Forward} bytes out, {Backward} bytes back")]
    public static partial void Stopped(ILogger logger, string name, long forward, long backward);
}
