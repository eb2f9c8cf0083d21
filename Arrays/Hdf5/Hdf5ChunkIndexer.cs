using System.Buffers.Binary;
using Proxima.Arrays.NetCdf;

namespace Proxima.Arrays.Hdf5;

/// <summary>
/// Builds <see cref="NcChunkIndex"/> for the variables of a NetCDF-4 file through libhdf5: layout, filter
/// pipeline, chunk addresses and sizes, fill value. Anything it does not fully understand (compact layout,
/// filters other than deflate/shuffle/fletcher32, non-numeric types, a dataset whose extent differs from
/// the variable's shape) gets no index, and the variable is read through libnetcdf as before.
/// </summary>
internal static unsafe class Hdf5ChunkIndexer
{
    /// <summary>Chunk grids larger than this are read through libnetcdf (the index would be too large to cache).</summary>
    public const long MaxChunks = 1L << 20;


    /// <summary>One index (or null) per variable. The caller holds <see cref="NetCdfNative.Gate"/>.</summary>
    public static NcChunkIndex?[] Build(string path, string location, IReadOnlyList<NcVariableInfo> variables, long fileSize)
    {
        var result = new NcChunkIndex?[variables.Count];
        long file;
        try
        {
            Hdf5Native.QuietOnThisThread();
            file = Hdf5Native.FileOpen(path, Hdf5Native.ReadOnly, Hdf5Native.Default);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return result;
        }

        if (file < 0)
        {
            return result;
        }

        try
        {
            for (int i = 0; i < variables.Count; i++)
            {
                result[i] = TryIndex(file, location + ":" + variables[i].Name, variables[i], fileSize);
            }
        }
        finally
        {
            Hdf5Native.FileClose(file);
        }

        return result;
    }

    private static NcChunkIndex? TryIndex(long file, string where, NcVariableInfo v, long fileSize)
    {
        if (v.Type == DataType.Unsupported)
        {
            return null;
        }

        string group = v.GroupPath == "/" ? "/" : v.GroupPath + "/";
        string local = v.Name[(v.Name.LastIndexOf('/') + 1)..];
        long dataset = Hdf5Native.DatasetOpen(file, group + local, Hdf5Native.Default);
        if (dataset < 0)
        {
            // netcdf-c's name for a variable that shares a dimension's name without being its coordinate.
            dataset = Hdf5Native.DatasetOpen(file, group + "_nc4_non_coord_" + local, Hdf5Native.Default);
            if (dataset < 0)
            {
                return null;
            }
        }

        long type = -1, space = -1, plist = -1;
        try
        {
            type = Hdf5Native.DatasetGetType(dataset);
            space = Hdf5Native.DatasetGetSpace(dataset);
            plist = Hdf5Native.DatasetGetCreatePlist(dataset);
            if (type < 0 || space < 0 || plist < 0)
            {
                return null;
            }

            int cls = Hdf5Native.TypeGetClass(type);
            int order = Hdf5Native.TypeGetOrder(type);
            int size = (int)Hdf5Native.TypeGetSize(type);
            if (cls is not (Hdf5Native.ClassInteger or Hdf5Native.ClassFloat) || order is not (Hdf5Native.OrderLittleEndian or Hdf5Native.OrderBigEndian)
                || size != v.Type.Size() || !ShapeMatches(space, v.Shape))
            {
                return null;
            }

            bool bigEndian = order == Hdf5Native.OrderBigEndian;
            byte[]? fill = ReadFill(plist, type, size, bigEndian);
            long elements = 1;
            foreach (long s in v.Shape)
            {
                elements *= s;
            }

            switch (Hdf5Native.PlistGetLayout(plist))
            {
                case Hdf5Native.LayoutContiguous:
                    {
                        if (Hdf5Native.PlistGetFilterCount(plist) != 0)
                        {
                            return null;
                        }

                        ulong address = Hdf5Native.DatasetGetOffset(dataset);
                        long begin = address == Hdf5Native.UndefinedAddress ? -1 : (long)Math.Min(address, long.MaxValue);
                        if (begin >= 0 && (begin > fileSize || elements * size > fileSize - begin))
                        {
                            throw new ArrayFormatException(where, $"contiguous data at byte {begin} ({elements * size} bytes) lies past the end of the {fileSize}-byte file");
                        }

                        return new NcChunkIndex { FileSize = fileSize, ElementSize = size, BigEndian = bigEndian, Begin = begin, Fill = fill };
                    }

                case Hdf5Native.LayoutChunked:
                    return IndexChunks(dataset, plist, where, v, size, bigEndian, fill, fileSize);
                default:
                    return null;
            }
        }
        finally
        {
            if (plist >= 0)
            {
                Hdf5Native.PlistClose(plist);
            }

            if (space >= 0)
            {
                Hdf5Native.SpaceClose(space);
            }

            if (type >= 0)
            {
                Hdf5Native.TypeClose(type);
            }

            Hdf5Native.DatasetClose(dataset);
        }
    }

