using System.Collections.Immutable;
using System.Text.Json;
using Proxima.Arrays.Storage;

namespace Proxima.Arrays.Zarr;

/// <summary>Opens Zarr v3 groups and arrays (zarr.json), using inline consolidated metadata when present.</summary>
internal static class ZarrV3Reader
{
    public static async Task<GridDataset?> TryOpenAsync(IStorage storage, string path, GridDatasetOptions options, CancellationToken cancellationToken)
    {
        string key = StorageExtensions.Join(path, "zarr.json");
        byte[]? bytes = await storage.ReadAllBytesAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (bytes is null)
        {
            return null;
        }

        string location = storage.Describe(key);
        JsonElement meta = ZarrJson.RequireObject(ZarrJson.Parse(bytes, location), location, "zarr.json");
        if (!meta.TryGetProperty("zarr_format", out JsonElement f) || f.ValueKind != JsonValueKind.Number || f.GetInt32() != 3)
        {
            throw new ArrayFormatException(location, "zarr_format must be 3");
        }

        string nodeType = meta.TryGetProperty("node_type", out JsonElement nt) && nt.ValueKind == JsonValueKind.String ? nt.GetString()! : "";
        if (nodeType == "array")
        {
            GridVariable v = BuildVariable(storage, path, ZarrV2Reader.ArrayNameFromPath(path), meta, options);
            return new GridDataset(storage.Describe(path), DatasetFormat.ZarrV3, new Dictionary<string, AttributeValue>(), [v]);
        }

        if (nodeType != "group")
        {
            throw new ArrayFormatException(location, $"node_type must be \"array\" or \"group\", got \"{nodeType}\"");
        }

        var attrs = ZarrJson.Attributes(meta.TryGetProperty("attributes", out JsonElement a) ? a : null);
        var variables = new List<GridVariable>();
        if (meta.TryGetProperty("consolidated_metadata", out JsonElement cm) && cm.ValueKind == JsonValueKind.Object
            && cm.TryGetProperty("metadata", out JsonElement children) && children.ValueKind == JsonValueKind.Object)
        {
            var names = new List<string>();
            foreach (JsonProperty p in children.EnumerateObject())
            {
                if (!p.Name.Contains('/', StringComparison.Ordinal) && p.Value.ValueKind == JsonValueKind.Object
                    && p.Value.TryGetProperty("node_type", out JsonElement cnt) && cnt.GetString() == "array")
                {
                    names.Add(p.Name);
                }
            }

            names.Sort(StringComparer.Ordinal);
            foreach (string name in names)
            {
                variables.Add(BuildVariable(storage, StorageExtensions.Join(path, name), name, children.GetProperty(name), options));
            }
        }
        else
        {
            await foreach (StorageEntry entry in storage.ListAsync(path, cancellationToken).ConfigureAwait(false))
            {
                if (!entry.IsPrefix)
                {
                    continue;
                }

                string childKey = StorageExtensions.Join(entry.Key, "zarr.json");
                byte[]? child = await storage.ReadAllBytesAsync(childKey, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (child is null)
                {
                    continue;
                }

                JsonElement cmeta = ZarrJson.RequireObject(ZarrJson.Parse(child, storage.Describe(childKey)), storage.Describe(childKey), "zarr.json");
                if (cmeta.TryGetProperty("node_type", out JsonElement cnt) && cnt.GetString() == "array")
                {
                    variables.Add(BuildVariable(storage, entry.Key, entry.Name, cmeta, options));
                }
            }
        }

        return new GridDataset(storage.Describe(path), DatasetFormat.ZarrV3, attrs, variables);
    }

    private static GridVariable BuildVariable(IStorage storage, string arrayPath, string name, JsonElement meta, GridDatasetOptions options)
    {
        ZarrV3Array array = ZarrV3Array.Parse(storage, arrayPath, meta, options, out string[]? dimNames);
        Dictionary<string, AttributeValue> attrs = ZarrJson.Attributes(meta.TryGetProperty("attributes", out JsonElement a) ? a : null);
        ImmutableArray<string> dims = dimNames is not null ? [.. dimNames] : GridDataset.DefaultDims(array.Shape.Length);
        if (dimNames is null && attrs.Remove("_ARRAY_DIMENSIONS", out AttributeValue dimAttr) && dimAttr.Json.ValueKind == JsonValueKind.Array && dimAttr.Json.GetArrayLength() == array.Shape.Length)
        {
            dims = [.. dimAttr.Json.EnumerateArray().Select(x => x.GetString() ?? "")];
        }

        return new GridVariable(name, dims, array, attrs, options);
    }
}
