using System.Buffers;
using System.IO.Compression;
using System.IO.Pipelines;
using Google.Protobuf;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.Testing;
using Xunit;

namespace Proxima.Protocol.Tests;

public sealed class GrpcTimeoutTests
{
    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("3S", 30_000_000L)]
    [InlineData("250m", 2_500_000L)]
    [InlineData("7u", 70L)]
    [InlineData("1000n", 10L)]
    [InlineData("99999999S", 999_999_990_000_000L)]
    [InlineData("0m", 0L)]
    public void Parses_every_unit(string header, long expectedTicks)
    {
        Assert.True(GrpcTimeout.TryParse(header, out var timeout));
        Assert.Equal(expectedTicks, timeout.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("10s")]
    [InlineData("-1S")]
    [InlineData("123456789S")]
    [InlineData("1.5S")]
    [InlineData(" 1S")]
    public void Rejects_malformed_values(string header) => Assert.False(GrpcTimeout.TryParse(header, out _));

    [Theory]
    [InlineData(1L)]
    [InlineData(10_000L)] // 1 ms
    [InlineData(12_345_678L)]
    [InlineData(600_000_000L)] // 60 s
    [InlineData(36_000_000_000L)] // 1 h
    [InlineData(864_000_000_000_000L)] // 1000 days
    public void Format_never_shortens_and_fits_eight_digits(long ticks)
    {
        var text = GrpcTimeout.Format(TimeSpan.FromTicks(ticks));
        Assert.InRange(text.Length, 2, 9);
        Assert.True(GrpcTimeout.TryParse(text, out var back));
        Assert.True(back.Ticks >= ticks, $"{text} is shorter than {ticks} ticks");

        // Rounded up by less than one unit of the chosen size.
        Assert.True(back.Ticks - ticks < TimeSpan.TicksPerHour);
    }

    [Fact]
    public void Format_of_non_positive_timeout_is_smallest_unit() =>
        Assert.Equal("1n", GrpcTimeout.Format(TimeSpan.Zero));
}

public sealed class PercentEncodingTests
{
    [Theory]
    [InlineData("plain text, ok!", "plain text, ok!")]
    [InlineData("100%", "100%25")]
    [InlineData("line\nbreak", "line%0Abreak")]
    [InlineData("ü", "%C3%BC")]
    [InlineData("tab\t~", "tab%09~")]
    public void Encodes_per_grpc_spec(string input, string expected) => Assert.Equal(expected, PercentEncoding.Encode(input));

    [Theory]
    [InlineData("bad thing: 100% wrong\nüñï 🚀")]
    [InlineData("")]
    [InlineData("%%%")]
    public void Round_trips(string input) => Assert.Equal(input, PercentEncoding.Decode(PercentEncoding.Encode(input)));

    [Theory]
    [InlineData("50%", "50%")]
    [InlineData("%zz", "%zz")]
    [InlineData("%4", "%4")]
    [InlineData("a%20b", "a b")]
    [InlineData("%c3%bc", "ü")]
    public void Decoding_keeps_invalid_sequences(string input, string expected) => Assert.Equal(expected, PercentEncoding.Decode(input));

    [Fact]
    public void Decoding_invalid_utf8_gives_replacement_character() =>
        Assert.Equal("a\uFFFDb", PercentEncoding.Decode("a%FFb"));
}

public sealed class StatusMappingTests
{
    [Theory]
    [InlineData(400, StatusCode.Internal)]
    [InlineData(401, StatusCode.Unauthenticated)]
    [InlineData(403, StatusCode.PermissionDenied)]
    [InlineData(404, StatusCode.Unimplemented)]
    [InlineData(429, StatusCode.Unavailable)]
    [InlineData(502, StatusCode.Unavailable)]
    [InlineData(503, StatusCode.Unavailable)]
    [InlineData(504, StatusCode.Unavailable)]
    [InlineData(500, StatusCode.Unknown)]
    public void Http_status_maps_to_grpc_status(int http, StatusCode expected) =>
        Assert.Equal(expected, GrpcProtocol.StatusFromHttpStatus(http).StatusCode);

    [Theory]
    [InlineData(0x0, StatusCode.Internal)]
    [InlineData(0x2, StatusCode.Internal)]
    [InlineData(0x7, StatusCode.Unavailable)]
    [InlineData(0x8, StatusCode.Cancelled)]
    [InlineData(0xb, StatusCode.ResourceExhausted)]
    [InlineData(0xc, StatusCode.PermissionDenied)]
    public void Http2_error_code_maps_to_grpc_status(long code, StatusCode expected) =>
        Assert.Equal(expected, GrpcProtocol.StatusFromHttp2ErrorCode(code));

