using Proxima.Arrays.Storage;
using Proxima.Arrays.Tests.Infrastructure;
using Xunit;

namespace Proxima.Arrays.Tests;

public sealed class HostileStores : IDisposable
{
    private readonly TempDir _dir = new();

    public HostileStores()
    {
        Python.Run("make_hostile.py", _dir.Path);
    }

    public string Root => _dir.Path;

    public void Dispose() => _dir.Dispose();
}

/// <summary>Hostile input gives a typed error naming the store and key, never a crash or a big allocation.</summary>
public sealed class HostileInputTests : IClassFixture<HostileStores>
{
    private readonly HostileStores _stores;

    public HostileInputTests(HostileStores stores)
    {
        _stores = stores;
    }

    [Theory]
    [InlineData("blosc")]
    [InlineData("zlib")]
    [InlineData("gzip")]
    [InlineData("zstd")]
    [InlineData("lz4")]
    public async Task Decompression_bomb_is_a_typed_error_without_a_large_allocation(string codec)
    {
        GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(_stores.Root), $"bomb_{codec}.zarr");
        long before = GC.GetTotalAllocatedBytes(precise: true);
        ChunkDecodeException e = await Assert.ThrowsAsync<ChunkDecodeException>(async () => await ds.Variables[0].ReadAllAsync<float>(CancellationToken.None));
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal(ChunkErrorKind.ExceedsExpectedSize, e.Kind);
        Assert.Contains($"bomb_{codec}.zarr/0", e.Message, StringComparison.Ordinal);
        // The bomb expands to 64 MiB; the bound keeps the whole process far below that.
        Assert.True(allocated < 32 * 1024 * 1024, $"allocated {allocated} bytes decoding a 256 KiB chunk");
    }

    [Theory]
    [InlineData("blosc")]
    [InlineData("zlib")]
    [InlineData("gzip")]
    [InlineData("zstd")]
    [InlineData("lz4")]
    public async Task Truncated_chunk_is_a_typed_error_naming_the_key(string codec)
    {
        GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(_stores.Root), $"truncated_{codec}.zarr");
        ChunkDecodeException e = await Assert.ThrowsAsync<ChunkDecodeException>(async () => await ds.Variables[0].ReadAllAsync<float>(CancellationToken.None));
        Assert.Contains($"truncated_{codec}.zarr/0", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Blosc-lz4 chunks our block decoder reads: a lying stream or block table is an error, never an overrun.</summary>
    [Theory]
    [InlineData("blosc_overlong_stream", ChunkErrorKind.Corrupt, "decode past")]
    [InlineData("blosc_bad_block_start", ChunkErrorKind.Corrupt, "outside")]
    [InlineData("blosc_stream_past_end", ChunkErrorKind.Truncated, "compressed bytes")]
    public async Task Lying_blosc_block_data_is_a_typed_error_naming_the_key(string store, ChunkErrorKind kind, string fragment)
    {
        GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(_stores.Root), store + ".zarr");
        ChunkDecodeException e = await Assert.ThrowsAsync<ChunkDecodeException>(async () => await ds.Variables[0].ReadAllAsync<float>(CancellationToken.None));
        Assert.Equal(kind, e.Kind);
        Assert.Contains($"{store}.zarr/0", e.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);

        // The element path (a point series) decodes the same blocks.
        var dst = new float[ds.Variables[0].ChunkElementCount];
        e = await Assert.ThrowsAsync<ChunkDecodeException>(async () => await ds.Variables[0].ReadChunkElementsAsync<float>(new long[] { 0 }, new[] { 1, 4000 }, dst, CancellationToken.None));
        Assert.Equal(kind, e.Kind);

        // So does the piece path (a chunk decoded a range of whole blocks at a time straight into the caller's buffer).
        using ChunkRanges<float>? ranges = await ds.Variables[0].OpenChunkRangesAsync<float>(new long[] { 0 }, CancellationToken.None);
        Assert.NotNull(ranges);
        e = Assert.Throws<ChunkDecodeException>(() => ranges.Read(0, dst));
        Assert.Equal(kind, e.Kind);
        Assert.Contains($"{store}.zarr/0", e.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    /// <summary>A chunk cut short is refused when opened for range reads, before any range is decoded.</summary>
    [Fact]
    public async Task Truncated_blosc_chunk_opened_for_range_reads_is_a_typed_error_naming_the_key()
    {
        GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(_stores.Root), "truncated_blosc.zarr");
        ChunkDecodeException e = await Assert.ThrowsAsync<ChunkDecodeException>(async () => await ds.Variables[0].OpenChunkRangesAsync<float>(new long[] { 0 }, CancellationToken.None));
        Assert.Equal(ChunkErrorKind.Truncated, e.Kind);
        Assert.Contains("truncated_blosc.zarr/0", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("absurd_shape.zarr", "exceeds the limit")]
    [InlineData("absurd_chunk.zarr", "chunks")]
    [InlineData("negative_shape.zarr", "non-negative")]
    [InlineData("bad_json.zarr", "invalid JSON")]
    [InlineData("unknown_codec.zarr", "no-such-codec")]
    [InlineData("rank_mismatch.zarr", "dimensions")]
    public async Task Bad_metadata_is_an_ArrayFormatException_naming_the_key(string store, string fragment)
    {
        ArrayFormatException e = await Assert.ThrowsAnyAsync<ArrayFormatException>(() => GridDataset.OpenAsync(new PosixStorage(_stores.Root), store));
        Assert.Contains(store + "/.zarray", e.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chunk_file_far_larger_than_its_decoded_size_is_refused_by_storage()
    {
        // 10 float32 = 40 bytes decoded; the file holds 1 MiB.
        GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(_stores.Root), "oversized_chunk_file.zarr");
        StorageException e = await Assert.ThrowsAsync<StorageException>(async () => await ds.Variables[0].ReadAllAsync<float>(CancellationToken.None));
        Assert.Contains("oversized_chunk_file.zarr/0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_store_is_an_ArrayFormatException()
    {
        ArrayFormatException e = await Assert.ThrowsAsync<ArrayFormatException>(() => GridDataset.OpenAsync(new PosixStorage(_stores.Root), "nothing-here.zarr"));
        Assert.Contains("nothing-here.zarr", e.Message, StringComparison.Ordinal);
    }
}
