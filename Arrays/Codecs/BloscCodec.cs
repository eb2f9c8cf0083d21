using System.Buffers.Binary;
using Proxima.Arrays.Codecs.Native;

namespace Proxima.Arrays.Codecs;

/// <summary>Blosc (c-blosc 1.x format) through libblosc1's thread-safe context API.</summary>
internal sealed class BloscCodec : IBytesCodec
{
    private const int HeaderSize = 16;
    private const int MaxOverhead = 16;

    public BloscCodec(string compressor = "lz4", int level = 5, int shuffle = 1, int typeSize = 4, int blockSize = 0)
    {
        Compressor = compressor;
        Level = level;
        Shuffle = shuffle;
        TypeSize = typeSize;
        BlockSize = blockSize;
    }

    public string Name => "blosc";

    public string Compressor { get; }

    public int Level { get; }

    /// <summary>0 none, 1 byte shuffle, 2 bit shuffle (-1 auto is resolved by the caller).</summary>
    public int Shuffle { get; }

    public int TypeSize { get; }

    public int BlockSize { get; }

    public int EncodedLength(int decodedLength) => -1;

    /// <summary>Reads nbytes/cbytes from a blosc header; false when the buffer is too short to hold one.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> src, out int nbytes, out int cbytes, out int typesize)
    {
        if (src.Length < HeaderSize)
        {
            nbytes = cbytes = typesize = 0;
            return false;
        }

        typesize = src[3];
        nbytes = (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(src[4..]));
        cbytes = (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(src[12..]));
        return true;
    }

    public int Decode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (!TryReadHeader(source, out int nbytes, out int cbytes, out _))
        {
            throw new CodecException(ChunkErrorKind.Truncated, $"blosc: {source.Length} bytes is shorter than the 16-byte header");
        }

        if (cbytes > source.Length)
        {
            throw new CodecException(ChunkErrorKind.Truncated, $"blosc: header says {cbytes} compressed bytes but only {source.Length} are present");
        }

        if (cbytes < HeaderSize)
        {
            throw new CodecException(ChunkErrorKind.Corrupt, $"blosc: header compressed size {cbytes} is invalid");
        }

        if (nbytes > destination.Length)
        {
            throw new CodecException(ChunkErrorKind.ExceedsExpectedSize, $"blosc: header says {nbytes} decompressed bytes, more than the chunk's {destination.Length}");
        }

        if (nbytes == 0)
        {
            return 0;
        }

        int r = BloscNative.Decompress(source[..cbytes], destination[..nbytes]);
        if (r < 0)
        {
            throw new CodecException(ChunkErrorKind.Corrupt, $"blosc: decompression failed (code {r})");
        }

        return r;
    }

    public byte[] Encode(ReadOnlySpan<byte> source)
    {
        byte[] dst = new byte[source.Length + MaxOverhead];
        int n = BloscNative.Compress(Level, Shuffle, Math.Max(1, TypeSize), source, dst, Compressor, BlockSize);
        if (n <= 0)
        {
            throw new CodecException(ChunkErrorKind.Corrupt, $"blosc: compression failed (code {n}; compressor '{Compressor}' may not be built in)");
        }

        return dst.AsSpan(0, n).ToArray();
    }
}
