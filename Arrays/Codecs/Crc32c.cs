using System.Buffers.Binary;
using System.Runtime.Intrinsics.X86;

namespace Proxima.Arrays.Codecs;

/// <summary>CRC-32C (Castagnoli), hardware-accelerated with SSE4.2 when available.</summary>
internal static class Crc32c
{
    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        if (Sse42.X64.IsSupported)
        {
            ulong c = crc;
            while (data.Length >= 8)
            {
                c = Sse42.X64.Crc32(c, BinaryPrimitives.ReadUInt64LittleEndian(data));
                data = data[8..];
            }

            crc = (uint)c;
            foreach (byte b in data)
            {
                crc = Sse42.Crc32(crc, b);
            }
        }
        else
        {
            foreach (byte b in data)
            {
                crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            }
        }

        return crc ^ 0xFFFFFFFFu;
    }

    private static uint[] BuildTable()
    {
        var t = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
            }

            t[i] = c;
        }

        return t;
    }
}

/// <summary>Zarr v3 crc32c codec: data followed by its little-endian CRC-32C, verified on decode.</summary>
internal sealed class Crc32cCodec : IBytesCodec
{
    public string Name => "crc32c";

    public int EncodedLength(int decodedLength) => decodedLength + 4;

    public int DecodedLength(int encodedLength) => encodedLength >= 4 ? encodedLength - 4 : -1;

    public int Decode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (source.Length < 4)
        {
            throw new CodecException(ChunkErrorKind.Truncated, "crc32c: shorter than the 4-byte checksum");
        }

        ReadOnlySpan<byte> data = source[..^4];
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(source[^4..]);
        uint actual = Crc32c.Compute(data);
        if (stored != actual)
        {
            throw new CodecException(ChunkErrorKind.ChecksumMismatch, $"crc32c mismatch: stored 0x{stored:x8}, computed 0x{actual:x8}");
        }

        if (data.Length > destination.Length)
        {
            throw new CodecException(ChunkErrorKind.ExceedsExpectedSize, $"crc32c: {data.Length} bytes, more than the expected {destination.Length}");
        }

        data.CopyTo(destination);
        return data.Length;
    }

    public byte[] Encode(ReadOnlySpan<byte> source)
    {
        byte[] result = new byte[source.Length + 4];
        source.CopyTo(result);
        BinaryPrimitives.WriteUInt32LittleEndian(result.AsSpan(source.Length), Crc32c.Compute(source));
        return result;
    }
}
