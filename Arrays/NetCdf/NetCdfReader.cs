using Proxima.Arrays.Cf;
using Proxima.Arrays.Grid;
using Proxima.Arrays.Storage;

namespace Proxima.Arrays.NetCdf;

/// <summary>Opens NetCDF-3/4 files and folders of NetCDF files (aggregated along time, like open_mfdataset).</summary>
internal static class NetCdfReader
{
    private static readonly byte[] HdfMagic = [0x89, (byte)'H', (byte)'D', (byte)'F', 0x0D, 0x0A, 0x1A, 0x0A];

    public static bool HasNetCdfExtension(string key) =>
        key.EndsWith(".nc", StringComparison.OrdinalIgnoreCase) || key.EndsWith(".nc4", StringComparison.OrdinalIgnoreCase)
        || key.EndsWith(".cdf", StringComparison.OrdinalIgnoreCase) || key.EndsWith(".netcdf", StringComparison.OrdinalIgnoreCase)
        || key.EndsWith(".h5", StringComparison.OrdinalIgnoreCase);

    public static bool IsNetCdfMagic(ReadOnlySpan<byte> head) =>
        (head.Length >= 4 && head[0] == 'C' && head[1] == 'D' && head[2] == 'F' && head[3] is 1 or 2 or 5)
        || (head.Length >= 8 && head[..8].SequenceEqual(HdfMagic));

    /// <summary>A local path for the object: the real file for <see cref="PosixStorage"/>, else a temp copy.</summary>
    private static async Task<(string Path, bool Temporary)> LocalPathAsync(IStorage storage, string key, CancellationToken cancellationToken)
    {
        if (storage is PosixStorage posix)
        {
            string? real = posix.Resolve(key);
            return real is null ? throw new ArrayFormatException(storage.Describe(key), "file does not exist") : (real, false);
        }

        byte[] bytes = await storage.ReadAllBytesAsync(key, 4L * 1024 * 1024 * 1024, cancellationToken).ConfigureAwait(false)
            ?? throw new ArrayFormatException(storage.Describe(key), "file does not exist");
        string temp = Path.Combine(Path.GetTempPath(), "proxima-nc-" + Guid.NewGuid().ToString("N") + ".nc");
        await File.WriteAllBytesAsync(temp, bytes, cancellationToken).ConfigureAwait(false);
        return (temp, true);
    }

    private static async Task<NetCdfFile> OpenFileAsync(IStorage storage, string key, List<IDisposable> owned, CancellationToken cancellationToken)
    {
        byte[]? head = await storage.ReadRangeAsync(key, 0, 8, cancellationToken).ConfigureAwait(false);
        if (head is null)
        {
            throw new ArrayFormatException(storage.Describe(key), "file does not exist");
        }

        if (!IsNetCdfMagic(head))
        {
            throw new ArrayFormatException(storage.Describe(key), "not a NetCDF file (no CDF or HDF5 signature)");
        }

        (string path, bool temporary) = await LocalPathAsync(storage, key, cancellationToken).ConfigureAwait(false);
        if (temporary)
        {
            owned.Add(new TempFile(path));
        }

        NetCdfFile file = NetCdfFile.Open(path, storage.Describe(key));
        owned.Add(file);
        return file;
    }

    public static async Task<GridDataset> OpenFileAsync(IStorage storage, string key, GridDatasetOptions options, CancellationToken cancellationToken)
    {
        var owned = new List<IDisposable>();
        try
        {
            NetCdfFile file = await OpenFileAsync(storage, key, owned, cancellationToken).ConfigureAwait(false);
            (Dictionary<string, AttributeValue> attrs, List<NcVariableInfo> vars) = file.ReadMetadata();
            var variables = new List<GridVariable>(vars.Count);
            foreach (NcVariableInfo v in vars)
            {
                var array = new NetCdfArray(file, v, NetCdfArray.DefaultChunks(v));
                variables.Add(new GridVariable(v.Name, [.. v.Dims], array, v.Attributes, options));
            }

            return new GridDataset(storage.Describe(key), DatasetFormat.NetCdf, attrs, variables) { Owned = owned };
        }
        catch
        {
            foreach (IDisposable d in owned)
            {
                d.Dispose();
            }

            throw;
        }
    }

