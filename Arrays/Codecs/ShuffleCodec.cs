namespace Proxima.Arrays.Codecs;

/// <summary>numcodecs Shuffle: byte j of every element stored together; trailing partial element copied as-is.</summary>
internal sealed class ShuffleCodec : IBytesCodec
{
    public ShuffleCodec(int elementSize)
    {
        ElementSize = Math.Max(1, elementSize);
    }

    public string Name => "shuffle";

    public int ElementSize { get; }

    public int EncodedLength(int decodedLength) => decodedLength;

    public int Decode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (source.Length != destination.Length)
        {
            throw new CodecException(source.Length > destination.Length ? ChunkErrorKind.ExceedsExpectedSize : ChunkErrorKind.Truncated, $"shuffle: {source.Length} bytes, expected {destination.Length}");
        }

        int size = ElementSize;
        int count = source.Length / size;
        for (int j = 0; j < size; j++)
        {
            ReadOnlySpan<byte> plane = source.Slice(j * count, count);
            for (int i = 0; i < count; i++)
            {
                destination[(i * size) + j] = plane[i];
            }
        }

        int tail = count * size;
        source[tail..].CopyTo(destination[tail..]);
        return source.Length;
    }

    public byte[] Encode(ReadOnlySpan<byte> source)
    {
        byte[] dst = new byte[source.Length];
        int size = ElementSize;
        int count = source.Length / size;
        for (int j = 0; j < size; j++)
        {
            for (int i = 0; i < count; i++)
            {
                dst[(j * count) + i] = source[(i * size) + j];
            }
        }

        int tail = count * size;
        source[tail..].CopyTo(dst.AsSpan(tail));
        return dst;
    }
}
