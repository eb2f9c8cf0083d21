using System.Collections.Immutable;
using System.Text.Json;
using Proxima.Arrays.Storage;

namespace Proxima.Arrays.Zarr;

/// <summary>Opens Zarr v2 groups (consolidated or listed) and single arrays as <see cref="GridDataset"/>.</summary>
internal static class ZarrV2Reader
{
    public static async Task<GridDataset?> TryOpenAsync(IStorage storage, string path, GridDatasetOptions options, CancellationToken cancellationToken, DatasetFormat format = DatasetFormat.ZarrV2)
    {
        // Consolidated metadata first: one read instead of two per array.
        string zmetaKey = StorageExtensions.Join(path, ".zmetadata");
        byte[]? zmeta = await storage.ReadAllBytesAsync(zmetaKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (zmeta is not null)
        {
            return FromConsolidated(storage, path, ZarrJson.Parse(zmeta, storage.Describe(zmetaKey)), options, format);
        }

        string zarrayKey = StorageExtensions.Join(path, ".zarray");
        byte[]? zarray = await storage.ReadAllBytesAsync(zarrayKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (zarray is not null)
        {
            JsonElement? attrs = await ReadOptionalJsonAsync(storage, StorageExtensions.Join(path, ".zattrs"), cancellationToken).ConfigureAwait(false);
            string name = ArrayNameFromPath(path);
            GridVariable v = BuildVariable(storage, path, name, ZarrJson.Parse(zarray, storage.Describe(zarrayKey)), attrs, options);
            return new GridDataset(storage.Describe(path), format, new Dictionary<string, AttributeValue>(), [v]);
        }

        string zgroupKey = StorageExtensions.Join(path, ".zgroup");
        byte[]? zgroup = await storage.ReadAllBytesAsync(zgroupKey, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (zgroup is null)
        {
            return null;
        }

        ZarrJson.RequireObject(ZarrJson.Parse(zgroup, storage.Describe(zgroupKey)), storage.Describe(zgroupKey), ".zgroup");
        JsonElement? groupAttrs = await ReadOptionalJsonAsync(storage, StorageExtensions.Join(path, ".zattrs"), cancellationToken).ConfigureAwait(false);
        var variables = new List<GridVariable>();
        await foreach (StorageEntry entry in storage.ListAsync(path, cancellationToken).ConfigureAwait(false))
        {
            if (!entry.IsPrefix)
            {
                continue;
            }

            string arrayPath = entry.Key;
            string key = StorageExtensions.Join(arrayPath, ".zarray");
            byte[]? meta = await storage.ReadAllBytesAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (meta is null)
            {
                continue;
            }

            JsonElement? attrs = await ReadOptionalJsonAsync(storage, StorageExtensions.Join(arrayPath, ".zattrs"), cancellationToken).ConfigureAwait(false);
            variables.Add(BuildVariable(storage, arrayPath, entry.Name, ZarrJson.Parse(meta, storage.Describe(key)), attrs, options));
        }

        return new GridDataset(storage.Describe(path), format, ZarrJson.Attributes(groupAttrs), variables);
    }

    private static GridDataset FromConsolidated(IStorage storage, string path, JsonElement root, GridDatasetOptions options, DatasetFormat format)
    {
        string location = storage.Describe(StorageExtensions.Join(path, ".zmetadata"));
        ZarrJson.RequireObject(root, location, ".zmetadata");
        if (!root.TryGetProperty("metadata", out JsonElement metadata) || metadata.ValueKind != JsonValueKind.Object)
        {
            throw new ArrayFormatException(location, "missing 'metadata' object");
        }

        JsonElement? groupAttrs = metadata.TryGetProperty(".zattrs", out JsonElement ga) ? ga : null;
        var arrays = new List<(string Name, JsonElement Meta)>();
        foreach (JsonProperty p in metadata.EnumerateObject())
        {
            // Only arrays directly in this group: "name/.zarray".
            if (p.Name.EndsWith("/.zarray", StringComparison.Ordinal))
            {
                string name = p.Name[..^"/.zarray".Length];
                if (!name.Contains('/', StringComparison.Ordinal))
                {
                    arrays.Add((name, p.Value));
                }
            }
            else if (p.Name == ".zarray")
            {
                arrays.Add(("", p.Value));
            }
        }

        arrays.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        var variables = new List<GridVariable>(arrays.Count);
        foreach ((string name, JsonElement meta) in arrays)
        {
            string attrsKey = name.Length == 0 ? ".zattrs" : name + "/.zattrs";
            JsonElement? attrs = metadata.TryGetProperty(attrsKey, out JsonElement a) ? a : null;
            string arrayPath = StorageExtensions.Join(path, name);
            string varName = name.Length == 0 ? ArrayNameFromPath(path) : name;
            variables.Add(BuildVariable(storage, arrayPath, varName, meta, attrs, options));
        }

        return new GridDataset(storage.Describe(path), format, ZarrJson.Attributes(groupAttrs), variables);
    }

    /// <summary>A lone array is named after the last path segment without its extension ("t2m.zarr" gives "t2m"; the root gives "data").</summary>
    internal static string ArrayNameFromPath(string path)
    {
        if (path.Length == 0)
        {
            return "data";
        }

        string last = path[(path.LastIndexOf('/') + 1)..];
        int dot = last.LastIndexOf('.');
        return dot > 0 ? last[..dot] : last;
    }

    private static GridVariable BuildVariable(IStorage storage, string arrayPath, string name, JsonElement meta, JsonElement? attrsJson, GridDatasetOptions options)
    {
        ZarrV2Array array = ZarrV2Array.Parse(storage, arrayPath, meta, options);
        Dictionary<string, AttributeValue> attrs = ZarrJson.Attributes(attrsJson);
        ImmutableArray<string> dims = GridDataset.DefaultDims(array.Shape.Length);
        if (attrs.Remove("_ARRAY_DIMENSIONS", out AttributeValue dimAttr) && dimAttr.Json.ValueKind == JsonValueKind.Array)
        {
            var b = ImmutableArray.CreateBuilder<string>();
            foreach (JsonElement d in dimAttr.Json.EnumerateArray())
            {
                b.Add(d.ValueKind == JsonValueKind.String ? d.GetString()! : d.GetRawText());
            }

            if (b.Count != array.Shape.Length)
            {
                throw new ArrayFormatException(storage.Describe(StorageExtensions.Join(arrayPath, ".zattrs")), $"_ARRAY_DIMENSIONS has {b.Count} names for {array.Shape.Length} dimensions");
            }

            dims = b.ToImmutable();
        }

        return new GridVariable(name, dims, array, attrs, options);
    }

    private static async Task<JsonElement?> ReadOptionalJsonAsync(IStorage storage, string key, CancellationToken cancellationToken)
    {
        byte[]? bytes = await storage.ReadAllBytesAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
        return bytes is null ? null : ZarrJson.Parse(bytes, storage.Describe(key));
    }
}
