using Proxima.Arrays.Codecs.Native;

namespace Proxima.Arrays.Codecs;

/// <summary>Zstandard frames through libzstd; the frame's declared content size is checked before decoding.</summary>
internal sealed class ZstdCodec : IBytesCodec
{
    public ZstdCodec(int level = 1)
    {
        Level = level;
    }

    public string Name => "zstd";

    public int Level { get; }

    public int EncodedLength(int decodedLength) => -1;

    public int Decode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        ulong size = ZstdNative.GetFrameContentSize(source);
        if (size == ZstdNative.ContentSizeError)
        {
            throw new CodecException(source.Length < 18 ? ChunkErrorKind.Truncated : ChunkErrorKind.Corrupt, "zstd: not a valid zstd frame header");
        }

        if (size != ZstdNative.ContentSizeUnknown && size > (ulong)destination.Length)
        {
            throw new CodecException(ChunkErrorKind.ExceedsExpectedSize, $"zstd: frame declares {size} bytes, more than the chunk's {destination.Length}");
        }

        // With an unknown content size, ZSTD_decompress still stops at dstCapacity and reports an error.
        return ZstdNative.Decompress(source, destination);
    }

    public byte[] Encode(ReadOnlySpan<byte> source) => ZstdNative.Compress(source, Level);
}
