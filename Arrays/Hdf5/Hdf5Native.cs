using System.Runtime.InteropServices;

namespace Proxima.Arrays.Hdf5;

/// <summary>
/// libhdf5 1.10 (Debian's serial build, libhdf5_serial.so.103), used only to locate chunks: layout,
/// filters, chunk addresses. Shared with libnetcdf (which is not thread-safe), so every call holds
/// <see cref="NetCdf.NetCdfNative.Gate"/>. hid_t is int64 since 1.10; haddr_t and hsize_t are uint64.
/// </summary>
internal static unsafe partial class Hdf5Native
{
    private const string Lib = "libhdf5_serial.so.103";
    public const long Default = 0;
    public const uint ReadOnly = 0;
    public const ulong UndefinedAddress = ulong.MaxValue;
    public const int LayoutCompact = 0;
    public const int LayoutContiguous = 1;
    public const int LayoutChunked = 2;
    public const int ClassInteger = 0;
    public const int ClassFloat = 1;
    public const int OrderLittleEndian = 0;
    public const int OrderBigEndian = 1;
    public const int FilterDeflate = 1;
    public const int FilterShuffle = 2;
    public const int FilterFletcher32 = 3;

    [ThreadStatic]
    private static bool t_quiet;

    [LibraryImport(Lib, EntryPoint = "H5Eset_auto2")]
    private static partial int ErrorSetAuto(long stack, IntPtr func, IntPtr clientData);

    /// <summary>
    /// Turns off HDF5's printing of its error stack for the calling thread. Debian's build is thread-safe,
    /// which makes error stacks per thread: libnetcdf silences only the thread that initialised it, so
    /// every thread that calls libnetcdf or HDF5 (under the gate) calls this first. Expected failures
    /// (an absent attribute netcdf-c probes for, a dataset name we try) then stay off stderr.
    /// </summary>
    public static void QuietOnThisThread()
    {
        if (!t_quiet)
        {
            ErrorSetAuto(Default, IntPtr.Zero, IntPtr.Zero);
            t_quiet = true;
        }
    }

    [LibraryImport(Lib, EntryPoint = "H5Fopen", StringMarshalling = StringMarshalling.Utf8)]
    public static partial long FileOpen(string name, uint flags, long accessPlist);

    [LibraryImport(Lib, EntryPoint = "H5Fclose")]
    public static partial int FileClose(long file);

    [LibraryImport(Lib, EntryPoint = "H5Dopen2", StringMarshalling = StringMarshalling.Utf8)]
    public static partial long DatasetOpen(long location, string name, long accessPlist);

    [LibraryImport(Lib, EntryPoint = "H5Dclose")]
    public static partial int DatasetClose(long dataset);

    [LibraryImport(Lib, EntryPoint = "H5Dget_create_plist")]
    public static partial long DatasetGetCreatePlist(long dataset);

    [LibraryImport(Lib, EntryPoint = "H5Dget_type")]
    public static partial long DatasetGetType(long dataset);

    [LibraryImport(Lib, EntryPoint = "H5Dget_space")]
    public static partial long DatasetGetSpace(long dataset);

    [LibraryImport(Lib, EntryPoint = "H5Dget_offset")]
    public static partial ulong DatasetGetOffset(long dataset);

    [LibraryImport(Lib, EntryPoint = "H5Dget_chunk_info_by_coord")]
    public static partial int DatasetGetChunkInfoByCoord(long dataset, ulong* offset, out uint filterMask, out ulong address, out ulong size);

    [LibraryImport(Lib, EntryPoint = "H5Pget_layout")]
    public static partial int PlistGetLayout(long plist);

    [LibraryImport(Lib, EntryPoint = "H5Pget_chunk")]
    public static partial int PlistGetChunk(long plist, int maxDims, ulong* dims);

    [LibraryImport(Lib, EntryPoint = "H5Pget_nfilters")]
    public static partial int PlistGetFilterCount(long plist);

    [LibraryImport(Lib, EntryPoint = "H5Pget_filter2")]
    public static partial int PlistGetFilter(long plist, uint index, out uint flags, nuint* valueCount, uint* values, nuint nameLength, byte* name, out uint config);

    [LibraryImport(Lib, EntryPoint = "H5Pfill_value_defined")]
    public static partial int PlistFillValueDefined(long plist, out int status);

    [LibraryImport(Lib, EntryPoint = "H5Pget_fill_value")]
    public static partial int PlistGetFillValue(long plist, long type, void* value);

    [LibraryImport(Lib, EntryPoint = "H5Pclose")]
    public static partial int PlistClose(long plist);

    [LibraryImport(Lib, EntryPoint = "H5Tget_class")]
    public static partial int TypeGetClass(long type);

    [LibraryImport(Lib, EntryPoint = "H5Tget_order")]
    public static partial int TypeGetOrder(long type);

    [LibraryImport(Lib, EntryPoint = "H5Tget_size")]
    public static partial nuint TypeGetSize(long type);

    [LibraryImport(Lib, EntryPoint = "H5Tclose")]
    public static partial int TypeClose(long type);

    [LibraryImport(Lib, EntryPoint = "H5Sget_simple_extent_ndims")]
    public static partial int SpaceGetRank(long space);

    [LibraryImport(Lib, EntryPoint = "H5Sget_simple_extent_dims")]
    public static partial int SpaceGetDims(long space, ulong* dims, ulong* maxDims);

    [LibraryImport(Lib, EntryPoint = "H5Sclose")]
    public static partial int SpaceClose(long space);
}
