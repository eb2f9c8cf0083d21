using System.Globalization;
using System.Text;
using Proxima.Compute.Execution;
using Proxima.Compute.Query;

namespace Proxima.Compute.Output;

/// <summary>
/// Writes results as a NetCDF-4 file (libnetcdf) that <c>xarray.open_dataset</c> decodes: coordinate variables per
/// dim (time as <c>hours|seconds since</c> the first time with the dataset's <c>calendar</c>; season and point
/// labels as strings), point lat/lon as coordinates along <c>point</c>, one variable per op named
/// <c>{variable}_{op}</c> (or <c>{variable}</c> for values) with units, <c>cell_methods</c> and a NaN
/// <c>_FillValue</c>, and the query in the global attribute <c>proxima_query</c>. One result goes in the root group;
/// several go in one group each, named after the dataset.
/// </summary>
public static class NetCdfResultWriter
{
    /// <summary>Writes (overwrites) <paramref name="path"/>.</summary>
    /// <exception cref="IOException">libnetcdf is missing or a call failed.</exception>
    public static void Write(string path, IReadOnlyList<QueryResult> results, QuerySpec? spec = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(results);
        lock (NetCdfNative.Gate)
        {
            int ncid;
            try
            {
                NetCdfNative.Check(NetCdfNative.Create(path, NetCdfNative.Netcdf4 | NetCdfNative.Clobber, out ncid), "nc_create " + path);
            }
            catch (DllNotFoundException e)
            {
                throw new IOException("libnetcdf.so.19 is not installed (apt-get install libnetcdf19).", e);
            }

            try
            {
                Text(ncid, NetCdfNative.Global, "Conventions", "CF-1.8");
                Text(ncid, NetCdfNative.Global, "source", "Proxima");
                if (spec is not null)
                {
                    Text(ncid, NetCdfNative.Global, "proxima_query", QuerySpecWriter.ToJson(spec));
                }

                var used = new HashSet<string>(StringComparer.Ordinal);
                var targets = new List<(int Group, QueryResult Result)>();
                foreach (var r in results)
                {
                    var gid = ncid;
                    if (results.Count > 1)
                    {
                        var name = GroupName(r.Dataset);
                        var unique = name;
                        for (var k = 2; !used.Add(unique); k++)
                        {
                            unique = name + "_" + k.ToString(CultureInfo.InvariantCulture);
                        }

                        NetCdfNative.Check(NetCdfNative.DefineGroup(ncid, unique, out gid), "nc_def_grp " + unique);
                    }

                    targets.Add((gid, r));
                }

                var writes = new List<Action>();
                foreach (var (gid, r) in targets)
                {
                    Define(gid, r, writes, results.Count == 1);
                }

                NetCdfNative.Check(NetCdfNative.EndDef(ncid), "nc_enddef");
                foreach (var w in writes)
                {
                    w();
                }
            }
            finally
            {
                NetCdfNative.Check(NetCdfNative.Close(ncid), "nc_close");
            }
        }
    }

    private static unsafe void Define(int gid, QueryResult r, List<Action> writes, bool root)
    {
        Text(gid, NetCdfNative.Global, "dataset", r.Dataset);
        if (r.Partial)
        {
            Text(gid, NetCdfNative.Global, "partial", "true; missing: " + string.Join(", ", r.Missing));
        }

        var dimIds = new int[r.Dims.Length];
        for (var j = 0; j < r.Dims.Length; j++)
        {
            NetCdfNative.Check(NetCdfNative.DefineDim(gid, r.Dims[j], (nuint)r.Shape[j], out dimIds[j]), "nc_def_dim " + r.Dims[j]);
        }

        r.Attrs.TryGetValue("calendar", out var calendar);
        for (var j = 0; j < r.Dims.Length; j++)
        {
            var c = r.Coords[j];
            DefineCoordinate(gid, c, [dimIds[j]], r.Dims[j] == "time" ? calendar : null, writes);
        }

        var pointDim = Array.IndexOf(r.Dims, "point");
        foreach (var c in r.PointCoords)
        {
            if (pointDim >= 0)
            {
                DefineCoordinate(gid, c, [dimIds[pointDim]], null, writes);
            }
        }

        foreach (var kv in r.Data)
        {
            var name = kv.Key == "values" ? r.Variable : r.Variable + "_" + kv.Key;
            int varId;
            fixed (int* d = dimIds)
            {
                NetCdfNative.Check(NetCdfNative.DefineVar(gid, name, NetCdfNative.NcDouble, dimIds.Length, d, out varId), "nc_def_var " + name);
            }

            var fill = double.NaN;
            NetCdfNative.Check(NetCdfNative.PutAttDouble(gid, varId, "_FillValue", NetCdfNative.NcDouble, 1, &fill), "_FillValue");
            foreach (var a in r.Attrs)
            {
                if (a.Key == "calendar" || (a.Key == "units" && kv.Key == "count"))
                {
                    continue;
                }

                Text(gid, varId, a.Key, a.Value);
            }

            if (kv.Key != "values")
            {
                var reduced = r.Dims.Length == 0 ? "all" : "reduced dims";
                Text(gid, varId, "cell_methods", reduced + ": " + (kv.Key == "std" ? "standard_deviation" : kv.Key == "var" ? "variance" : kv.Key == "count" ? "point" : kv.Key));
            }

            var data = kv.Value;
            AddWrite(writes, data.Length, () =>
            {
                fixed (double* p = data)
                {
                    NetCdfNative.Check(NetCdfNative.PutVarDouble(gid, varId, p), "nc_put_var_double " + name);
                }
            });
        }

        _ = root;
    }

