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

    [Fact]
    public void Byte_ranges_merge_elements_closer_than_the_gap()
    {
        var ranges = ZarrV2Array.ByteRanges([0, 1, 2, 100, 5000, 5001], 4, 64);
        Assert.Equal([(0, 12), (400, 404), (20000, 20008)], ranges);
    }
}
