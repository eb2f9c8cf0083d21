using System.Runtime.InteropServices;
using Proxima.Arrays.Codecs;
using Proxima.Arrays.Zarr;
using Xunit;

namespace Proxima.Arrays.Tests;

/// <summary>Reads of a few elements of a chunk decode only what holds them (blosc blocks, byte ranges).</summary>
public sealed class ChunkElementReadTests
{
    private static (byte[] Encoded, float[] Values) Encoded(int n, int blockSize)
    {
        var values = new float[n];
        for (var i = 0; i < n; i++)
        {
            values[i] = (float)Math.Sin(i * 0.01) + (i % 7);
        }

        // zstd: c-blosc 1.x keeps a forced block size for it (lz4 and blosclz blocks are enlarged to >= 64 KiB).
        var codec = new BloscCodec("zstd", 3, 1, 4, blockSize);
        return (codec.Encode(MemoryMarshal.AsBytes(values.AsSpan())), values);
    }

    [Fact]
    public void Blosc_decodes_only_the_blocks_holding_the_elements()
    {
        var (encoded, values) = Encoded(64 * 1024, 4096);
        int[] elements = [5, 6, 1030, 40_000, 65_535];
        var dst = new float[values.Length];
        var done = new BloscCodec().DecodeElements(encoded, elements, 4, MemoryMarshal.AsBytes(dst.AsSpan()));

        // 4 blocks of 4 KiB (elements 5 and 6 share one) out of 64.
        Assert.Equal(4 * 4096, done);
        foreach (var e in elements)
        {
            Assert.Equal(values[e], dst[e]);
        }
    }

    [Fact]
    public void Blosc_decodes_the_whole_chunk_when_most_blocks_are_needed()
    {
        var (encoded, values) = Encoded(16 * 1024, 4096);
        var elements = new int[16];
        for (var i = 0; i < elements.Length; i++)
        {
            elements[i] = i * 1024;
        }

        var dst = new float[values.Length];
        Assert.Equal(values.Length * 4, new BloscCodec().DecodeElements(encoded, elements, 4, MemoryMarshal.AsBytes(dst.AsSpan())));
        Assert.Equal(values, dst);
    }

    [Theory]
    [InlineData("zstd", (64 * 1024) + 333, 4096, 2)]
    [InlineData("zstd", (64 * 1024) + 333, 4096, 3)]
    [InlineData("zstd", 5000, 4096, 2)]
    [InlineData("lz4", 300_001, 0, 2)]
    [InlineData("lz4", 300_001, 0, 7)]
    public void Whole_chunk_decode_split_over_own_threads_equals_the_values(string compressor, int n, int blockSize, int threads)
    {
        var values = new float[n];
        for (var i = 0; i < n; i++)
        {
            values[i] = (float)Math.Sin(i * 0.01) + (i % 7);
        }

        var encoded = new BloscCodec(compressor, 5, 1, 4, blockSize).Encode(MemoryMarshal.AsBytes(values.AsSpan()));
        var dst = new float[n];
        using (DecodeThreads.Use(threads))
        {
            Assert.Equal(n * 4, new BloscCodec().Decode(encoded, MemoryMarshal.AsBytes(dst.AsSpan())));
        }

        Assert.Equal(values, dst);

        // A corrupted block is a typed error on the split path too, not garbage.
        var bad = (byte[])encoded.Clone();
        bad.AsSpan(bad.Length / 2, 64).Fill(0xA5);
        using (DecodeThreads.Use(threads))
        {
            var e = Record.Exception(() => new BloscCodec().Decode(bad, MemoryMarshal.AsBytes(dst.AsSpan())));
            Assert.True(e is null || e is CodecException, e?.ToString());
        }
    }

    [Fact]
    public void Packed_elements_equal_the_values()
    {
        const int shuffle = 1;
        const int n = 300_001;
        var values = new float[n];
        for (var i = 0; i < n; i++)
        {
            values[i] = (float)Math.Sin(i * 0.01) + (i % 7);
        }

        byte[] encoded = new BloscCodec("lz4", 5, shuffle, 4, 0).Encode(MemoryMarshal.AsBytes(values.AsSpan()));
        Assert.True(BloscFrame.TryParse(encoded, out BloscFrame frame));
        Assert.True(frame.Blocks > 2, $"{frame.Blocks} blocks");

        // Every 64th element (a point series), a run of 100 (the vector unshuffle), and the last element.
        int[] elements = [.. Enumerable.Range(0, n / 64).Select(i => i * 64).Concat(Enumerable.Range((n / 2) + 1, 100)).Append(n - 1).Distinct().Order()];
        var packed = new float[elements.Length];
        Assert.True(BloscCodec.TryDecodeElementsPacked(encoded, elements, 4, n * 4, MemoryMarshal.AsBytes(packed.AsSpan())));
        for (var i = 0; i < elements.Length; i++)
        {
            Assert.Equal(values[elements[i]], packed[i]);
        }

        Assert.Throws<ArgumentException>(() => frame.DecodeElementsPacked(encoded, [64, 3], MemoryMarshal.AsBytes(packed.AsSpan())));
    }

    [Fact]
    public void Byte_ranges_merge_elements_closer_than_the_gap()
    {
        var ranges = ZarrV2Array.ByteRanges([0, 1, 2, 100, 5000, 5001], 4, 64);
        Assert.Equal([(0, 12), (400, 404), (20000, 20008)], ranges);
    }
}
