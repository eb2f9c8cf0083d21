using System.Text;
using System.Text.Json;

namespace Proxima.Arrays.NetCdf;

/// <summary>Metadata of one NetCDF variable as read from the file (<paramref name="GroupPath"/> "/" or "/g1/g2": handle-independent).
/// <paramref name="Index"/>: where its bytes are in the file, for reads without libnetcdf (null: read through libnetcdf).</summary>
internal sealed record NcVariableInfo(string GroupPath, int VarId, string Name, DataType Type, string[] Dims, long[] Shape, int[]? Chunks, Dictionary<string, AttributeValue> Attributes, string? UnlimitedDim, NcChunkIndex? Index = null);

/// <summary>An open NetCDF-3/4 file (netcdf-c handle), closed on dispose. All calls hold <see cref="NetCdfNative.Gate"/>.</summary>
internal sealed unsafe class NetCdfFile : IDisposable
{
    private readonly Dictionary<string, int> _groups = new(StringComparer.Ordinal);
    private int _ncid;
    private bool _open;

    private NetCdfFile(string path, string location, int ncid)
    {
        Path = path;
        Location = location;
        _ncid = ncid;
        _open = true;
    }

    public string Path { get; }

    public string Location { get; }

    public static NetCdfFile Open(string path, string location)
    {
        lock (NetCdfNative.Gate)
        {
            int status;
            int ncid;
            try
            {
                QuietHdf5();
                status = NetCdfNative.Open(path, NetCdfNative.NoWrite, out ncid);
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                throw new ArrayFormatException(location, "reading NetCDF needs libnetcdf (libnetcdf.so.19); install the Debian package libnetcdf19", e);
            }

            if (status != 0)
            {
                throw new ArrayFormatException(location, "not a readable NetCDF file: " + NetCdfNative.StrError(status));
            }

            return new NetCdfFile(path, location, ncid);
        }
    }

    /// <summary>HDF5 error printing off for this thread (see <see cref="Hdf5.Hdf5Native.QuietOnThisThread"/>); without libhdf5 nothing to silence.</summary>
    private static void QuietHdf5()
    {
        try
        {
            Hdf5.Hdf5Native.QuietOnThisThread();
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
        }
    }

    private void Check(int status, string what)
    {
        if (status != 0)
        {
            throw new ArrayFormatException(Location, $"{what}: {NetCdfNative.StrError(status)}");
        }
    }

    /// <summary>Global attributes and every numeric or non-numeric variable, subgroups flattened as "group/var".</summary>
    public (Dictionary<string, AttributeValue> Attributes, List<NcVariableInfo> Variables) ReadMetadata()
    {
        lock (NetCdfNative.Gate)
        {
            EnsureOpen();
            QuietHdf5();
            var vars = new List<NcVariableInfo>();
            int nunlim;
            Check(NetCdfNative.InqUnlimdims(_ncid, out nunlim, null), "nc_inq_unlimdims");
            var unlimited = new HashSet<int>();
            if (nunlim > 0)
            {
                int* ids = stackalloc int[nunlim];
                Check(NetCdfNative.InqUnlimdims(_ncid, out nunlim, ids), "nc_inq_unlimdims");
                for (int i = 0; i < nunlim; i++)
                {
                    unlimited.Add(ids[i]);
                }
            }

            ReadGroup(_ncid, "", "/", vars, unlimited, 0);
            int format = CheckClassicSize(vars);
            AddChunkIndexes(format, vars);
            return (ReadAttributes(_ncid, -1), vars);
        }
    }

    /// <summary>
    /// Each variable's chunk index (caller holds the gate): NetCDF-3 from the header, NetCDF-4 through
    /// libhdf5 (which libnetcdf calls underneath, so under the same lock). Variables without one are read
    /// through libnetcdf.
    /// </summary>
    private void AddChunkIndexes(int format, List<NcVariableInfo> vars)
    {
        NcChunkIndex?[] indexes = format switch
        {
            1 or 2 or 5 => ClassicHeader.Build(Path, Location, vars),
            3 or 4 => Hdf5.Hdf5ChunkIndexer.Build(Path, Location, vars, new FileInfo(Path).Length),
            _ => [],
        };
        for (int i = 0; i < indexes.Length; i++)
        {
            if (indexes[i] is NcChunkIndex index)
            {
                vars[i] = vars[i] with { Index = index };
            }
        }
    }

    /// <summary>
    /// netcdf-c reads past the end of a truncated classic (CDF-1/2/5) file as fill values without an
    /// error; a file shorter than its variables' data is reported as truncated instead. Returns the format.
    /// </summary>
    private int CheckClassicSize(List<NcVariableInfo> vars)
    {
        Check(NetCdfNative.InqFormat(_ncid, out int format), "nc_inq_format");
        if (format is not (1 or 2 or 5))
        {
            return format;
        }

        long needed = 0;
        foreach (NcVariableInfo v in vars)
        {
            long n = Math.Max(1, v.Type.Size());
            foreach (long s in v.Shape)
            {
                n = s == 0 ? 0 : n > long.MaxValue / Math.Max(1, s) ? long.MaxValue / 2 : n * s;
            }

            needed += (n + 3) / 4 * 4;
        }

        long actual = new FileInfo(Path).Length;
        if (actual < needed)
        {
            throw new ArrayFormatException(Location, $"truncated NetCDF file: {actual} bytes cannot hold its variables' {needed} bytes of data");
        }

        return format;
    }

