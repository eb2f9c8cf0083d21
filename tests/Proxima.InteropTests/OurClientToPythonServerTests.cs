using Google.Protobuf;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.Testing;
using Proxima.Protocol.Tests.Infrastructure;
using Xunit;

namespace Proxima.InteropTests;

/// <summary>Our client (SocketsHttpHandler, HTTP/2) calling a real grpcio 1.51 server.</summary>
public sealed class OurClientToPythonServerTests : IClassFixture<PythonServerFixture>, IDisposable
{
    private readonly PythonServerFixture _python;
    private readonly GrpcClient _client;

    public OurClientToPythonServerTests(PythonServerFixture python)
    {
        _python = python;
        _client = new GrpcClient(python.H2cAddress);
    }

    public void Dispose() => _client.Dispose();

    [Fact]
    public async Task Empty_unary()
    {
        var response = await _client.UnaryAsync(InteropService.UnaryMethod, new EchoRequest());
        Assert.Equal(0, response.CalculateSize());
    }

    [Fact]
    public async Task Large_unary_over_one_megabyte_each_way()
    {
        const int size = 1_500_000;
        var response = await _client.UnaryAsync(InteropService.UnaryMethod, new EchoRequest { Payload = InteropService.Pattern(size), ResponseSize = size });
        Assert.Equal(size, response.ReceivedBytes);
        Assert.Equal(InteropService.Pattern(size), response.Payload);
    }

    [Fact]
    public async Task Server_streaming()
    {
        var indices = new List<int>();
        await foreach (var m in _client.ServerStreamingAsync(InteropService.StreamMethod, new EchoRequest { StreamCount = 5, ResponseSize = 3000 }))
        {
            Assert.Equal(InteropService.Pattern(3000), m.Payload);
            indices.Add(m.Index);
        }

        Assert.Equal([0, 1, 2, 3, 4], indices);
    }

    [Fact]
    public async Task Custom_metadata_echo_including_binary()
    {
        byte[] binary = [0, 1, 254, 255, 10];
        var headers = new Metadata { { "x-text", "hello proxima" }, { "x-data-bin", binary } };
        var result = await _client.UnaryWithMetadataAsync(InteropService.UnaryMethod, new EchoRequest { EchoMetadata = true }, new GrpcCallOptions(headers));
        Assert.Equal("hello proxima", result.ResponseHeaders.GetValue("x-text"));
        Assert.Equal(binary, result.ResponseHeaders.GetValueBytes("x-data-bin"));
        Assert.Equal("hello proxima", result.Trailers.GetValue("t-x-text"));
        Assert.Equal(binary, result.Trailers.GetValueBytes("t-x-data-bin"));
    }

