using System.Text.Json;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.Tests.Infrastructure;
using Xunit;

namespace Proxima.InteropTests;

/// <summary>Our Kestrel server (h2c and TLS) on 127.0.0.1 port 0, for the grpcio client.</summary>
public sealed class OurServerFixture : IAsyncLifetime
{
    internal PythonGrpc.Files Files { get; } = new();

    public InteropService Service { get; } = new();

    public TestGrpcServer H2c { get; private set; } = null!;

    public TestGrpcServer Tls { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        H2c = await TestGrpcServer.StartAsync(Service.Map);
        Tls = await TestGrpcServer.StartAsync(Service.Map, Files.Certificate);
    }

    public async Task DisposeAsync()
    {
        await H2c.DisposeAsync();
        await Tls.DisposeAsync();
        Files.Dispose();
    }
}

/// <summary>A real grpcio 1.51 client (python/client.py, one process per case) calling our server.</summary>
public sealed class PythonClientToOurServerTests : IClassFixture<OurServerFixture>
{
    private readonly OurServerFixture _server;

    public PythonClientToOurServerTests(OurServerFixture server) => _server = server;

    private Task<JsonElement> RunAsync(string testCase, bool tls = false, string tag = "-") =>
        PythonGrpc.RunClientCaseAsync(_server.Files, tls ? _server.Tls.Address : _server.H2c.Address, testCase, tls, tag);

    [Fact]
    public async Task Empty_unary()
    {
        var r = await RunAsync("empty_unary");
        Assert.Equal(0, r.GetProperty("serialized_len").GetInt32());
        _server.H2c.AssertNoErrors();
    }

    [Fact]
    public async Task Large_unary_over_one_megabyte_each_way()
    {
        var r = await RunAsync("large_unary");
        Assert.Equal(1_500_000, r.GetProperty("received_bytes").GetInt64());
        Assert.Equal(1_500_000, r.GetProperty("payload_len").GetInt32());
        Assert.True(r.GetProperty("payload_ok").GetBoolean());
        _server.H2c.AssertNoErrors();
    }

    [Fact]
    public async Task Server_streaming()
    {
        var r = await RunAsync("server_streaming");
        Assert.Equal([0, 1, 2, 3, 4], r.GetProperty("indices").EnumerateArray().Select(e => e.GetInt32()));
        Assert.All(r.GetProperty("sizes").EnumerateArray(), e => Assert.Equal(3000, e.GetInt32()));
        Assert.False(r.TryGetProperty("payload_ok", out _));
        _server.H2c.AssertNoErrors();
    }

    [Fact]
    public async Task Custom_metadata_echo_including_binary()
    {
        var r = await RunAsync("metadata");
        var binary = Convert.ToBase64String([0, 1, 254, 255, 10]);
        var headers = r.GetProperty("headers");
        var trailers = r.GetProperty("trailers");
        Assert.Equal("hello proxima", headers.GetProperty("x-text").GetString());
        Assert.Equal(binary, headers.GetProperty("x-data-bin").GetString());
        Assert.Equal("hello proxima", trailers.GetProperty("t-x-text").GetString());
        Assert.Equal(binary, trailers.GetProperty("t-x-data-bin").GetString());
    }

    [Fact]
    public async Task Status_code_and_message()
    {
        var r = await RunAsync("status");
        Assert.Equal((int)StatusCode.FailedPrecondition, r.GetProperty("code").GetInt32());
        Assert.Equal("bad thing: 100% wrong\nüñï", r.GetProperty("details").GetString());
    }

    [Fact]
    public async Task One_millisecond_deadline_is_deadline_exceeded()
    {
        var r = await RunAsync("deadline", tag: Guid.NewGuid().ToString("N"));
        Assert.Equal((int)StatusCode.DeadlineExceeded, r.GetProperty("code").GetInt32());
        _server.H2c.AssertNoErrors();
    }

    [Fact]
    public async Task Client_cancel_is_cancelled_and_seen_by_the_server()
    {
        var tag = Guid.NewGuid().ToString("N");
        var r = await RunAsync("cancel", tag: tag);
        Assert.Equal(0, r.GetProperty("first_index").GetInt32());
        Assert.Equal((int)StatusCode.Cancelled, r.GetProperty("code").GetInt32());
        Assert.Equal("Stream CANCELLED", await _server.Service.WaitForEventAsync(tag));
        _server.H2c.AssertNoErrors();
    }

    [Fact]
    public async Task Unimplemented_method()
    {
        var r = await RunAsync("unimplemented");
        Assert.Equal((int)StatusCode.Unimplemented, r.GetProperty("code").GetInt32());
        Assert.Equal((int)StatusCode.Unimplemented, r.GetProperty("service_code").GetInt32());
    }

    [Fact]
    public async Task Oversized_message_is_resource_exhausted_both_ways()
    {
        var r = await RunAsync("oversized");
        Assert.Equal((int)StatusCode.ResourceExhausted, r.GetProperty("send_code").GetInt32());
        Assert.Equal((int)StatusCode.ResourceExhausted, r.GetProperty("recv_code").GetInt32());
        Assert.Equal(0, r.GetProperty("after_code").GetInt32());
        _server.H2c.AssertNoErrors();
    }

    [Fact]
    public async Task Large_unary_over_tls_with_alpn_h2()
    {
        var r = await RunAsync("large_unary", tls: true);
        Assert.True(r.GetProperty("payload_ok").GetBoolean());
        Assert.Equal(1_500_000, r.GetProperty("received_bytes").GetInt64());
        _server.Tls.AssertNoErrors();
    }

    [Fact]
    public async Task Gzip_compressed_request_from_grpcio_is_accepted()
    {
        var r = await RunAsync("gzip");
        Assert.Equal(1_000_000, r.GetProperty("received_bytes").GetInt64());
        Assert.Equal(1000, r.GetProperty("payload_len").GetInt32());
        Assert.Equal("gzip", _server.Service.LastRequestEncoding);
        _server.H2c.AssertNoErrors();
    }
}