    [Theory]
    [InlineData(0x0, true, StatusCode.Unavailable)] // graceful GOAWAY/close before the call was answered
    [InlineData(0x0, false, StatusCode.Internal)]
    [InlineData(0x2, true, StatusCode.Internal)]
    [InlineData(0x7, false, StatusCode.Unavailable)]
    public void Http2_close_before_response_headers_is_unavailable(long code, bool beforeHeaders, StatusCode expected) =>
        Assert.Equal(expected, GrpcProtocol.StatusFromHttp2ErrorCode(code, beforeHeaders));

    [Theory]
    [InlineData("0", true, StatusCode.OK)]
    [InlineData("14", true, StatusCode.Unavailable)]
    [InlineData("", false, StatusCode.Unknown)]
    [InlineData("x1", false, StatusCode.Unknown)]
    public void Parses_grpc_status(string text, bool ok, StatusCode expected)
    {
        Assert.Equal(ok, GrpcProtocol.TryParseStatusCode(text, out var code));
        Assert.Equal(expected, code);
    }

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/grpc; charset=utf-8", true)]
    [InlineData("APPLICATION/GRPC", true)]
    [InlineData("application/grpc+json", false)]
    [InlineData("application/grpc-web", false)]
    [InlineData("application/json", false)]
    [InlineData(null, false)]
    public void Recognises_grpc_protobuf_content_types(string? contentType, bool expected) =>
        Assert.Equal(expected, GrpcProtocol.IsGrpcProtoContentType(contentType));
}

public sealed class MetadataTests
{
    [Fact]
    public void Binary_keys_need_binary_values_and_text_keys_text_values()
    {
        Assert.Throws<ArgumentException>(() => new Metadata { { "x-data-bin", "text" } });
        Assert.Throws<ArgumentException>(() => new Metadata { { "x-data", new byte[] { 1 } } });
        var md = new Metadata { { "X-Mixed-Case", "v" }, { "x-data-bin", new byte[] { 1, 2 } } };
        Assert.Equal("x-mixed-case", md[0].Key);
        Assert.True(md[1].IsBinary);
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("colon:")]
    [InlineData("grpc-custom")]
    [InlineData("")]
    public void Rejects_invalid_keys(string key) => Assert.ThrowsAny<ArgumentException>(() => new Metadata.Entry(key, "v"));

    [Fact]
    public void Rejects_non_ascii_text_values() => Assert.Throws<ArgumentException>(() => new Metadata.Entry("x-a", "ü"));

    [Theory]
    [InlineData("AAH+/wo", new byte[] { 0, 1, 254, 255, 10 })]
    [InlineData("AAH+/wo=", new byte[] { 0, 1, 254, 255, 10 })]
    [InlineData("AAH-_wo", new byte[] { 0, 1, 254, 255, 10 })]
    [InlineData("", new byte[0])]
    public void Binary_values_decode_padded_or_unpadded(string wire, byte[] expected)
    {
        var md = new Metadata();
        MetadataCodec.AddReceived(md, "x-data-bin", wire);
        Assert.Equal(expected, Assert.Single(md).ValueBytes);
    }

    [Fact]
    public void Joined_binary_values_are_split_on_commas()
    {
        var md = new Metadata();
        MetadataCodec.AddReceived(md, "x-data-bin", "AQ, Ag==");
        Assert.Equal(2, md.Count);
        Assert.Equal(new byte[] { 1 }, md[0].ValueBytes);
        Assert.Equal(new byte[] { 2 }, md[1].ValueBytes);
    }

    [Fact]
    public void Binary_values_are_sent_unpadded() =>
        Assert.Equal("AAH+/wo", MetadataCodec.EncodeValue(new Metadata.Entry("x-bin", [0, 1, 254, 255, 10])));
}

public sealed class MessageFramingTests
{
    private static EchoRequest Sample(int size) => new() { Payload = ByteString.CopyFrom(new byte[size]), ResponseSize = 7, StatusMessage = "hi" };

