namespace Proxima.Arrays.Grid;

/// <summary>N-dimensional index arithmetic and block copies (C order), allocation-free.</summary>
internal static class NdIndex
{
    public static long Product(ReadOnlySpan<long> shape)
    {
        long p = 1;
        foreach (long s in shape)
        {
            p = checked(p * s);
        }

        return p;
    }

    public static long Product(ReadOnlySpan<int> shape)
    {
        long p = 1;
        foreach (int s in shape)
        {
            p = checked(p * s);
        }

        return p;
    }

    /// <summary>
    /// Copies the box <paramref name="count"/> from <paramref name="src"/> (C-order array of
    /// <paramref name="srcShape"/>, box starts at <paramref name="srcStart"/>) into <paramref name="dst"/>
    /// (C-order array of <paramref name="dstShape"/>, box starts at <paramref name="dstStart"/>).
    /// </summary>
    public static void CopyBox<T>(ReadOnlySpan<T> src, ReadOnlySpan<long> srcShape, ReadOnlySpan<long> srcStart,
        Span<T> dst, ReadOnlySpan<long> dstShape, ReadOnlySpan<long> dstStart, ReadOnlySpan<long> count)
    {
        int rank = count.Length;
        if (rank == 0)
        {
            dst[0] = src[0];
            return;
        }

        for (int d = 0; d < rank; d++)
        {
            if (count[d] == 0)
            {
                return;
            }
        }

        Span<long> srcStride = stackalloc long[rank];
        Span<long> dstStride = stackalloc long[rank];
        srcStride[rank - 1] = 1;
        dstStride[rank - 1] = 1;
        for (int d = rank - 2; d >= 0; d--)
        {
            srcStride[d] = srcStride[d + 1] * srcShape[d + 1];
            dstStride[d] = dstStride[d + 1] * dstShape[d + 1];
        }

        long srcBase = 0, dstBase = 0;
        for (int d = 0; d < rank; d++)
        {
            srcBase += srcStart[d] * srcStride[d];
            dstBase += dstStart[d] * dstStride[d];
        }

        int row = (int)count[rank - 1];
        Span<long> idx = stackalloc long[rank];
        idx.Clear();
        while (true)
        {
            long so = srcBase, dof = dstBase;
            for (int d = 0; d < rank - 1; d++)
            {
                so += idx[d] * srcStride[d];
                dof += idx[d] * dstStride[d];
            }

            src.Slice((int)so, row).CopyTo(dst.Slice((int)dof, row));

            if (!AdvanceRow(idx, count))
            {
                return;
            }
        }
    }

    /// <summary>
    /// Steps <paramref name="idx"/> to the next row of a box of <paramref name="count"/> (C order over every dimension but
    /// the last); false after the last row.
    /// </summary>
    internal static bool AdvanceRow(Span<long> idx, ReadOnlySpan<long> count)
    {
        for (int k = count.Length - 2; k >= 0; k--)
        {
            if (++idx[k] < count[k])
            {
                return true;
            }

            idx[k] = 0;
        }

        return false;
    }

    /// <summary>Sets every element of a C-order chunk outside the valid box [0, valid) to <paramref name="value"/>.</summary>
    public static void FillOutside<T>(Span<T> chunk, ReadOnlySpan<int> chunkShape, ReadOnlySpan<long> valid, T value)
    {
        int rank = chunkShape.Length;
        bool full = true;
        for (int d = 0; d < rank; d++)
        {
            full &= valid[d] >= chunkShape[d];
        }

        if (full)
        {
            return;
        }

        Span<long> idx = stackalloc long[rank];
        idx.Clear();
        int row = chunkShape[rank - 1];
        int validRow = (int)Math.Min(valid[rank - 1], row);
        long offset = 0;
        while (true)
        {
            bool rowValid = true;
            for (int d = 0; d < rank - 1; d++)
            {
                rowValid &= idx[d] < valid[d];
            }

            Span<T> r = chunk.Slice((int)offset, row);
            if (rowValid)
            {
                r[validRow..].Fill(value);
            }
            else
            {
                r.Fill(value);
            }

            offset += row;
            int k = rank - 2;
            while (k >= 0)
            {
                if (++idx[k] < chunkShape[k])
                {
                    break;
                }

                idx[k] = 0;
                k--;
            }

            if (k < 0)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Reorders a C-order array of <paramref name="srcShape"/> so that output axis i is input axis
    /// <paramref name="order"/>[i] (NumPy <c>transpose(order)</c>), element size 1/2/4/8.
    /// </summary>
    public static void Transpose(ReadOnlySpan<byte> src, Span<byte> dst, ReadOnlySpan<int> srcShape, ReadOnlySpan<int> order, int itemSize)
    {
        switch (itemSize)
        {
            case 1:
                Transpose<byte>(src, dst, srcShape, order);
                break;
            case 2:
                Transpose(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(src), System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(dst), srcShape, order);
                break;
            case 4:
                Transpose(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(src), System.Runtime.InteropServices.MemoryMarshal.Cast<byte, uint>(dst), srcShape, order);
                break;
            case 8:
                Transpose(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(src), System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ulong>(dst), srcShape, order);
                break;
            default:
                throw new NotSupportedException($"item size {itemSize}");
        }
    }

    private static void Transpose<T>(ReadOnlySpan<T> src, Span<T> dst, ReadOnlySpan<int> srcShape, ReadOnlySpan<int> order)
    {
        int rank = srcShape.Length;
        if (rank == 0)
        {
            src.CopyTo(dst);
            return;
        }

        Span<long> srcStride = stackalloc long[rank];
        srcStride[rank - 1] = 1;
        for (int d = rank - 2; d >= 0; d--)
        {
            srcStride[d] = srcStride[d + 1] * srcShape[d + 1];
        }

        // Destination axis i walks source axis order[i].
        Span<long> stride = stackalloc long[rank];
        Span<int> extent = stackalloc int[rank];
        for (int i = 0; i < rank; i++)
        {
            stride[i] = srcStride[order[i]];
            extent[i] = srcShape[order[i]];
        }

        long total = Product(srcShape);
        if (total == 0)
        {
            return;
        }

        Span<int> idx = stackalloc int[rank];
        idx.Clear();
        long so = 0;
        int last = rank - 1;
        long lastStride = stride[last];
        int lastExtent = extent[last];
        long o = 0;
        while (o < total)
        {
            long s = so;
            for (int j = 0; j < lastExtent; j++)
            {
                dst[(int)(o + j)] = src[(int)s];
                s += lastStride;
            }

            o += lastExtent;
            int k = last - 1;
            while (k >= 0)
            {
                idx[k]++;
                so += stride[k];
                if (idx[k] < extent[k])
                {
                    break;
                }

                so -= stride[k] * extent[k];
                idx[k] = 0;
                k--;
            }

            if (k < 0)
            {
                break;
            }
        }
    }
}
