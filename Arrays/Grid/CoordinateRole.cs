namespace Proxima.Arrays;

/// <summary>What a variable is, judged from name, units, standard_name and axis (CF §4).</summary>
public enum CoordinateRole
{
    /// <summary>Not a recognised coordinate.</summary>
    None,
    Time,
    Latitude,
    Longitude,

    /// <summary>Vertical: pressure level, height, depth, model level.</summary>
    Level,
}

/// <summary>Options for <see cref="GridDataset.OpenAsync"/>.</summary>
public sealed record GridDatasetOptions
{
    /// <summary>Apply _FillValue/missing_value masking and scale_factor/add_offset (xarray's mask_and_scale). Default true.</summary>
    public bool MaskAndScale { get; init; } = true;

    /// <summary>Largest array accepted, in elements; larger shapes are rejected as absurd. Default 2^40.</summary>
    public long MaxElements { get; init; } = 1L << 40;

    /// <summary>Largest decoded chunk accepted, in bytes. Default 1 GiB.</summary>
    public long MaxChunkBytes { get; init; } = 1L << 30;

    /// <summary>Chunks read concurrently by one region read. Default 8.</summary>
    public int MaxConcurrency { get; init; } = 8;

    /// <summary>
    /// Directory for NetCDF collection metadata caches (one JSON file per collection; never inside the data
    /// root). When set, a collection whose files still have the cached sizes and modification times opens
    /// without opening any file, and one that changed is opened file by file and its cache rewritten.
    /// Null (default): no cache.
    /// </summary>
    public string? NetCdfMetadataCacheDirectory { get; init; }

    /// <summary>
    /// Read NetCDF data through each variable's chunk index (positional reads and decoding on the caller's
    /// thread, in parallel, no lock) where the file has one; false reads everything through libnetcdf
    /// (one process-wide lock). Default true.
    /// </summary>
    public bool NetCdfDirectReads { get; init; } = true;

    /// <summary>Shared default options.</summary>
    public static GridDatasetOptions Default { get; } = new();
}
