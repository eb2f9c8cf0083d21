using System.Buffers.Binary;
using Proxima.Arrays.Codecs.Native;

namespace Proxima.Arrays.Codecs;

/// <summary>numcodecs LZ4: a 4-byte little-endian uncompressed length followed by one raw LZ4 block.</summary>
internal sealed class Lz4Codec : IBytesCodec
{
    public string Name => "lz4";

    public int EncodedLength(int decodedLength) => -1;

    public int Decode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (source.Length < 4)
        {
            throw new CodecException(ChunkErrorKind.Truncated, "lz4: shorter than the 4-byte length prefix");
        }

        uint declared = BinaryPrimitives.ReadUInt32LittleEndian(source);
        if (declared > (uint)destination.Length)
        {
            throw new CodecException(ChunkErrorKind.ExceedsExpectedSize, $"lz4: prefix declares {declared} bytes, more than the chunk's {destination.Length}");
        }

        if (declared == 0)
        {
            return 0;
        }

        int n = Lz4Native.DecompressSafe(source[4..], destination[..(int)declared]);
        if (n < 0)
        {
            throw new CodecException(ChunkErrorKind.Corrupt, "lz4: malformed or truncated block");
        }

        return n;
    }

    public byte[] Encode(ReadOnlySpan<byte> source)
    {
        byte[] block = Lz4Native.Compress(source);
        byte[] result = new byte[block.Length + 4];
        BinaryPrimitives.WriteUInt32LittleEndian(result, (uint)source.Length);
        block.CopyTo(result, 4);
        return result;
    }
}
