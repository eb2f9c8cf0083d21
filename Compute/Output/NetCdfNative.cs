using System.Runtime.InteropServices;

namespace Proxima.Compute.Output;

/// <summary>The few libnetcdf (netcdf-c) functions the NetCDF-4 writer needs.</summary>
internal static unsafe partial class NetCdfNative
{
    private const string Lib = "libnetcdf.so.19";

    public const int Netcdf4 = 0x1000;
    public const int Clobber = 0;
    public const int Global = -1;
    public const int NcDouble = 6;
    public const int NcString = 12;

    /// <summary>netcdf-c is not thread-safe: every call from this assembly holds this lock.</summary>
    public static readonly Lock Gate = new();

    [LibraryImport(Lib, EntryPoint = "nc_create", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Create(string path, int mode, out int ncid);

    [LibraryImport(Lib, EntryPoint = "nc_def_grp", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int DefineGroup(int parent, string name, out int groupId);

    [LibraryImport(Lib, EntryPoint = "nc_def_dim", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int DefineDim(int ncid, string name, nuint length, out int dimId);

    [LibraryImport(Lib, EntryPoint = "nc_def_var", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int DefineVar(int ncid, string name, int type, int ndims, int* dimIds, out int varId);

    [LibraryImport(Lib, EntryPoint = "nc_put_att_text", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int PutAttText(int ncid, int varId, string name, nuint length, byte* value);

    [LibraryImport(Lib, EntryPoint = "nc_put_att_double", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int PutAttDouble(int ncid, int varId, string name, int type, nuint length, double* value);

    [LibraryImport(Lib, EntryPoint = "nc_enddef")]
    public static partial int EndDef(int ncid);

    [LibraryImport(Lib, EntryPoint = "nc_put_var_double")]
    public static partial int PutVarDouble(int ncid, int varId, double* values);

    [LibraryImport(Lib, EntryPoint = "nc_put_var_string")]
    public static partial int PutVarString(int ncid, int varId, byte** values);

    [LibraryImport(Lib, EntryPoint = "nc_close")]
    public static partial int Close(int ncid);

    [LibraryImport(Lib, EntryPoint = "nc_strerror")]
    public static partial byte* StrError(int status);

    public static void Check(int status, string what)
    {
        if (status != 0)
        {
            var msg = Marshal.PtrToStringUTF8((nint)StrError(status)) ?? "unknown error";
            throw new IOException($"libnetcdf: {what} failed: {msg} ({status}).");
        }
    }
}
