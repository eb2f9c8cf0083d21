using System.Runtime.InteropServices;

namespace Proxima.Arrays.NetCdf;

/// <summary>
/// netcdf-c (libnetcdf.so.19). The library is not thread-safe, so every call goes through
/// <see cref="Gate"/>; callers hold it across a sequence of calls on one file.
/// </summary>
internal static unsafe partial class NetCdfNative
{
    private const string Lib = "libnetcdf.so.19";
    public const int NoWrite = 0;
    public const int MaxName = 256;
    public const int Chunked = 0;
    public const int Contiguous = 1;

    /// <summary>Serialises all libnetcdf calls in the process.</summary>
    public static readonly Lock Gate = new();

    [LibraryImport(Lib, EntryPoint = "nc_open", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int mode, out int ncid);

    [LibraryImport(Lib, EntryPoint = "nc_close")]
    public static partial int Close(int ncid);

    [LibraryImport(Lib, EntryPoint = "nc_inq_format")]
    public static partial int InqFormat(int ncid, out int format);

    [LibraryImport(Lib, EntryPoint = "nc_inq_natts")]
    public static partial int InqNatts(int ncid, out int natts);

    [LibraryImport(Lib, EntryPoint = "nc_inq_varids")]
    public static partial int InqVarids(int ncid, out int nvars, int* varids);

    [LibraryImport(Lib, EntryPoint = "nc_inq_grps")]
    public static partial int InqGrps(int ncid, out int ngrps, int* ncids);

    [LibraryImport(Lib, EntryPoint = "nc_inq_grp_full_ncid", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int InqGrpFullNcid(int ncid, string fullName, out int groupNcid);

    [LibraryImport(Lib, EntryPoint = "nc_inq_grpname")]
    public static partial int InqGrpname(int ncid, byte* name);

    [LibraryImport(Lib, EntryPoint = "nc_inq_var")]
    public static partial int InqVar(int ncid, int varid, byte* name, out int xtype, out int ndims, int* dimids, out int natts);

    [LibraryImport(Lib, EntryPoint = "nc_inq_dim")]
    public static partial int InqDim(int ncid, int dimid, byte* name, out nuint len);

    [LibraryImport(Lib, EntryPoint = "nc_inq_unlimdims")]
    public static partial int InqUnlimdims(int ncid, out int nunlim, int* dimids);

    [LibraryImport(Lib, EntryPoint = "nc_inq_var_chunking")]
    public static partial int InqVarChunking(int ncid, int varid, out int storage, nuint* chunksizes);

    [LibraryImport(Lib, EntryPoint = "nc_inq_attname")]
    public static partial int InqAttname(int ncid, int varid, int attnum, byte* name);

    [LibraryImport(Lib, EntryPoint = "nc_inq_att")]
    public static partial int InqAtt(int ncid, int varid, byte* name, out int xtype, out nuint len);

    [LibraryImport(Lib, EntryPoint = "nc_get_att")]
    public static partial int GetAtt(int ncid, int varid, byte* name, void* value);

    [LibraryImport(Lib, EntryPoint = "nc_get_att_string")]
    public static partial int GetAttString(int ncid, int varid, byte* name, IntPtr* value);

    [LibraryImport(Lib, EntryPoint = "nc_free_string")]
    public static partial int FreeString(nuint len, IntPtr* data);

    [LibraryImport(Lib, EntryPoint = "nc_get_vara")]
    public static partial int GetVara(int ncid, int varid, nuint* start, nuint* count, void* value);

    [LibraryImport(Lib, EntryPoint = "nc_strerror")]
    private static partial IntPtr StrErrorNative(int status);

    public static string StrError(int status) => Marshal.PtrToStringUTF8(StrErrorNative(status)) ?? $"netCDF error {status}";

    public static string ReadName(byte* buffer)
    {
        int n = 0;
        while (n < MaxName + 1 && buffer[n] != 0)
        {
            n++;
        }

        return System.Text.Encoding.UTF8.GetString(buffer, n);
    }

    /// <summary>Maps an nc_type to a <see cref="DataType"/> (strings and chars are unsupported as numbers).</summary>
    public static DataType ToDataType(int xtype) => xtype switch
    {
        1 => DataType.Int8,
        3 => DataType.Int16,
        4 => DataType.Int32,
        5 => DataType.Float32,
        6 => DataType.Float64,
        7 => DataType.UInt8,
        8 => DataType.UInt16,
        9 => DataType.UInt32,
        10 => DataType.Int64,
        11 => DataType.UInt64,
        _ => DataType.Unsupported,
    };
}
