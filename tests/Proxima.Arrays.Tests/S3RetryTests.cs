using System.Net;
using System.Net.Sockets;
using System.Text;
using Proxima.Arrays.Storage;
using Xunit;

namespace Proxima.Arrays.Tests;

/// <summary>A scripted HTTP/1.1 server on 127.0.0.1:0 that answers S3 requests with canned statuses.</summary>
internal sealed class ScriptedHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<int, (int Status, string Body)> _respond;
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _loop;
    private int _requests;

    public ScriptedHttpServer(Func<int, (int Status, string Body)> respond)
    {
        _respond = respond;
        _listener.Start();
        _loop = Task.Run(AcceptLoop);
    }

    public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public int Requests => Volatile.Read(ref _requests);

    private async Task AcceptLoop()
    {
        while (!_cts.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_cts.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException)
            {
                return;
            }

            _ = Task.Run(() => Serve(client));
        }
    }

    private async Task Serve(TcpClient client)
    {
        using (client)
        {
            NetworkStream stream = client.GetStream();
            var buffer = new byte[65536];
            var pending = new StringBuilder();
            while (!_cts.IsCancellationRequested)
            {
                int n;
                try
                {
                    n = await stream.ReadAsync(buffer, _cts.Token);
                }
                catch (Exception)
                {
                    return;
                }

                if (n == 0)
                {
                    return;
                }

                pending.Append(Encoding.Latin1.GetString(buffer, 0, n));
                string text = pending.ToString();
                int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (end < 0)
                {
                    continue;
                }

                pending.Clear();
                pending.Append(text[(end + 4)..]);
                int index = Interlocked.Increment(ref _requests);
                (int status, string body) = _respond(index);
                byte[] payload = Encoding.UTF8.GetBytes(body);
                string head = $"HTTP/1.1 {status} X\r\nContent-Length: {payload.Length}\r\nContent-Type: {(status >= 300 ? "application/xml" : "application/octet-stream")}\r\nx-amz-request-id: test\r\n\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
                await stream.WriteAsync(payload);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        _listener.Stop();
        await _loop;
        _cts.Dispose();
    }
}

public sealed class S3RetryTests
{
    private static string Error(string code) => $"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code}</Message><RequestId>t</RequestId></Error>";

    private static S3Storage Create(string url, int retries = 4) => S3Storage.Create(new S3StorageOptions
    {
        Bucket = "b",
        ServiceUrl = url,
        ForcePathStyle = true,
        AccessKey = "k",
        SecretKey = "s",
        MaxRetries = retries,
        BaseDelay = TimeSpan.FromMilliseconds(1),
        MaxDelay = TimeSpan.FromMilliseconds(5),
    });

    [Fact]
    public async Task SlowDown_and_500_are_retried_until_success()
    {
        await using var server = new ScriptedHttpServer(i => i switch
        {
            1 => (503, Error("SlowDown")),
            2 => (500, Error("InternalError")),
            _ => (200, "hello"),
        });
        using S3Storage s3 = Create(server.Url);
        byte[]? data = await s3.ReadAllBytesAsync("k");
        Assert.Equal("hello", Encoding.UTF8.GetString(data!));
        Assert.Equal(3, server.Requests);
    }

    [Fact]
    public async Task Client_errors_are_not_retried()
    {
        await using var server = new ScriptedHttpServer(_ => (403, Error("AccessDenied")));
        using S3Storage s3 = Create(server.Url);
        StorageException e = await Assert.ThrowsAsync<StorageException>(async () => await s3.ReadAllBytesAsync("secret/key"));
        Assert.Contains("s3://b/secret/key", e.Message, StringComparison.Ordinal);
        Assert.Contains("403", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.Requests);
    }

    [Fact]
    public async Task Persistent_5xx_gives_up_after_the_configured_retries()
    {
        await using var server = new ScriptedHttpServer(_ => (503, Error("ServiceUnavailable")));
        using S3Storage s3 = Create(server.Url, retries: 2);
        StorageException e = await Assert.ThrowsAsync<StorageException>(async () => await s3.ReadAllBytesAsync("k"));
        Assert.Contains("after 3 attempts", e.Message, StringComparison.Ordinal);
        Assert.Equal(3, server.Requests);
    }

    [Fact]
    public async Task Not_found_is_null_without_retry()
    {
        await using var server = new ScriptedHttpServer(_ => (404, Error("NoSuchKey")));
        using S3Storage s3 = Create(server.Url);
        Assert.Null(await s3.ReadAllBytesAsync("missing"));
        Assert.Equal(1, server.Requests);
    }
}
