namespace Proxima.Arrays.Grid;

/// <summary>
/// Called by a decoder on each piece of a region's output it has just written (stored bytes), so CF decoding (mask,
/// scale) runs in place while the piece is still in cache; null when there is nothing to decode.
/// </summary>
internal delegate void RunFinisher(Span<byte> written);

/// <summary>
/// A run of <see cref="Length"/> consecutive elements of a chunk (C order, from <see cref="ChunkElement"/>) that lands
/// consecutively in a region's output at <see cref="DestinationElement"/>: a chunk not contiguous in the output is a list
/// of these (one per row of its intersection, merged where rows continue), so a decoder can write each decoded block
/// straight to where its rows go instead of through a temporary chunk.
/// </summary>
internal readonly record struct ChunkRun(int ChunkElement, int DestinationElement, int Length)
{
    /// <summary>
    /// The runs of the box <paramref name="srcStart"/> + <paramref name="count"/> of a chunk of <paramref name="chunkShape"/>
    /// placed at <paramref name="dstStart"/> of an output of <paramref name="dstShape"/>, ascending in the chunk.
    /// </summary>
    public static ChunkRun[] Build(ReadOnlySpan<int> chunkShape, ReadOnlySpan<long> srcStart, ReadOnlySpan<long> dstShape, ReadOnlySpan<long> dstStart, ReadOnlySpan<long> count)
    {
        int rank = count.Length;
        Span<long> srcStride = stackalloc long[rank];
        Span<long> dstStride = stackalloc long[rank];
        srcStride[rank - 1] = 1;
        dstStride[rank - 1] = 1;
        long rows = 1;
        for (int d = rank - 2; d >= 0; d--)
        {
            srcStride[d] = srcStride[d + 1] * chunkShape[d + 1];
            dstStride[d] = dstStride[d + 1] * dstShape[d + 1];
            rows *= count[d];
        }

        var runs = new List<ChunkRun>((int)Math.Min(rows, 1 << 20));
        int row = (int)count[rank - 1];
        Span<long> idx = stackalloc long[rank];
        idx.Clear();
        while (true)
        {
            long so = 0;
            long dof = 0;
            for (int d = 0; d < rank; d++)
            {
                so += (srcStart[d] + (d < rank - 1 ? idx[d] : 0)) * srcStride[d];
                dof += (dstStart[d] + (d < rank - 1 ? idx[d] : 0)) * dstStride[d];
            }

            if (runs.Count > 0 && runs[^1] is var last && last.ChunkElement + last.Length == so && last.DestinationElement + last.Length == dof)
            {
                runs[^1] = last with { Length = last.Length + row };
            }
            else
            {
                runs.Add(new ChunkRun((int)so, (int)dof, row));
            }

            if (!NdIndex.AdvanceRow(idx, count))
            {
                return [.. runs];
            }
        }
    }
}