    private void ReadGroup(int gid, string prefix, string groupPath, List<NcVariableInfo> vars, HashSet<int> unlimited, int depth)
    {
        if (depth > 16)
        {
            throw new ArrayFormatException(Location, "groups nested too deeply");
        }

        Check(NetCdfNative.InqVarids(gid, out int nvars, null), "nc_inq_varids");
        int[] varids = new int[Math.Max(1, nvars)];
        fixed (int* p = varids)
        {
            Check(NetCdfNative.InqVarids(gid, out nvars, p), "nc_inq_varids");
        }

        byte* name = stackalloc byte[NetCdfNative.MaxName + 1];
        int* dimids = stackalloc int[1024];
        for (int i = 0; i < nvars; i++)
        {
            int varid = varids[i];
            Check(NetCdfNative.InqVar(gid, varid, null, out int xtype, out int ndims, null, out _), "nc_inq_var");
            if (ndims > 1024)
            {
                throw new ArrayFormatException(Location, "variable has too many dimensions");
            }

            Check(NetCdfNative.InqVar(gid, varid, name, out xtype, out ndims, dimids, out _), "nc_inq_var");
            string varName = NetCdfNative.ReadName(name);
            var dims = new string[ndims];
            var shape = new long[ndims];
            string? unlim = null;
            for (int d = 0; d < ndims; d++)
            {
                Check(NetCdfNative.InqDim(gid, dimids[d], name, out nuint len), "nc_inq_dim");
                dims[d] = NetCdfNative.ReadName(name);
                shape[d] = (long)len;
                if (unlimited.Contains(dimids[d]))
                {
                    unlim = dims[d];
                }
            }

            int[]? chunks = null;
            if (ndims > 0)
            {
                var cs = new nuint[ndims];
                fixed (nuint* csp = cs)
                {
                    if (NetCdfNative.InqVarChunking(gid, varid, out int storage, csp) == 0 && storage == NetCdfNative.Chunked)
                    {
                        chunks = new int[ndims];
                        for (int d = 0; d < ndims; d++)
                        {
                            chunks[d] = (int)Math.Clamp((long)cs[d], 1, int.MaxValue);
                        }
                    }
                }
            }

            vars.Add(new NcVariableInfo(groupPath, varid, prefix + varName, NetCdfNative.ToDataType(xtype), dims, shape, chunks, ReadAttributes(gid, varid), unlim));
        }

        Check(NetCdfNative.InqGrps(gid, out int ngrps, null), "nc_inq_grps");
        if (ngrps > 0)
        {
            int[] groups = new int[ngrps];
            fixed (int* g = groups)
            {
                Check(NetCdfNative.InqGrps(gid, out ngrps, g), "nc_inq_grps");
            }

            foreach (int child in groups)
            {
                Check(NetCdfNative.InqGrpname(child, name), "nc_inq_grpname");
                string childName = NetCdfNative.ReadName(name);
                ReadGroup(child, prefix + childName + "/", groupPath == "/" ? "/" + childName : groupPath + "/" + childName, vars, unlimited, depth + 1);
            }
        }
    }

    private Dictionary<string, AttributeValue> ReadAttributes(int gid, int varid)
    {
        var result = new Dictionary<string, AttributeValue>(StringComparer.Ordinal);
        int natts;
        if (varid < 0)
        {
            Check(NetCdfNative.InqNatts(gid, out natts), "nc_inq_natts");
        }
        else
        {
            Check(NetCdfNative.InqVar(gid, varid, null, out _, out _, null, out natts), "nc_inq_var");
        }

        byte* name = stackalloc byte[NetCdfNative.MaxName + 1];
        for (int a = 0; a < natts; a++)
        {
            Check(NetCdfNative.InqAttname(gid, varid, a, name), "nc_inq_attname");
            Check(NetCdfNative.InqAtt(gid, varid, name, out int xtype, out nuint lenU), "nc_inq_att");
            string attName = NetCdfNative.ReadName(name);
            long len = (long)lenU;
            if (len > 16 * 1024 * 1024)
            {
                continue;
            }

            object? value;
            switch (xtype)
            {
                case 2:
                    {
                        byte[] text = new byte[len];
                        fixed (byte* t = text)
                        {
                            Check(NetCdfNative.GetAtt(gid, varid, name, t), "nc_get_att");
                        }

                        value = Encoding.UTF8.GetString(text).TrimEnd('\0');
                        break;
                    }

                case 12:
                    {
                        var ptrs = new IntPtr[len];
                        fixed (IntPtr* p = ptrs)
                        {
                            Check(NetCdfNative.GetAttString(gid, varid, name, p), "nc_get_att_string");
                            var strings = new string[len];
                            for (int i = 0; i < len; i++)
                            {
                                strings[i] = System.Runtime.InteropServices.Marshal.PtrToStringUTF8(ptrs[i]) ?? "";
                            }

                            NetCdfNative.FreeString((nuint)len, p);
                            value = len == 1 ? strings[0] : strings;
                        }

                        break;
                    }

                default:
                    {
                        DataType t = NetCdfNative.ToDataType(xtype);
                        if (t == DataType.Unsupported)
                        {
                            continue;
                        }

                        byte[] raw = new byte[len * t.Size()];
                        fixed (byte* r = raw)
                        {
                            Check(NetCdfNative.GetAtt(gid, varid, name, r), "nc_get_att");
                        }

                        value = NumbersToJson(raw, t, (int)len);
                        break;
                    }
            }

            result[attName] = new AttributeValue(value is JsonElement je ? je : JsonSerializer.SerializeToElement(value));
        }

        return result;
    }