    [Fact]
    public async Task Status_code_and_message()
    {
        const string detail = "bad thing: 100% wrong\nüñï";
        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            _client.UnaryAsync(InteropService.UnaryMethod, new EchoRequest { StatusCode = 9, StatusMessage = detail }));
        Assert.Equal(StatusCode.FailedPrecondition, ex.StatusCode);
        Assert.Equal(detail, ex.Status.Detail);
    }

    [Fact]
    public async Task One_millisecond_deadline_is_deadline_exceeded()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            _client.UnaryAsync(InteropService.UnaryMethod, new EchoRequest { DelayMs = 5000 }, GrpcCallOptions.WithTimeout(TimeSpan.FromMilliseconds(1))));
        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);

        // A deadline that reaches the server: grpcio sees the call end (its deadline or our RST_STREAM).
        var tag = Guid.NewGuid().ToString("N");
        ex = await Assert.ThrowsAsync<RpcException>(() =>
            _client.UnaryAsync(InteropService.UnaryMethod, new EchoRequest { DelayMs = 10_000 }, GrpcCallOptions.WithTimeout(TimeSpan.FromMilliseconds(300), headers: new Metadata { { "x-tag", tag } })));
        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.StartsWith("Unary ", await _python.WaitForEventAsync(tag));
    }

    [Fact]
    public async Task Client_cancel_is_cancelled_and_seen_by_the_server()
    {
        var tag = Guid.NewGuid().ToString("N");
        using var cts = new CancellationTokenSource();
        using var call = _client.ServerStreaming(InteropService.StreamMethod, new EchoRequest { StreamCount = 3, DelayMs = 30_000, ResponseSize = 10 }, new GrpcCallOptions(new Metadata { { "x-tag", tag } }, CancellationToken: cts.Token));
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        await cts.CancelAsync();
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(StatusCode.Cancelled, ex.StatusCode);
        Assert.Equal("Stream CANCELLED", await _python.WaitForEventAsync(tag));
    }

    [Fact]
    public async Task Unimplemented_method()
    {
        var ex = await Assert.ThrowsAsync<RpcException>(() => _client.UnaryAsync(InteropService.MissingMethod, new EchoRequest()));
        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);
    }

    [Fact]
    public async Task Oversized_message_is_resource_exhausted_both_ways()
    {
        // Over grpcio's 4 MiB receive limit.
        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            _client.UnaryAsync(InteropService.UnaryMethod, new EchoRequest { Payload = InteropService.Pattern(5 * 1024 * 1024) }));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);

        // Over our 4 MiB receive limit.
        ex = await Assert.ThrowsAsync<RpcException>(() =>
            _client.UnaryAsync(InteropService.UnaryMethod, new EchoRequest { ResponseSize = 5 * 1024 * 1024 }));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);

        Assert.NotNull(await _client.UnaryAsync(InteropService.UnaryMethod, new EchoRequest()));
    }

    [Fact]
    public async Task Unary_over_tls_with_alpn_h2()
    {
        using var tls = new GrpcClient(_python.TlsAddress, new GrpcClientOptions { ServerCertificate = _python.Files.Certificate });
        var response = await tls.UnaryAsync(InteropService.UnaryMethod, new EchoRequest { Payload = ByteString.CopyFromUtf8("hi"), ResponseSize = 100_000 });
        Assert.Equal(2, response.ReceivedBytes);
        Assert.Equal(InteropService.Pattern(100_000), response.Payload);
    }

    [Fact]
    public async Task Gzip_compressed_response_from_grpcio_is_accepted()
    {
        var recorder = new EncodingRecorder(new SocketsHttpHandler());
        using var client = new GrpcClient(_python.H2cAddress, new GrpcClientOptions { HttpHandler = recorder });
        var response = await client.UnaryAsync(InteropService.UnaryMethod, new EchoRequest { ResponseSize = 1_000_000 }, new GrpcCallOptions(new Metadata { { "x-compress", "gzip" } }));
        Assert.Equal(InteropService.Pattern(1_000_000), response.Payload);
        Assert.Equal("gzip", recorder.LastEncoding);
        recorder.Dispose();
    }

    [Fact]
    public async Task Methods_built_from_proto_descriptors_call_grpcio()
    {
        var service = InteropReflection.Descriptor.Services.Single(s => s.FullName == "proxima.testing.Interop");
        var unary = GrpcMethods.FromDescriptor<EchoRequest, EchoResponse>(service, "Unary");
        var stream = GrpcMethods.FromDescriptor<EchoRequest, EchoResponse>(service, "Stream");
        Assert.Equal("/proxima.testing.Interop/Unary", unary.FullName);
        Assert.Equal(GrpcMethodType.ServerStreaming, stream.Type);
        Assert.Equal(7, (await _client.UnaryAsync(unary, new EchoRequest { ResponseSize = 7 })).Payload.Length);
        Assert.Throws<ArgumentException>(() => GrpcMethods.FromDescriptor<EchoResponse, EchoResponse>(service, "Unary"));
        Assert.Throws<ArgumentException>(() => GrpcMethods.FromDescriptor<EchoRequest, EchoResponse>(service, "Nope"));
    }

    private sealed class EncodingRecorder(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        public string? LastEncoding { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            LastEncoding = response.Headers.TryGetValues("grpc-encoding", out var v) ? v.FirstOrDefault() : null;
            return response;
        }
    }
}
