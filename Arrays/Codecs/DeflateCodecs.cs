using System.IO.Compression;

namespace Proxima.Arrays.Codecs;

/// <summary>zlib (RFC 1950) or gzip (RFC 1952) through System.IO.Compression, bounded by the destination.</summary>
internal sealed class DeflateFamilyCodec : IBytesCodec
{
    private readonly bool _gzip;

    public DeflateFamilyCodec(bool gzip, int level = 1)
    {
        _gzip = gzip;
        Level = level;
    }

    public string Name => _gzip ? "gzip" : "zlib";

    public int Level { get; }

    public int EncodedLength(int decodedLength) => -1;

    public unsafe int Decode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        fixed (byte* p = source)
        {
            using var input = new UnmanagedMemoryStream(p, source.Length);
            using Stream z = _gzip ? new GZipStream(input, CompressionMode.Decompress) : new ZLibStream(input, CompressionMode.Decompress);
            int total = 0;
            try
            {
                while (total < destination.Length)
                {
                    int n = z.Read(destination[total..]);
                    if (n == 0)
                    {
                        break;
                    }

                    total += n;
                }

                if (total == destination.Length)
                {
                    // Anything more is a bomb: probe with one byte, never allocate for it.
                    Span<byte> probe = stackalloc byte[1];
                    if (z.Read(probe) != 0)
                    {
                        throw new CodecException(ChunkErrorKind.ExceedsExpectedSize, $"{Name}: stream decompresses past the chunk's {destination.Length} bytes");
                    }
                }
            }
            catch (InvalidDataException e)
            {
                throw new CodecException(ChunkErrorKind.Corrupt, $"{Name}: {e.Message}", e);
            }

            return total;
        }
    }

    public byte[] Encode(ReadOnlySpan<byte> source)
    {
        using var output = new MemoryStream();
        CompressionLevel level = Level <= 0 ? CompressionLevel.NoCompression : Level <= 3 ? CompressionLevel.Fastest : Level >= 9 ? CompressionLevel.SmallestSize : CompressionLevel.Optimal;
        using (Stream z = _gzip ? new GZipStream(output, level, leaveOpen: true) : new ZLibStream(output, level, leaveOpen: true))
        {
            z.Write(source);
        }

        return output.ToArray();
    }
}