    private static JsonElement NumbersToJson(byte[] raw, DataType t, int n)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            if (n != 1)
            {
                w.WriteStartArray();
            }

            for (int i = 0; i < n; i++)
            {
                ReadOnlySpan<byte> s = raw.AsSpan(i * t.Size());
                switch (t)
                {
                    case DataType.Int8: w.WriteNumberValue((sbyte)s[0]); break;
                    case DataType.UInt8: w.WriteNumberValue(s[0]); break;
                    case DataType.Int16: w.WriteNumberValue(BitConverter.ToInt16(s)); break;
                    case DataType.UInt16: w.WriteNumberValue(BitConverter.ToUInt16(s)); break;
                    case DataType.Int32: w.WriteNumberValue(BitConverter.ToInt32(s)); break;
                    case DataType.UInt32: w.WriteNumberValue(BitConverter.ToUInt32(s)); break;
                    case DataType.Int64: w.WriteNumberValue(BitConverter.ToInt64(s)); break;
                    case DataType.UInt64: w.WriteNumberValue(BitConverter.ToUInt64(s)); break;
                    case DataType.Float32:
                        {
                            float f = BitConverter.ToSingle(s);
                            if (float.IsFinite(f))
                            {
                                // The exact double value of the float32, as NumPy widens it when it meets float64 data.
                                string r = ((double)f).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
                                w.WriteRawValue(r.Contains('.') || r.Contains('E') ? r : r + ".0");
                            }
                            else
                            {
                                w.WriteStringValue(float.IsNaN(f) ? "NaN" : f > 0 ? "Infinity" : "-Infinity");
                            }

                            break;
                        }

                    default:
                        {
                            double d = BitConverter.ToDouble(s);
                            if (double.IsFinite(d))
                            {
                                string r = d.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
                                w.WriteRawValue(r.Contains('.') || r.Contains('E') ? r : r + ".0");
                            }
                            else
                            {
                                w.WriteStringValue(double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
                            }

                            break;
                        }
                }
            }

            if (n != 1)
            {
                w.WriteEndArray();
            }
        }

        using JsonDocument doc = JsonDocument.Parse(ms.ToArray());
        return doc.RootElement.Clone();
    }

    /// <summary>Reads a box of raw native-endian values (the variable's own type) into <paramref name="destination"/>.</summary>
    public void ReadRaw(string groupPath, int varId, ReadOnlySpan<long> start, ReadOnlySpan<long> count, Span<byte> destination)
    {
        int rank = start.Length;
        nuint* s = stackalloc nuint[Math.Max(1, rank)];
        nuint* c = stackalloc nuint[Math.Max(1, rank)];
        for (int d = 0; d < rank; d++)
        {
            s[d] = (nuint)start[d];
            c[d] = (nuint)count[d];
        }

        lock (NetCdfNative.Gate)
        {
            EnsureOpen();
            QuietHdf5();
            int groupId = GroupId(groupPath);
            fixed (byte* p = destination)
            {
                int status = NetCdfNative.GetVara(groupId, varId, s, c, p);
                if (status != 0)
                {
                    throw new ArrayFormatException(Location, $"nc_get_vara failed: {NetCdfNative.StrError(status)}");
                }
            }
        }
    }

    /// <summary>The handle of a group by full path (caller holds the gate); group ids differ between opens of one file.</summary>
    private int GroupId(string groupPath)
    {
        if (groupPath == "/")
        {
            return _ncid;
        }

        if (!_groups.TryGetValue(groupPath, out int gid))
        {
            Check(NetCdfNative.InqGrpFullNcid(_ncid, groupPath, out gid), "nc_inq_grp_full_ncid " + groupPath);
            _groups[groupPath] = gid;
        }

        return gid;
    }

    private void EnsureOpen()
    {
        ObjectDisposedException.ThrowIf(!_open, this);
    }

    public void Dispose()
    {
        lock (NetCdfNative.Gate)
        {
            if (_open)
            {
                NetCdfNative.Close(_ncid);
                _open = false;
                _ncid = -1;
            }
        }
    }
}