    [Theory]
    [InlineData(0)]
    [InlineData(10)]
    [InlineData(100_000)]
    public async Task Message_round_trips_through_a_pipe_split_into_small_writes(int size)
    {
        var message = Sample(size);
        var buffer = new ArrayBufferWriter<byte>();
        MessageFraming.Write(buffer, message, int.MaxValue);
        MessageFraming.Write(buffer, message, int.MaxValue);
        Assert.Equal(2 * (5 + message.CalculateSize()), buffer.WrittenCount);
        Assert.Equal(0, buffer.WrittenSpan[0]);

        var pipe = new Pipe();
        var bytes = buffer.WrittenMemory;
        var writer = Task.Run(async () =>
        {
            // DATA frame boundaries are unrelated to message boundaries: write in 3-byte pieces.
            for (var i = 0; i < bytes.Length; i += 3)
            {
                await pipe.Writer.WriteAsync(bytes.Slice(i, Math.Min(3, bytes.Length - i)));
            }

            await pipe.Writer.CompleteAsync();
        });
        var first = await MessageFraming.ReadMessageAsync(pipe.Reader, EchoRequest.Parser, int.MaxValue, null, default);
        var second = await MessageFraming.ReadMessageAsync(pipe.Reader, EchoRequest.Parser, int.MaxValue, null, default);
        var end = await MessageFraming.ReadMessageAsync(pipe.Reader, EchoRequest.Parser, int.MaxValue, null, default);
        await writer;
        Assert.Equal(message, first);
        Assert.Equal(message, second);
        Assert.Null(end);
    }

    [Fact]
    public async Task Oversized_message_is_resource_exhausted_before_its_body_arrives()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(new byte[] { 0, 0, 0x10, 0, 1 }); // 1 MiB + 1, body never sent
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await MessageFraming.ReadMessageAsync(pipe.Reader, EchoRequest.Parser, 1024 * 1024, null, default));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("1048577 vs. 1048576", ex.Status.Detail);
    }

    [Fact]
    public void Oversized_send_is_resource_exhausted()
    {
        var ex = Assert.Throws<RpcException>(() => MessageFraming.Write(new ArrayBufferWriter<byte>(), Sample(100), 50));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0 })]
    [InlineData(new byte[] { 0, 0, 0, 0, 9, 1, 2 })]
    public async Task Truncated_stream_is_internal(byte[] bytes)
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(bytes);
        await pipe.Writer.CompleteAsync();
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await MessageFraming.ReadMessageAsync(pipe.Reader, EchoRequest.Parser, int.MaxValue, null, default));
        Assert.Equal(StatusCode.Internal, ex.StatusCode);
    }

    [Fact]
    public async Task Invalid_compressed_flag_is_internal()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(new byte[] { 2, 0, 0, 0, 0 });
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
            await MessageFraming.ReadMessageAsync(pipe.Reader, EchoRequest.Parser, int.MaxValue, null, default));
        Assert.Equal(StatusCode.Internal, ex.StatusCode);
    }

    [Fact]
    public async Task Gzip_compressed_message_is_accepted_and_unknown_encoding_is_unimplemented()
    {
        var message = Sample(5000);
        var compressed = Gzip(message.ToByteArray());
        var framed = Frame(1, compressed);

        Assert.Equal(message, await ReadAsync(framed, "gzip", int.MaxValue));
        Assert.Equal(StatusCode.Unimplemented, (await Assert.ThrowsAsync<RpcException>(() => ReadAsync(framed, "snappy", int.MaxValue))).StatusCode);
        Assert.Equal(StatusCode.Internal, (await Assert.ThrowsAsync<RpcException>(() => ReadAsync(framed, null, int.MaxValue))).StatusCode);
    }

    [Fact]
    public async Task Gzip_bomb_is_resource_exhausted_not_an_allocation()
    {
        var bomb = Gzip(new byte[50 * 1024 * 1024]);
        Assert.True(bomb.Length < 100_000);
        var ex = await Assert.ThrowsAsync<RpcException>(() => ReadAsync(Frame(1, bomb), "gzip", 1024 * 1024));
        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    private static async Task<EchoRequest?> ReadAsync(byte[] framed, string? encoding, int max)
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(framed);
        await pipe.Writer.CompleteAsync();
        return await MessageFraming.ReadMessageAsync(pipe.Reader, EchoRequest.Parser, max, encoding, default);
    }

    private static byte[] Frame(byte flag, byte[] payload)
    {
        var framed = new byte[5 + payload.Length];
        framed[0] = flag;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(framed.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(framed, 5);
        return framed;
    }

    private static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal))
        {
            gz.Write(data);
        }

        return ms.ToArray();
    }
}
