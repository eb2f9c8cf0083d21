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

    /// <summary>
    /// A local path for the object, its signature checked first: the real file for <see cref="PosixStorage"/>, else a
    /// temp copy (one whole-object GET; the signature is checked on the downloaded bytes, not with a GET of its own).
    /// </summary>
    private static async Task<(string Path, bool Temporary)> LocalPathAsync(IStorage storage, string key, CancellationToken cancellationToken)
    {
        if (storage is PosixStorage posix)
        {
            byte[]? head = await storage.ReadRangeAsync(key, 0, 8, cancellationToken).ConfigureAwait(false);
            RequireNetCdf(storage, key, head);
            string? real = posix.Resolve(key);
            return real is null ? throw new ArrayFormatException(storage.Describe(key), "file does not exist") : (real, false);
        }

        byte[]? bytes = await storage.ReadAllBytesAsync(key, 4L * 1024 * 1024 * 1024, cancellationToken).ConfigureAwait(false);
        RequireNetCdf(storage, key, bytes);
        string temp = Path.Combine(Path.GetTempPath(), "proxima-nc-" + Guid.NewGuid().ToString("N") + ".nc");
        await File.WriteAllBytesAsync(temp, bytes!, cancellationToken).ConfigureAwait(false);
        return (temp, true);
    }

    private static void RequireNetCdf(IStorage storage, string key, byte[]? head)
    {
        if (head is null)
        {
            throw new ArrayFormatException(storage.Describe(key), "file does not exist");
        }

        if (!IsNetCdfMagic(head))
        {
            throw new ArrayFormatException(storage.Describe(key), "not a NetCDF file (no CDF or HDF5 signature)");
        }
    }

    /// <summary>Opens one file through libnetcdf (a temp copy when the storage is not POSIX; the caller deletes it).</summary>
    internal static async Task<(NetCdfFile File, string? TempPath)> OpenLocalAsync(IStorage storage, string key, CancellationToken cancellationToken)
    {
        (string path, bool temporary) = await LocalPathAsync(storage, key, cancellationToken).ConfigureAwait(false);
        try
        {
            return (NetCdfFile.Open(path, storage.Describe(key)), temporary ? path : null);
        }
        catch when (temporary)
        {
            File.Delete(path);
            throw;
        }
    }

    private static async Task<NetCdfFileSlot> OpenSlotAsync(IStorage storage, string key, CancellationToken cancellationToken)
    {
        (NetCdfFile file, string? temp) = await OpenLocalAsync(storage, key, cancellationToken).ConfigureAwait(false);
        return NetCdfFileSlot.ForOpenFile(storage, key, file, temp);
    }

    public static async Task<GridDataset> OpenFileAsync(IStorage storage, string key, GridDatasetOptions options, CancellationToken cancellationToken)
    {
        NetCdfFileSlot slot = await OpenSlotAsync(storage, key, cancellationToken).ConfigureAwait(false);
        try
        {
            slot.TryGet(out NetCdfFile? file);
            (Dictionary<string, AttributeValue> attrs, List<NcVariableInfo> vars) = file!.ReadMetadata();
            var variables = new List<GridVariable>(vars.Count);
            foreach (NcVariableInfo v in vars)
            {
                var array = new NetCdfArray(slot, v, NetCdfArray.DefaultChunks(v), options);
                variables.Add(new GridVariable(v.Name, [.. v.Dims], array, v.Attributes, options));
            }

            return new GridDataset(storage.Describe(key), DatasetFormat.NetCdf, attrs, variables) { Owned = [slot] };
        }
        catch
        {
            slot.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Files of a folder aggregated along the record (unlimited or time) dimension, in name order. With
    /// <see cref="GridDatasetOptions.NetCdfMetadataCacheDirectory"/> set, a cache whose file fingerprints
    /// match the listing opens the collection without opening any file (each opens on its first read);
    /// otherwise every file is opened and the cache rewritten.
    /// </summary>
    public static async Task<GridDataset?> TryOpenCollectionAsync(IStorage storage, string prefix, GridDatasetOptions options, CancellationToken cancellationToken)
    {
        var entries = new List<StorageEntry>();
        await foreach (StorageEntry e in storage.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            if (!e.IsPrefix && HasNetCdfExtension(e.Name))
            {
                entries.Add(e);
            }
        }

        if (entries.Count == 0)
        {
            return null;
        }

        entries.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        string location = storage.Describe(prefix);
        string? cacheDirectory = options.NetCdfMetadataCacheDirectory;
        CollectionMetadata? cached = cacheDirectory is null ? null : CollectionMetadataCache.TryLoad(cacheDirectory, location);
        if (cached is not null && cached.Matches(entries) && TryBuildFromCache(storage, entries, cached, location, options) is { } fromCache)
        {
            return fromCache;
        }

        var slots = new NetCdfFileSlot[entries.Count];
        try
        {
            // Off POSIX each file is downloaded before libnetcdf opens it: up to MaxConcurrency downloads at once (the
            // opens themselves still take libnetcdf's one lock in turn). Local files open in order, one at a time.
            int inFlight = storage is PosixStorage ? 1 : Math.Max(1, options.MaxConcurrency);
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = inFlight, CancellationToken = cancellationToken };
            await Parallel.ForEachAsync(Enumerable.Range(0, slots.Length), parallel, async (i, ct) =>
                slots[i] = await OpenSlotAsync(storage, entries[i].Key, ct).ConfigureAwait(false)).ConfigureAwait(false);

            CollectionMetadata metadata = Scan(entries, slots, location, options);
            if (cacheDirectory is not null && AllFingerprinted(entries))
            {
                CollectionMetadataCache.TrySave(cacheDirectory, metadata);
            }

            return Build(metadata, slots, location, options);
        }
        catch
        {
            DisposeAll(slots);
            throw;
        }
    }

    /// <summary>The collection over lazily opened files, or null when the cache's contents do not fit together (then the files are read).</summary>
    private static GridDataset? TryBuildFromCache(IStorage storage, List<StorageEntry> entries, CollectionMetadata cached, string location, GridDatasetOptions options)
    {
        var slots = new NetCdfFileSlot[entries.Count];
        for (int i = 0; i < slots.Length; i++)
        {
            slots[i] = NetCdfFileSlot.ForLazyFile(storage, entries[i].Key, cached.Files[i].Size, cached.Files[i].ModifiedTicks);
        }

        try
        {
            return Build(cached, slots, location, options);
        }
        catch (Exception e) when (e is KeyNotFoundException or ArgumentException or IndexOutOfRangeException or ArrayFormatException or OverflowException)
        {
            DisposeAll(slots);
            return null;
        }
    }

    private static void DisposeAll(NetCdfFileSlot?[] slots)
    {
        foreach (NetCdfFileSlot? slot in slots)
        {
            slot?.Dispose();
        }
    }

    private static bool AllFingerprinted(List<StorageEntry> entries)
    {
        foreach (StorageEntry e in entries)
        {
            if (e.LastModified is null)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Reads every (open) file's metadata, checks the files agree, and aggregates the time coordinates.</summary>
    private static CollectionMetadata Scan(List<StorageEntry> entries, NetCdfFileSlot[] slots, string location, GridDatasetOptions options)
    {
        var files = new List<(NetCdfFile File, Dictionary<string, AttributeValue> Attrs, Dictionary<string, NcVariableInfo> Vars, List<NcVariableInfo> Order)>(slots.Length);
        foreach (NetCdfFileSlot slot in slots)
        {
            slot.TryGet(out NetCdfFile? f);
            (Dictionary<string, AttributeValue> attrs, List<NcVariableInfo> vars) = f!.ReadMetadata();
            var byName = new Dictionary<string, NcVariableInfo>(StringComparer.Ordinal);
            foreach (NcVariableInfo v in vars)
            {
                byName[v.Name] = v;
            }

            files.Add((f, attrs, byName, vars));
        }

        string concatDim = FindConcatDim(files[0].Order)
            ?? throw new ArrayFormatException(location, "cannot aggregate: no unlimited or time dimension in " + files[0].File.Location);

        var cachedFiles = new List<CachedFile>(files.Count);
        for (int i = 0; i < files.Count; i++)
        {
            cachedFiles.Add(new CachedFile(entries[i].Key, entries[i].Size, entries[i].LastModified?.UtcTicks ?? 0, new Dictionary<string, CachedPart>(StringComparer.Ordinal)));
        }

        var variables = new List<CachedVariable>(files[0].Order.Count);
        var times = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (NcVariableInfo first in files[0].Order)
        {
            variables.Add(CachedVariable.From(first));
            int axis = Array.IndexOf(first.Dims, concatDim);
            if (axis < 0)
            {
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

                if (vi.Type != first.Type && !(first.Dims.Length == 1 && CfTimeUnits.IsTimeUnits(Units(first))))
                {
                    throw new ArrayFormatException(files[i].File.Location, $"variable '{first.Name}' is {vi.Type.NumpyName()} here but {first.Type.NumpyName()} in {files[0].File.Location}");
                }

                infos[i] = vi;
                cachedFiles[i].Parts[first.Name] = new CachedPart(vi.VarId, vi.Shape[axis], vi.Index);
            }

            if (first.Dims.Length == 1 && CfTimeUnits.IsTimeUnits(Units(first)))
            {
                times[first.Name] = ReadTimes(first, infos, files.ConvertAll(f => f.File), options);
            }
        }

        var attributes = new Dictionary<string, System.Text.Json.JsonElement>(StringComparer.Ordinal);
        foreach ((string name, AttributeValue value) in files[0].Attrs)
        {
            attributes[name] = value.Json;
        }

        return new CollectionMetadata { Location = location, ConcatDim = concatDim, Attributes = attributes, Variables = variables, Files = cachedFiles, Times = times };
    }

    /// <summary>The dataset over the files (open or lazy) as the metadata describes it; chunks never straddle files.</summary>
    private static GridDataset Build(CollectionMetadata metadata, NetCdfFileSlot[] slots, string location, GridDatasetOptions options)
    {
        var variables = new List<GridVariable>(metadata.Variables.Count);
        foreach (CachedVariable cached in metadata.Variables)
        {
            NcVariableInfo first = cached.ToInfo();
            int axis = Array.IndexOf(first.Dims, metadata.ConcatDim);
            if (axis < 0)
            {
                var array = new NetCdfArray(slots[0], first, NetCdfArray.DefaultChunks(first), options);
                variables.Add(new GridVariable(first.Name, [.. first.Dims], array, first.Attributes, options));
                continue;
            }

            if (metadata.Times.TryGetValue(first.Name, out double[]? timeValues))
            {
                var attrs = new Dictionary<string, AttributeValue>(first.Attributes, StringComparer.Ordinal);
                attrs.Remove("_FillValue");
                attrs.Remove("missing_value");
                attrs.Remove("scale_factor");
                attrs.Remove("add_offset");
                variables.Add(new GridVariable(first.Name, [.. first.Dims], new MemoryArray(timeValues, location + ":" + first.Name), attrs, options));
                continue;
            }

            int[] chunks = NetCdfArray.DefaultChunks(first);
            long g = chunks[axis];
            long total = 0;
            var offsets = new long[slots.Length];
            for (int i = 0; i < slots.Length; i++)
            {
                offsets[i] = total;
                long length = metadata.Files[i].Parts[first.Name].Length;
                total += length;
                g = Gcd(g, length);
            }

            chunks[axis] = (int)Math.Max(1, g);
            var parts = new ChunkSource[slots.Length];
            for (int i = 0; i < slots.Length; i++)
            {
                CachedPart part = metadata.Files[i].Parts[first.Name];
                long[] partShape = [.. first.Shape];
                partShape[axis] = part.Length;
                parts[i] = new NetCdfArray(slots[i], first with { VarId = part.VarId, Shape = partShape, Index = part.Index }, chunks, options);
            }

            long[] shape = [.. first.Shape];
            shape[axis] = total;
            var concat = new ConcatArray(parts, offsets, axis, shape, chunks, first.Type, location + ":" + first.Name);
            variables.Add(new GridVariable(first.Name, [.. first.Dims], concat, first.Attributes, options));
        }

        return new GridDataset(location, DatasetFormat.NetCdfCollection, CollectionMetadataCache.ToAttributes(metadata.Attributes), variables) { Owned = slots };
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
    private static double[] ReadTimes(NcVariableInfo first, NcVariableInfo[] infos, List<NetCdfFile> files, GridDatasetOptions options)
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

        return [.. values];
    }

    /// <summary>Reads a small 1-D variable decoded to double without the region machinery (one nc_get_vara).</summary>
    private static double[] ReadDoubles(NetCdfFile file, NcVariableInfo vi, GridDatasetOptions options)
    {
        int n = (int)vi.Shape[0];
        byte[] raw = new byte[n * vi.Type.Size()];
        file.ReadRaw(vi.GroupPath, vi.VarId, [0], [n], raw);
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
}
