namespace Proxima.Arrays.Codecs;

/// <summary>
/// One stage of a chunk's codec pipeline (a compressor or a filter). Decoding writes into a destination
/// whose length is the exact decoded size; a codec that would write more throws
/// <see cref="CodecException"/> with <see cref="ChunkErrorKind.ExceedsExpectedSize"/>, so no input can
/// make a decoder allocate or write beyond the chunk's expected size.
/// </summary>
internal interface IBytesCodec
{
    /// <summary>Codec id as the metadata names it (blosc, zlib, shuffle...).</summary>
    string Name { get; }

    /// <summary>Length of the encoded form of <paramref name="decodedLength"/> bytes, or -1 when it depends on the data (compressors).</summary>
    int EncodedLength(int decodedLength);

    /// <summary>Decoded length for an encoded length when the codec has a fixed overhead (crc32c), else -1.</summary>
    int DecodedLength(int encodedLength) => -1;

    /// <summary>Decodes <paramref name="source"/> into <paramref name="destination"/>; returns bytes written.</summary>
    int Decode(ReadOnlySpan<byte> source, Span<byte> destination);

    /// <summary>Encodes <paramref name="source"/>.</summary>
    byte[] Encode(ReadOnlySpan<byte> source);
}

/// <summary>Decodes through a chain of codecs using pooled intermediate buffers.</summary>
internal static class CodecPipeline
{
    /// <summary>
    /// Decodes <paramref name="encoded"/> through <paramref name="codecs"/> (listed in encode order, so
    /// decoded in reverse) into <paramref name="destination"/>, whose length is the exact decoded size.
    /// </summary>
    public static void Decode(IReadOnlyList<IBytesCodec> codecs, ReadOnlySpan<byte> encoded, Span<byte> destination)
    {
        int n = codecs.Count;
        if (n == 0)
        {
            if (encoded.Length != destination.Length)
            {
                throw new CodecException(
                    encoded.Length > destination.Length ? ChunkErrorKind.ExceedsExpectedSize : ChunkErrorKind.Truncated,
                    $"uncompressed chunk has {encoded.Length} bytes, expected {destination.Length}");
            }

            encoded.CopyTo(destination);
            return;
        }

        // Decoded length at each stage boundary: lengths[0] is the final output, lengths[i] the input of codec i-1's decode.
        Span<int> lengths = n <= 16 ? stackalloc int[n] : new int[n];
        lengths[0] = destination.Length;
        for (int i = 1; i < n; i++)
        {
            lengths[i] = lengths[i - 1] < 0 ? -1 : codecs[i - 1].EncodedLength(lengths[i - 1]);
        }

        byte[]? current = null;
        int currentLength = 0;
        try
        {
            for (int i = n - 1; i >= 0; i--)
            {
                ReadOnlySpan<byte> input = current is null ? encoded : current.AsSpan(0, currentLength);
                if (i == 0)
                {
                    Check(codecs[0], codecs[0].Decode(input, destination), destination.Length);
                }
                else
                {
                    if (lengths[i] < 0)
                    {
                        // Not known from the chunk size: only fixed-overhead codecs (crc32c) can say, from their input.
                        lengths[i] = codecs[i].DecodedLength(input.Length);
                        if (lengths[i] < 0)
                        {
                            throw new CodecException(ChunkErrorKind.Corrupt, $"codec '{codecs[i - 1].Name}' has a data-dependent size and must be the last stage");
                        }
                    }

                    byte[] next = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(1, lengths[i]));
                    try
                    {
                        Check(codecs[i], codecs[i].Decode(input, next.AsSpan(0, lengths[i])), lengths[i]);
                    }
                    catch
                    {
                        System.Buffers.ArrayPool<byte>.Shared.Return(next);
                        throw;
                    }

                    if (current is not null)
                    {
                        System.Buffers.ArrayPool<byte>.Shared.Return(current);
                    }

                    current = next;
                    currentLength = lengths[i];
                }
            }
        }
        finally
        {
            if (current is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(current);
            }
        }
    }

    /// <summary>Encodes through <paramref name="codecs"/> in order.</summary>
    public static byte[] Encode(IReadOnlyList<IBytesCodec> codecs, ReadOnlySpan<byte> decoded)
    {
        byte[] current = decoded.ToArray();
        for (int i = 0; i < codecs.Count; i++)
        {
            current = codecs[i].Encode(current);
        }

        return current;
    }

    private static void Check(IBytesCodec codec, int written, int expected)
    {
        if (written != expected)
        {
            throw new CodecException(ChunkErrorKind.SizeMismatch, $"{codec.Name} decoded {written} bytes, expected {expected}");
        }
    }
}
