namespace Proxima.Arrays.Grid;

/// <summary>
/// A format backend for one array: yields whole chunks as native-endian, C-order bytes of
/// <see cref="StoredType"/> (after all codecs, byte swapping and transposition).
/// </summary>
internal abstract class ChunkSource
{
    protected ChunkSource(long[] shape, int[] chunkShape, DataType storedType, string location)
    {
        Shape = shape;
        ChunkShape = chunkShape;
        StoredType = storedType;
        Location = location;
    }

    public long[] Shape { get; }

    public int[] ChunkShape { get; }

    public DataType StoredType { get; }

    /// <summary>Store and array path, for messages.</summary>
    public string Location { get; }

    /// <summary>Format-level fill value (Zarr fill_value), or null when none.</summary>
    public double? FillValue { get; init; }

    /// <summary>
    /// True when the format-level fill value also masks data as <c>_FillValue</c> (xarray does this for
    /// Zarr v2; for Zarr v3 only the <c>_FillValue</c> attribute masks).
    /// </summary>
    public bool FillValueIsMask { get; init; } = true;

    /// <summary>
    /// Decodes one chunk into <paramref name="destination"/> (exactly chunk elements × item size bytes).
    /// Returns false when the chunk does not exist (the caller fills it with the fill value).
    /// </summary>
    public abstract ValueTask<bool> ReadChunkAsync(long[] chunkIndex, Memory<byte> destination, CancellationToken cancellationToken);

    /// <summary>
    /// Decodes at least the listed elements (ascending offsets in the chunk, C order) into
    /// <paramref name="destination"/> (the whole chunk's bytes); other bytes are unspecified. Formats that can read
    /// less than the chunk (uncompressed byte ranges, blosc blocks) override this; the default reads the chunk.
    /// </summary>
    /// <returns>Bytes read from storage (the decoded chunk size when the format cannot tell), or -1 when the chunk is absent.</returns>
    public virtual async ValueTask<long> ReadChunkElementsAsync(long[] chunkIndex, ReadOnlyMemory<int> elements, Memory<byte> destination, CancellationToken cancellationToken) =>
        await ReadChunkAsync(chunkIndex, destination, cancellationToken).ConfigureAwait(false) ? destination.Length : -1;

    /// <summary>
    /// Decodes the listed elements (ascending offsets in the chunk, C order) packed into <paramref name="destination"/>
    /// (<c>elements.Length</c> items: element i of the list at item i), so a few elements of a chunk need no
    /// chunk-sized buffer where the format can (Blosc-lz4 Zarr v2 overrides this). The default reads them with
    /// <see cref="ReadChunkElementsAsync"/> into a pooled chunk and copies them out.
    /// </summary>
    /// <returns>Bytes read from storage, or -1 when the chunk is absent (nothing written).</returns>
    public virtual async ValueTask<long> ReadChunkElementsPackedAsync(long[] chunkIndex, ReadOnlyMemory<int> elements, Memory<byte> destination, CancellationToken cancellationToken)
    {
        int size = StoredType.Size();
        int chunkBytes = (int)Math.Min(int.MaxValue, NdIndex.Product(ChunkShape) * size);
        byte[] chunk = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(1, chunkBytes));
        try
        {
            long read = await ReadChunkElementsAsync(chunkIndex, elements, chunk.AsMemory(0, chunkBytes), cancellationToken).ConfigureAwait(false);
            if (read >= 0)
            {
                CopyElements(chunk.AsSpan(0, chunkBytes), elements.Span, size, destination.Span);
            }

            return read;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    /// <summary>Copies the listed items of <paramref name="size"/> bytes of <paramref name="chunk"/> one after another into <paramref name="destination"/>.</summary>
    protected static void CopyElements(ReadOnlySpan<byte> chunk, ReadOnlySpan<int> elements, int size, Span<byte> destination)
    {
        for (int i = 0; i < elements.Length; i++)
        {
            chunk.Slice(elements[i] * size, size).CopyTo(destination.Slice(i * size, size));
        }
    }

    /// <summary>
    /// Decodes one chunk straight into a region's output: each of <paramref name="runs"/> (ascending in the chunk) lands
    /// at its place in <paramref name="destination"/> (the whole output's bytes, stored type, C order), without a
    /// temporary chunk; every written piece goes through <paramref name="finish"/>. Formats that can (Blosc Zarr v2)
    /// override this; the default declines.
    /// </summary>
    /// <returns>1 when written, 0 when the chunk is absent (nothing written), -1 when the format declines (the caller
    /// reads the chunk whole and copies).</returns>
    public virtual ValueTask<int> ReadChunkRunsAsync(long[] chunkIndex, ChunkRun[] runs, Memory<byte> destination, RunFinisher? finish, CancellationToken cancellationToken) =>
        ValueTask.FromResult(-1);

    /// <summary>
    /// Opens one chunk for decoding in element ranges (<see cref="ChunkByteRanges"/>), or null when the format cannot
    /// (only single-codec Blosc Zarr v2 chunks in C order and native byte order can) or the chunk is absent.
    /// </summary>
    public virtual ValueTask<ChunkByteRanges?> OpenChunkRangesAsync(long[] chunkIndex, CancellationToken cancellationToken) =>
        ValueTask.FromResult<ChunkByteRanges?>(null);
}

/// <summary>One chunk's encoded bytes, decodable a byte range at a time (ranges on block boundaries decode each block once).</summary>
internal abstract class ChunkByteRanges : IDisposable
{
    /// <summary>Bytes of one independently compressed block.</summary>
    public abstract int BlockBytes { get; }

    /// <summary>Decodes bytes [<paramref name="start"/>, + destination.Length) of the chunk (whole items) into <paramref name="destination"/>.</summary>
    public abstract void Read(int start, Span<byte> destination);

    public abstract void Dispose();
}
