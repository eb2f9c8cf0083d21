namespace Proxima.Compute.Execution;

/// <summary>
/// What the executor needs from one variable of a gridded dataset. The Arrays adapter implements it over
/// <c>GridVariable</c>; tests implement it in memory. Chunk buffers are always full chunk shape in C order
/// (edge chunks padded), decoded (CF mask/scale applied, fill = NaN).
/// </summary>
internal interface IGridSource
{
    string Variable { get; }

    IReadOnlyList<string> Dims { get; }

    IReadOnlyList<int> Shape { get; }

    IReadOnlyList<int> ChunkShape { get; }

    /// <summary>True when decoded values are float64 (chunk reads fill a double buffer), else float32.</summary>
    bool IsDouble { get; }

    /// <summary>Variable attributes worth carrying to the output (units, long_name, standard_name).</summary>
    IReadOnlyDictionary<string, string> Attributes { get; }

    /// <summary>Numeric coordinate values of a dimension, or null when it has none (index is used).</summary>
    double[]? GetCoordinate(int dim);

    /// <summary>Decoded times of a dimension when it is a CF time coordinate, else null.</summary>
    CalendarDate[]? GetTimes(int dim, out CalendarKind calendar);

    /// <summary>Attributes of a dimension's coordinate variable (units, standard_name, axis), empty if none.</summary>
    IReadOnlyDictionary<string, string> GetCoordinateAttributes(int dim);

    /// <summary>Reads one decoded chunk into <paramref name="destination"/> (full chunk length); returns bytes read from storage.</summary>
    ValueTask<long> ReadChunkAsync(int[] chunkIndex, Memory<float> destination, CancellationToken cancellationToken);

    /// <inheritdoc cref="ReadChunkAsync(int[], Memory{float}, CancellationToken)"/>
    ValueTask<long> ReadChunkAsync(int[] chunkIndex, Memory<double> destination, CancellationToken cancellationToken);

    /// <summary>
    /// Reads at least the listed elements (ascending offsets in the chunk buffer) into their places in
    /// <paramref name="destination"/> (full chunk length); other elements are unspecified. Returns bytes read from storage.
    /// </summary>
    ValueTask<long> ReadChunkElementsAsync(int[] chunkIndex, int[] elements, Memory<float> destination, CancellationToken cancellationToken) =>
        ReadChunkAsync(chunkIndex, destination, cancellationToken);

    /// <inheritdoc cref="ReadChunkElementsAsync(int[], int[], Memory{float}, CancellationToken)"/>
    ValueTask<long> ReadChunkElementsAsync(int[] chunkIndex, int[] elements, Memory<double> destination, CancellationToken cancellationToken) =>
        ReadChunkAsync(chunkIndex, destination, cancellationToken);

    /// <summary>
    /// Reads the listed elements (ascending offsets in the chunk buffer) packed into <paramref name="destination"/>
    /// (element i of the list at destination[i]), without a chunk-sized buffer where the source can. Returns bytes
    /// read from storage. The default reads them with <c>ReadChunkElementsAsync</c> into a pooled chunk and copies them out.
    /// </summary>
    async ValueTask<long> ReadChunkElementsPackedAsync(int[] chunkIndex, int[] elements, Memory<float> destination, CancellationToken cancellationToken)
    {
        var length = 1;
        foreach (var n in ChunkShape)
        {
            length *= n;
        }

        var chunk = System.Buffers.ArrayPool<float>.Shared.Rent(length);
        try
        {
            var read = await ReadChunkElementsAsync(chunkIndex, elements, chunk.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            var dst = destination.Span;
            for (var i = 0; i < elements.Length; i++)
            {
                dst[i] = chunk[elements[i]];
            }

            return read;
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(chunk);
        }
    }

    /// <inheritdoc cref="ReadChunkElementsPackedAsync(int[], int[], Memory{float}, CancellationToken)"/>
    async ValueTask<long> ReadChunkElementsPackedAsync(int[] chunkIndex, int[] elements, Memory<double> destination, CancellationToken cancellationToken)
    {
        var length = 1;
        foreach (var n in ChunkShape)
        {
            length *= n;
        }

        var chunk = System.Buffers.ArrayPool<double>.Shared.Rent(length);
        try
        {
            var read = await ReadChunkElementsAsync(chunkIndex, elements, chunk.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
            var dst = destination.Span;
            for (var i = 0; i < elements.Length; i++)
            {
                dst[i] = chunk[elements[i]];
            }

            return read;
        }
        finally
        {
            System.Buffers.ArrayPool<double>.Shared.Return(chunk);
        }
    }

    /// <summary>
    /// Opens one float32 chunk for decoding a range of elements at a time (decoded as <see cref="ReadChunkAsync(int[], Memory{float}, CancellationToken)"/>
    /// decodes), or null when the source cannot (the executor then reads the chunk whole).
    /// </summary>
    ValueTask<IChunkRanges?> OpenChunkRangesAsync(int[] chunkIndex, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IChunkRanges?>(null);
}

/// <summary>A chunk opened by <see cref="IGridSource.OpenChunkRangesAsync"/>; not thread-safe.</summary>
internal interface IChunkRanges : IDisposable
{
    /// <summary>Elements of one compressed block: ranges on multiples of it decode every block once.</summary>
    int BlockElements { get; }

    /// <summary>Bytes read from storage for the chunk.</summary>
    long BytesRead { get; }

    /// <summary>Decodes chunk elements [<paramref name="start"/>, + destination.Length) into <paramref name="destination"/>.</summary>
    void Read(int start, Span<float> destination);
}
