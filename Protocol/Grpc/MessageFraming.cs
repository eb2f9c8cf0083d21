using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.IO.Pipelines;
using Google.Protobuf;

namespace Proxima.Protocol.Grpc;

/// <summary>
/// Length-Prefixed-Message framing: Compressed-Flag (1 byte), Message-Length (4 bytes big endian),
/// Message. We always send uncompressed (flag 0); we accept flag 1 with <c>grpc-encoding: gzip</c>.
/// DATA frame boundaries are unrelated to message boundaries, so readers buffer across frames.
/// </summary>
internal static class MessageFraming
{
    /// <summary>Serializes <paramref name="message"/> with its 5-byte prefix into <paramref name="writer"/>.</summary>
    public static void Write(IBufferWriter<byte> writer, IMessage message, int maxSendMessageSize)
    {
        var size = message.CalculateSize();
        if (size > maxSendMessageSize)
        {
            ThrowHelper.SendTooLarge(size, maxSendMessageSize);
        }

        var header = writer.GetSpan(GrpcProtocol.MessageHeaderSize);
        header[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(header[1..], (uint)size);
        writer.Advance(GrpcProtocol.MessageHeaderSize);
        if (size > 0)
        {
            message.WriteTo(writer);
        }
    }

    /// <summary>Serializes into a pooled array (prefix included); the caller returns it to
    /// <see cref="ArrayPool{T}.Shared"/>.</summary>
    public static byte[] WriteToPooledArray(IMessage message, int maxSendMessageSize, out int length)
    {
        var size = message.CalculateSize();
        if (size > maxSendMessageSize)
        {
            ThrowHelper.SendTooLarge(size, maxSendMessageSize);
        }

        length = GrpcProtocol.MessageHeaderSize + size;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        buffer[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(1), (uint)size);
        if (size > 0)
        {
            message.WriteTo(buffer.AsSpan(GrpcProtocol.MessageHeaderSize, size));
        }

        return buffer;
    }

    /// <summary>
    /// Reads the next message from a pipe (the server's request body). Returns null at a clean end of
    /// stream. Throws <see cref="RpcException"/> for an oversized, truncated or undecodable message.
    /// </summary>
    public static async ValueTask<T?> ReadMessageAsync<T>(
        PipeReader reader,
        MessageParser<T> parser,
        int maxReceiveMessageSize,
        string? encoding,
        CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (buffer.Length >= GrpcProtocol.MessageHeaderSize)
            {
                var (compressed, length) = ReadHeader(buffer);
                if (length > maxReceiveMessageSize)
                {
                    reader.AdvanceTo(buffer.Start);
                    ThrowHelper.ReceiveTooLarge(length, maxReceiveMessageSize);
                }

                var total = GrpcProtocol.MessageHeaderSize + length;
                if (buffer.Length >= total)
                {
                    var payload = buffer.Slice(GrpcProtocol.MessageHeaderSize, length);
                    T message;
                    try
                    {
                        message = compressed
                            ? ParseCompressed(payload, parser, maxReceiveMessageSize, encoding)
                            : parser.ParseFrom(payload);
                    }
                    catch (InvalidProtocolBufferException ex)
                    {
                        reader.AdvanceTo(buffer.Start);
                        throw new RpcException(new Status(StatusCode.Internal, "Failed to deserialize message: " + ex.Message), new Metadata(), ex);
                    }

                    reader.AdvanceTo(buffer.GetPosition(total));
                    return message;
                }
            }

            if (result.IsCompleted)
            {
                if (buffer.Length == 0)
                {
                    reader.AdvanceTo(buffer.End);
                    return null;
                }

                reader.AdvanceTo(buffer.End);
                ThrowHelper.Incomplete(buffer.Length);
            }

            if (result.IsCanceled)
            {
                reader.AdvanceTo(buffer.Start);
                throw new OperationCanceledException(cancellationToken);
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Parses the 5-byte prefix. Throws INTERNAL for a flag other than 0 or 1.</summary>
    public static (bool Compressed, int Length) ReadHeader(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> header = stackalloc byte[GrpcProtocol.MessageHeaderSize];
        buffer.Slice(0, GrpcProtocol.MessageHeaderSize).CopyTo(header);
        return ReadHeader(header);
    }

    public static (bool Compressed, int Length) ReadHeader(ReadOnlySpan<byte> header)
    {
        var flag = header[0];
        if (flag > 1)
        {
            ThrowHelper.BadFlag(flag);
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        return (flag == 1, length > int.MaxValue ? int.MaxValue : (int)length);
    }

    /// <summary>Checks a compressed message's encoding and returns a parsed message.</summary>
    public static T ParseCompressed<T>(in ReadOnlySequence<byte> payload, MessageParser<T> parser, int maxReceiveMessageSize, string? encoding)
        where T : class, IMessage<T>
    {
        if (encoding is null || string.Equals(encoding, GrpcProtocol.IdentityEncoding, StringComparison.OrdinalIgnoreCase))
        {
            throw new RpcException(StatusCode.Internal, "Compressed-Flag is set but grpc-encoding is absent or 'identity'.");
        }

        if (!string.Equals(encoding, GrpcProtocol.GzipEncoding, StringComparison.OrdinalIgnoreCase))
        {
            // The compression spec asks for UNIMPLEMENTED with our grpc-accept-encoding list.
            throw new RpcException(StatusCode.Unimplemented, $"Unsupported grpc-encoding value '{encoding}'. Supported encodings: {GrpcProtocol.SupportedEncodings}");
        }

        var compressedLength = checked((int)payload.Length);
        var input = ArrayPool<byte>.Shared.Rent(Math.Max(compressedLength, 1));
        var output = ArrayPool<byte>.Shared.Rent(Math.Max(compressedLength * 4, 4096));
        try
        {
            payload.CopyTo(input);
            using var source = new MemoryStream(input, 0, compressedLength, writable: false);
            using var gzip = new GZipStream(source, CompressionMode.Decompress);
            var n = 0;
            while (true)
            {
                if (n == output.Length)
                {
                    if (n > maxReceiveMessageSize)
                    {
                        break;
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent(output.Length * 2);
                    output.AsSpan(0, n).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(output);
                    output = bigger;
                }

                int read;
                try
                {
                    read = gzip.Read(output, n, output.Length - n);
                }
                catch (InvalidDataException ex)
                {
                    throw new RpcException(new Status(StatusCode.Internal, "Failed to decompress gzip message: " + ex.Message), new Metadata(), ex);
                }

                if (read == 0)
                {
                    break;
                }

                n += read;
            }

            // Bounded by the limit: a compression bomb is an error, never a big allocation.
            if (n > maxReceiveMessageSize)
            {
                ThrowHelper.ReceiveTooLarge(n, maxReceiveMessageSize);
            }

            return parser.ParseFrom(output.AsSpan(0, n));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
            ArrayPool<byte>.Shared.Return(output);
        }
    }
}

/// <summary>Throws out of hot methods (keeps them small and inlinable).</summary>
internal static class ThrowHelper
{
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void SendTooLarge(int size, int max) =>
        throw new RpcException(StatusCode.ResourceExhausted, string.Create(CultureInfo.InvariantCulture, $"Sending message exceeds the maximum configured message size ({size} vs. {max})."));

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void ReceiveTooLarge(long size, int max) =>
        throw new RpcException(StatusCode.ResourceExhausted, string.Create(CultureInfo.InvariantCulture, $"Received message exceeds the maximum configured message size ({size} vs. {max})."));

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Incomplete(long have) =>
        throw new RpcException(StatusCode.Internal, string.Create(CultureInfo.InvariantCulture, $"Incomplete message: the stream ended after {have} bytes of a length-prefixed message."));

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void BadFlag(byte flag) =>
        throw new RpcException(StatusCode.Internal, string.Create(CultureInfo.InvariantCulture, $"Invalid Compressed-Flag {flag} in message prefix (expected 0 or 1)."));
}