    private static bool ShapeMatches(long space, long[] shape)
    {
        int rank = Hdf5Native.SpaceGetRank(space);
        if (rank != shape.Length || rank > 64)
        {
            return false;
        }

        ulong* dims = stackalloc ulong[Math.Max(1, rank)];
        if (rank > 0 && Hdf5Native.SpaceGetDims(space, dims, null) < 0)
        {
            return false;
        }

        for (int d = 0; d < rank; d++)
        {
            if (dims[d] != (ulong)shape[d])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The dataset's fill value (what HDF5 returns for unwritten chunks), converted to native byte order.</summary>
    private static byte[]? ReadFill(long plist, long type, int size, bool bigEndian)
    {
        if (Hdf5Native.PlistFillValueDefined(plist, out int status) < 0 || status == 0)
        {
            return null;
        }

        byte[] fill = new byte[size];
        fixed (byte* f = fill)
        {
            if (Hdf5Native.PlistGetFillValue(plist, type, f) < 0)
            {
                return null;
            }
        }

        if (bigEndian)
        {
            fill.AsSpan().Reverse();
        }

        return fill;
    }

    private static NcChunkIndex? IndexChunks(long dataset, long plist, string where, NcVariableInfo v, int size, bool bigEndian, byte[]? fill, long fileSize)
    {
        int rank = v.Shape.Length;
        ulong* chunkDims = stackalloc ulong[Math.Max(1, rank)];
        if (rank == 0 || Hdf5Native.PlistGetChunk(plist, rank, chunkDims) != rank)
        {
            return null;
        }

        var stored = new long[rank];
        long chunkBytes = size;
        long count = 1;
        for (int d = 0; d < rank; d++)
        {
            if (chunkDims[d] == 0 || chunkDims[d] > int.MaxValue)
            {
                return null;
            }

            stored[d] = (long)chunkDims[d];
            chunkBytes *= stored[d];
            count *= (v.Shape[d] + stored[d] - 1) / stored[d];
            if (chunkBytes > int.MaxValue || count > MaxChunks)
            {
                return null;
            }
        }

        int filterCount = Hdf5Native.PlistGetFilterCount(plist);
        if (filterCount is < 0 or > 8)
        {
            return null;
        }

        var filters = new int[filterCount];
        uint* values = stackalloc uint[16];
        for (int i = 0; i < filterCount; i++)
        {
            nuint n = 16;
            int id = Hdf5Native.PlistGetFilter(plist, (uint)i, out _, &n, values, 0, null, out _);
            if (id is not (Hdf5Native.FilterDeflate or Hdf5Native.FilterShuffle or Hdf5Native.FilterFletcher32))
            {
                return null;
            }

            filters[i] = id;
        }

        long maxEncoded = filterCount == 0 ? chunkBytes : (2 * chunkBytes) + 65536 + (4 * filterCount);
        var offsets = new long[count];
        var sizes = new long[count];
        int[]? masks = null;
        ulong* coord = stackalloc ulong[rank];
        Span<long> grid = stackalloc long[rank];
        grid.Clear();
        for (long c = 0; c < count; c++)
        {
            for (int d = 0; d < rank; d++)
            {
                coord[d] = (ulong)(grid[d] * stored[d]);
            }

            if (Hdf5Native.DatasetGetChunkInfoByCoord(dataset, coord, out uint mask, out ulong address, out ulong bytes) < 0)
            {
                return null;
            }

            if (address == Hdf5Native.UndefinedAddress)
            {
                offsets[c] = -1;
            }
            else
            {
                if (address > (ulong)fileSize || bytes > (ulong)(fileSize - (long)address) || bytes == 0 || bytes > (ulong)maxEncoded)
                {
                    throw new ArrayFormatException(where, $"chunk {c} at byte {address} ({bytes} bytes) lies outside the {fileSize}-byte file or exceeds its {chunkBytes}-byte chunk");
                }

                offsets[c] = (long)address;
                sizes[c] = (long)bytes;
                if (mask != 0)
                {
                    masks ??= new int[count];
                    masks[c] = (int)mask;
                }
            }

            for (int d = rank - 1; d >= 0; d--)
            {
                if (++grid[d] * stored[d] < v.Shape[d])
                {
                    break;
                }

                grid[d] = 0;
            }
        }

        return new NcChunkIndex
        {
            FileSize = fileSize,
            ElementSize = size,
            BigEndian = bigEndian,
            StoredChunk = stored,
            Filters = filters,
            Offsets = offsets,
            Sizes = sizes,
            Masks = masks,
            Fill = fill,
        };
    }

    /// <summary>HDF5's Fletcher-32 (H5_checksum_fletcher32): 16-bit big-endian words, folded every 360 words.</summary>
    public static uint Fletcher32(ReadOnlySpan<byte> data)
    {
        uint sum1 = 0, sum2 = 0;
        int words = data.Length / 2;
        int i = 0;
        while (words > 0)
        {
            int block = Math.Min(words, 360);
            words -= block;
            for (int k = 0; k < block; k++, i += 2)
            {
                sum1 += (uint)((data[i] << 8) | data[i + 1]);
                sum2 += sum1;
            }

            sum1 = (sum1 & 0xffff) + (sum1 >> 16);
            sum2 = (sum2 & 0xffff) + (sum2 >> 16);
        }

        if ((data.Length & 1) != 0)
        {
            sum1 += (uint)(data[^1] << 8);
            sum2 += sum1;
            sum1 = (sum1 & 0xffff) + (sum1 >> 16);
            sum2 = (sum2 & 0xffff) + (sum2 >> 16);
        }

        sum1 = (sum1 & 0xffff) + (sum1 >> 16);
        sum2 = (sum2 & 0xffff) + (sum2 >> 16);
        return (sum2 << 16) | sum1;
    }

    /// <summary>
    /// True when the 4-byte trailer HDF5 wrote after a chunk (little-endian) is its Fletcher-32, or the
    /// byte-swapped value that HDF5 before 1.6.3 wrote and HDF5 still accepts.
    /// </summary>
    public static bool Fletcher32Matches(ReadOnlySpan<byte> data, ReadOnlySpan<byte> trailer)
    {
        uint stored = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
        uint sum = Fletcher32(data);
        uint reversed = ((sum & 0x00ff00ffu) << 8) | ((sum & 0xff00ff00u) >> 8);
        return stored == sum || stored == reversed;
    }
}
