using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Proxima.Cli.Local;

namespace Proxima.Cli.Tests;

public sealed class LinkEmulatorTests
{
    // Timing on a shared 2-core machine: each measurement is complete on its own; a measurement
    // disturbed by other processes is repeated (at most 3), and the test fails if none lands in the
    // band. A broken emulator (no delay, double delay, no pacing) misses the band every time.
    private const int Attempts = 3;

    [Fact]
    public async Task Round_trip_through_the_link_is_twice_the_one_way_latency()
    {
        // A latency well above the scheduling noise of a loaded 2-core machine (timers firing some
        // milliseconds late), so ±25% tests the emulator rather than the machine.
        var settings = new LinkSettings { Latency = TimeSpan.FromMilliseconds(150), BitsPerSecond = 200_000_000 };
        var expected = 2 * settings.Latency.TotalMilliseconds;
        var measured = new List<double>();
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            await using var echo = new EchoServer();
            await using var link = new LinkEmulator("test", echo.EndPoint, settings, NullLogger.Instance);
            using var client = await ConnectAsync(link.LocalEndPoint);
            var buffer = new byte[1];

            // Warm the connection (the first exchange includes the connect to the target).
            await RoundTripAsync(client, buffer);
            var samples = new List<double>();
            for (var i = 0; i < 5; i++)
            {
                var sw = Stopwatch.StartNew();
                await RoundTripAsync(client, buffer);
                samples.Add(sw.Elapsed.TotalMilliseconds);
            }

            samples.Sort();
            Assert.Equal(6, link.BytesForward);
            Assert.Equal(6, link.BytesBackward);
            measured.Add(samples[samples.Count / 2]);
            if (measured[^1] >= expected * 0.75 && measured[^1] <= expected * 1.25)
            {
                return;
            }
        }

        Assert.Fail($"median round trip {string.Join(", ", measured.Select(m => $"{m:0.0} ms"))} in {Attempts} attempts; expected {expected} ms ± 25%");
    }

    [Fact]
    public async Task Throughput_through_the_link_matches_the_bandwidth_setting()
    {
        const int size = 8 * 1024 * 1024;
        var settings = new LinkSettings { Latency = TimeSpan.FromMilliseconds(5), BitsPerSecond = 100_000_000 };
        var measured = new List<double>();
        var payload = new byte[size];
        Random.Shared.NextBytes(payload);
        for (var attempt = 0; attempt < Attempts; attempt++)
        {
            await using var sink = new SinkServer(size);
            await using var link = new LinkEmulator("test", sink.EndPoint, settings, NullLogger.Instance);
            using var client = await ConnectAsync(link.LocalEndPoint);

            var sw = Stopwatch.StartNew();
            await client.SendAsync(payload, SocketFlags.None);
            await sink.Completed;
            var seconds = sw.Elapsed.TotalSeconds - settings.Latency.TotalSeconds;
            Assert.Equal(size, link.BytesForward);
            measured.Add(size * 8.0 / seconds);
            if (measured[^1] >= settings.BitsPerSecond * 0.75 && measured[^1] <= settings.BitsPerSecond * 1.25)
            {
                return;
            }
        }

        Assert.Fail($"throughput {string.Join(", ", measured.Select(m => $"{m / 1e6:0.0} Mbit/s"))} in {Attempts} attempts; expected 100 Mbit/s ± 25%");
    }

    [Fact]
    public async Task Closing_the_client_closes_the_target_side()
    {
        await using var sink = new SinkServer(3);
        await using var link = new LinkEmulator("test", sink.EndPoint, LinkSettings.None, NullLogger.Instance);
        using (var client = await ConnectAsync(link.LocalEndPoint))
        {
            await client.SendAsync(new byte[] { 1, 2, 3 }, SocketFlags.None);
            client.Shutdown(SocketShutdown.Send);
            await sink.Completed;
        }

        Assert.Equal(3, link.BytesForward);
    }

    private static async Task<Socket> ConnectAsync(IPEndPoint endPoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endPoint);
        return socket;
    }

    private static async Task RoundTripAsync(Socket client, byte[] buffer)
    {
        await client.SendAsync(buffer, SocketFlags.None);
        var read = await client.ReceiveAsync(buffer, SocketFlags.None);
        Assert.Equal(1, read);
    }

    private sealed class EchoServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Task _loop;

        public EchoServer()
        {
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                using var socket = await _listener.AcceptSocketAsync();
                var buffer = new byte[4096];
                int read;
                while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0)
                {
                    await socket.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
                }
            });
        }

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            try
            {
                await _loop;
            }
            catch (Exception)
            {
            }
        }
    }

    private sealed class SinkServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

        public SinkServer(long expected)
        {
            _listener.Start();
            Completed = Task.Run(async () =>
            {
                using var socket = await _listener.AcceptSocketAsync();
                var buffer = new byte[65536];
                long total = 0;
                int read;
                while (total < expected && (read = await socket.ReceiveAsync(buffer, SocketFlags.None)) > 0)
                {
                    total += read;
                }
            });
        }

        public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

        public Task Completed { get; }

        public ValueTask DisposeAsync()
        {
            _listener.Stop();
            return ValueTask.CompletedTask;
        }
    }
}