    /// <summary>Files of a folder aggregated along the record (unlimited or time) dimension, in name order.</summary>
    public static async Task<GridDataset?> TryOpenCollectionAsync(IStorage storage, string prefix, GridDatasetOptions options, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        await foreach (StorageEntry e in storage.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            if (!e.IsPrefix && HasNetCdfExtension(e.Name))
            {
                keys.Add(e.Key);
            }
        }

        if (keys.Count == 0)
        {
            return null;
        }

        keys.Sort(StringComparer.Ordinal);
        var owned = new List<IDisposable>();
        try
        {
            var files = new List<(NetCdfFile File, Dictionary<string, AttributeValue> Attrs, Dictionary<string, NcVariableInfo> Vars, List<NcVariableInfo> Order)>();
            foreach (string key in keys)
            {
                NetCdfFile f = await OpenFileAsync(storage, key, owned, cancellationToken).ConfigureAwait(false);
                (Dictionary<string, AttributeValue> attrs, List<NcVariableInfo> vars) = f.ReadMetadata();
                var byName = new Dictionary<string, NcVariableInfo>(StringComparer.Ordinal);
                foreach (NcVariableInfo v in vars)
                {
                    byName[v.Name] = v;
                }

                files.Add((f, attrs, byName, vars));
            }

            string location = storage.Describe(prefix);
            string concatDim = FindConcatDim(files[0].Order)
                ?? throw new ArrayFormatException(location, "cannot aggregate: no unlimited or time dimension in " + files[0].File.Location);

            var variables = new List<GridVariable>();
            foreach (NcVariableInfo first in files[0].Order)
            {
                int axis = Array.IndexOf(first.Dims, concatDim);
                if (axis < 0)
                {
                    var array = new NetCdfArray(files[0].File, first, NetCdfArray.DefaultChunks(first));
                    variables.Add(new GridVariable(first.Name, [.. first.Dims], array, first.Attributes, options));
                    continue;
                }

                var infos = new NcVariableInfo[files.Count];
                for (int i = 0; i < files.Count; i++)
                {
                    if (!files[i].Vars.TryGetValue(first.Name, out NcVariableInfo? vi) || vi.Dims.Length != first.Dims.Length)
                    {
                        throw new ArrayFormatException(files[i].File.Location, $"variable '{first.Name}' is missing or has different dimensions than in {files[0].File.Location}");
                    }

                    for (int d = 0; d < first.Dims.Length; d++)
                    {
                        if (d != axis && (vi.Dims[d] != first.Dims[d] || vi.Shape[d] != first.Shape[d]))
                        {
                            throw new ArrayFormatException(files[i].File.Location, $"variable '{first.Name}' dimension '{vi.Dims[d]}' ({vi.Shape[d]}) differs from {files[0].File.Location}");
                        }
                    }

                    infos[i] = vi;
                }

                if (first.Dims.Length == 1 && CfTimeUnits.IsTimeUnits(Units(first)))
                {
                    variables.Add(BuildTime(first, infos, files.ConvertAll(f => f.File), location, options));
                    continue;
                }

                int[] chunks = NetCdfArray.DefaultChunks(first);
                long g = chunks[axis];
                long total = 0;
                var offsets = new long[files.Count];
                for (int i = 0; i < files.Count; i++)
                {
                    offsets[i] = total;
                    total += infos[i].Shape[axis];
                    g = Gcd(g, infos[i].Shape[axis]);
                }

                chunks[axis] = (int)Math.Max(1, g);
                var parts = new ChunkSource[files.Count];
                for (int i = 0; i < files.Count; i++)
                {
                    parts[i] = new NetCdfArray(files[i].File, infos[i], chunks);
                }

                long[] shape = [.. first.Shape];
                shape[axis] = total;
                var concat = new ConcatArray(parts, offsets, axis, shape, chunks, first.Type, location + ":" + first.Name);
                variables.Add(new GridVariable(first.Name, [.. first.Dims], concat, first.Attributes, options));
            }

            return new GridDataset(location, DatasetFormat.NetCdfCollection, files[0].Attrs, variables) { Owned = owned };
        }
        catch
        {
            foreach (IDisposable d in owned)
            {
                d.Dispose();
            }

            throw;
        }
    }

    private static string? Units(NcVariableInfo v) => v.Attributes.TryGetValue("units", out AttributeValue u) ? u.AsString() : null;

    private static string? FindConcatDim(List<NcVariableInfo> vars)
    {
        foreach (NcVariableInfo v in vars)
        {
            if (v.UnlimitedDim is not null)
            {
                return v.UnlimitedDim;
            }
        }

        foreach (NcVariableInfo v in vars)
        {
            if (v.Dims.Length == 1 && v.Dims[0] == v.Name && CfTimeUnits.IsTimeUnits(Units(v)))
            {
                return v.Name;
            }
        }

        return null;
    }

    /// <summary>Time values from every file, decoded with each file's units and re-encoded in the first file's.</summary>
    private static GridVariable BuildTime(NcVariableInfo first, NcVariableInfo[] infos, List<NetCdfFile> files, string location, GridDatasetOptions options)
    {
        string? calendar = first.Attributes.TryGetValue("calendar", out AttributeValue c) ? c.AsString() : null;
        CfTimeUnits target = CfTimeUnits.Parse(Units(first)!, calendar);
        var values = new List<double>();
        for (int i = 0; i < infos.Length; i++)
        {
            NcVariableInfo vi = infos[i];
            double[] raw = ReadDoubles(files[i], vi, options);
            CfTimeUnits own = CfTimeUnits.Parse(Units(vi)!, vi.Attributes.TryGetValue("calendar", out AttributeValue vc) ? vc.AsString() : calendar);
            foreach (double r in raw)
            {
                values.Add(own.Units == target.Units ? r : target.Encode(own.Decode(r)));
            }
        }

        var attrs = new Dictionary<string, AttributeValue>(first.Attributes, StringComparer.Ordinal);
        attrs.Remove("_FillValue");
        attrs.Remove("missing_value");
        attrs.Remove("scale_factor");
        attrs.Remove("add_offset");
        return new GridVariable(first.Name, [.. first.Dims], new MemoryArray([.. values], location + ":" + first.Name), attrs, options);
    }

    /// <summary>Reads a small 1-D variable decoded to double without the region machinery (one nc_get_vara).</summary>
    private static double[] ReadDoubles(NetCdfFile file, NcVariableInfo vi, GridDatasetOptions options)
    {
        int n = (int)vi.Shape[0];
        byte[] raw = new byte[n * vi.Type.Size()];
        file.ReadRaw(vi.GroupId, vi.VarId, [0], [n], raw);
        var values = new double[n];
        CfDecoding.Create(vi.Type, vi.Attributes, null, options.MaskAndScale).Decode<double>(raw, values);
        return values;
    }

    private static long Gcd(long a, long b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }

    private sealed class TempFile(string path) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
            }
        }
    }
}
