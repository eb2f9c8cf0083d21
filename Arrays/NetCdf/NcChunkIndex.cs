namespace Proxima.Arrays.NetCdf;

/// <summary>
/// Where one variable's bytes are in its file, so chunks are read by positional reads (pread, ranged GETs)
/// and decoded on the caller's thread, with no libnetcdf/HDF5 call and no lock. Built once per file
/// (<see cref="Hdf5.Hdf5ChunkIndexer"/>, <see cref="ClassicHeader"/>), saved in the collection metadata cache.
/// Either contiguous (NetCDF-3, HDF5 contiguous: <see cref="Begin"/>, <see cref="RecordStride"/>) or
/// chunked (HDF5: one entry per chunk of the grid <see cref="StoredChunk"/>, C order).
/// </summary>
internal sealed record NcChunkIndex
{
    /// <summary>Size of the file when the index was built; every range was checked to lie inside it.</summary>
    public required long FileSize { get; init; }

    public required int ElementSize { get; init; }

    public required bool BigEndian { get; init; }

    /// <summary>Contiguous: offset of the first element, or -1 when never written (all fill).</summary>
    public long Begin { get; init; }

    /// <summary>Contiguous NetCDF-3 record variable: bytes between records (0 = not a record variable).</summary>
    public long RecordStride { get; init; }

    /// <summary>Chunked: the HDF5 chunk shape (edge chunks are stored at this full size).</summary>
    public long[]? StoredChunk { get; init; }

    /// <summary>Chunked: HDF5 filter ids in pipeline (encode) order: 1 deflate, 2 shuffle, 3 fletcher32.</summary>
    public int[]? Filters { get; init; }

    /// <summary>Chunked: file offset per chunk of the grid, -1 when the chunk was never written (fill).</summary>
    public long[]? Offsets { get; init; }

    public long[]? Sizes { get; init; }

    /// <summary>Chunked: HDF5 filter mask per chunk (bit i set = filter i skipped), null when all zero.</summary>
    public int[]? Masks { get; init; }

    /// <summary>One element of the fill value in native byte order (unwritten chunks), null = zeros.</summary>
    public byte[]? Fill { get; init; }

    public bool IsChunked => StoredChunk is not null;
}