    private static unsafe void DefineCoordinate(int gid, ResultCoordinate c, int[] dims, string? calendar, List<Action> writes)
    {
        int varId;
        // The time dim's labels are ISO times (none for an empty selection, which still is a time axis).
        var isTime = c.Labels is not null && calendar is not null && (c.Labels.Length == 0 || CalendarDate.TryParseIso(c.Labels[0], out _, out _));
        var type = c.Labels is not null && !isTime ? NetCdfNative.NcString : NetCdfNative.NcDouble;
        fixed (int* d = dims)
        {
            NetCdfNative.Check(NetCdfNative.DefineVar(gid, c.Name, type, dims.Length, d, out varId), "nc_def_var " + c.Name);
        }

        if (isTime)
        {
            var cal = CfCalendars.Parse(calendar);
            var dates = new CalendarDate[c.Labels!.Length];
            var wholeHours = true;
            for (var i = 0; i < dates.Length; i++)
            {
                CalendarDate.TryParseIso(c.Labels[i], out dates[i], out _);
                wholeHours &= dates[i].Minute == 0 && dates[i].Second == 0 && dates[i].Microsecond == 0;
            }

            var reference = dates.Length > 0 ? dates[0] : new CalendarDate(1970, 1, 1, 0, 0, 0, 0);
            var values = new double[dates.Length];
            var perUnit = wholeHours ? 3600.0 : 1.0;
            for (var i = 0; i < dates.Length; i++)
            {
                values[i] = SecondsBetween(cal, reference, dates[i]) / perUnit;
            }

            Text(gid, varId, "units", (wholeHours ? "hours" : "seconds") + " since " + reference.ToIso().Replace('T', ' '));
            Text(gid, varId, "calendar", CfCalendars.Name(cal));
            Text(gid, varId, "standard_name", "time");
            Text(gid, varId, "axis", "T");
            AddWrite(writes, values.Length, () =>
            {
                fixed (double* p = values)
                {
                    NetCdfNative.Check(NetCdfNative.PutVarDouble(gid, varId, p), "nc_put_var_double " + c.Name);
                }
            });
            return;
        }

        if (type == NetCdfNative.NcString)
        {
            var labels = c.Labels!;
            AddWrite(writes, labels.Length, () =>
            {
                var handles = new System.Runtime.InteropServices.GCHandle[labels.Length];
                var ptrs = new byte*[labels.Length];
                try
                {
                    for (var i = 0; i < labels.Length; i++)
                    {
                        var bytes = Encoding.UTF8.GetBytes(labels[i] + "\0");
                        handles[i] = System.Runtime.InteropServices.GCHandle.Alloc(bytes, System.Runtime.InteropServices.GCHandleType.Pinned);
                        ptrs[i] = (byte*)handles[i].AddrOfPinnedObject();
                    }

                    fixed (byte** p = ptrs)
                    {
                        NetCdfNative.Check(NetCdfNative.PutVarString(gid, varId, p), "nc_put_var_string " + c.Name);
                    }
                }
                finally
                {
                    foreach (var h in handles)
                    {
                        if (h.IsAllocated)
                        {
                            h.Free();
                        }
                    }
                }
            });
            return;
        }

        var v = c.Values ?? c.Keys;
        if (c.Name is "lat" or "latitude")
        {
            Text(gid, varId, "units", "degrees_north");
        }
        else if (c.Name is "lon" or "longitude")
        {
            Text(gid, varId, "units", "degrees_east");
        }

        AddWrite(writes, v.Length, () =>
        {
            fixed (double* p = v)
            {
                NetCdfNative.Check(NetCdfNative.PutVarDouble(gid, varId, p), "nc_put_var_double " + c.Name);
            }
        });
    }

    /// <summary>Queues a data write; a variable along a size-0 dim (an empty selection) has nothing to write.</summary>
    private static void AddWrite(List<Action> writes, int length, Action write)
    {
        if (length > 0)
        {
            writes.Add(write);
        }
    }

    /// <summary>Seconds from <paramref name="a"/> to <paramref name="b"/> in a CF calendar.</summary>
    internal static double SecondsBetween(CalendarKind cal, CalendarDate a, CalendarDate b) =>
        ((DayNumber(cal, b) - DayNumber(cal, a)) * 86400.0)
        + ((b.Hour - a.Hour) * 3600.0) + ((b.Minute - a.Minute) * 60.0) + (b.Second - a.Second) + ((b.Microsecond - a.Microsecond) / 1e6);

    private static long DayNumber(CalendarKind cal, CalendarDate d)
    {
        // Days since 0001-01-01 in the calendar (the Gregorian switch is ignored for spans across 1582).
        long days = 0;
        var y0 = Math.Min(d.Year, 1);
        for (var y = y0; y < d.Year; y++)
        {
            days += cal == CalendarKind.Day360 ? 360 : CfCalendars.IsLeap(cal, y) ? 366 : 365;
        }

        return days + CfCalendars.DayOfYear(cal, d) - 1;
    }

    private static unsafe void Text(int ncid, int varId, string name, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        fixed (byte* p = bytes)
        {
            NetCdfNative.Check(NetCdfNative.PutAttText(ncid, varId, name, (nuint)bytes.Length, p), "attribute " + name);
        }
    }

    private static string GroupName(string dataset)
    {
        var sb = new StringBuilder(dataset.Length);
        foreach (var ch in dataset)
        {
            sb.Append(char.IsAsciiLetterOrDigit(ch) || ch is '_' or '-' ? ch : '_');
        }

        return sb.Length == 0 ? "result" : sb.ToString();
    }
}
