using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Proxima.Arrays.Storage;

namespace Proxima.Arrays.NetCdf;

/// <summary>
/// What opening a NetCDF collection needs without opening its files: every file's fingerprint (key, size,
/// modification time) and per-variable part (varid, length along the concat dimension), the first file's
/// variables and attributes, and the aggregated time coordinates. Saved as JSON by <see cref="CollectionMetadataCache"/>.
/// </summary>
internal sealed record CollectionMetadata
{
    public const int CurrentVersion = 2;

    public int Version { get; init; } = CurrentVersion;

    /// <summary><see cref="IStorage.Describe"/> of the collection folder; a cache file for another folder is ignored.</summary>
    public required string Location { get; init; }

    public required string ConcatDim { get; init; }

    public required Dictionary<string, JsonElement> Attributes { get; init; }

    /// <summary>The first file's variables, in file order.</summary>
    public required List<CachedVariable> Variables { get; init; }

    /// <summary>Files in name order.</summary>
    public required List<CachedFile> Files { get; init; }

    /// <summary>Time coordinates along the concat dimension, re-based to the first file's units.</summary>
    public required Dictionary<string, double[]> Times { get; init; }

    /// <summary>True when the listing holds exactly the cached files with the same sizes and modification times.</summary>
    public bool Matches(List<StorageEntry> entries)
    {
        if (Version != CurrentVersion || entries.Count != Files.Count)
        {
            return false;
        }

        for (int i = 0; i < entries.Count; i++)
        {
            StorageEntry e = entries[i];
            CachedFile f = Files[i];
            if (e.Key != f.Key || e.Size != f.Size || e.LastModified is not DateTimeOffset m || m.UtcTicks != f.ModifiedTicks)
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>A variable of the first file (<paramref name="Index"/>: its chunk index in that file).</summary>
internal sealed record CachedVariable(string Name, string Group, int VarId, DataType Type, string[] Dims, long[] Shape, int[]? Chunks, Dictionary<string, JsonElement> Attributes, string? UnlimitedDim, NcChunkIndex? Index = null)
{
    public static CachedVariable From(NcVariableInfo v)
    {
        var attrs = new Dictionary<string, JsonElement>(v.Attributes.Count, StringComparer.Ordinal);
        foreach ((string name, AttributeValue value) in v.Attributes)
        {
            attrs[name] = value.Json;
        }

        return new CachedVariable(v.Name, v.GroupPath, v.VarId, v.Type, v.Dims, v.Shape, v.Chunks, attrs, v.UnlimitedDim, v.Index);
    }

    public NcVariableInfo ToInfo() => new(Group, VarId, Name, Type, Dims, Shape, Chunks, CollectionMetadataCache.ToAttributes(Attributes), UnlimitedDim, Index);
}

/// <summary>One file: fingerprint and, per variable along the concat dimension, its varid, length and chunk index in this file.</summary>
internal sealed record CachedFile(string Key, long Size, long ModifiedTicks, Dictionary<string, CachedPart> Parts);

internal sealed record CachedPart(int VarId, long Length, NcChunkIndex? Index = null);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, UseStringEnumConverter = true, RespectNullableAnnotations = true)]
[JsonSerializable(typeof(CollectionMetadata))]
internal sealed partial class CollectionMetadataJson : JsonSerializerContext
{
}

/// <summary>
/// One JSON file per collection under a cache directory (never inside the data root), named by a hash of
/// the collection's location. Written atomically (temp file + rename); an unreadable, stale or foreign
/// file is ignored and the collection is opened file by file.
/// </summary>
internal static class CollectionMetadataCache
{
    public static string PathFor(string directory, string location)
    {
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(location));
        return Path.Combine(directory, "netcdf-" + Convert.ToHexStringLower(hash.AsSpan(0, 16)) + ".json");
    }

    public static CollectionMetadata? TryLoad(string directory, string location)
    {
        string path = PathFor(directory, location);
        try
        {
            using FileStream stream = File.OpenRead(path);
            CollectionMetadata? m = JsonSerializer.Deserialize(stream, CollectionMetadataJson.Default.CollectionMetadata);
            return m is not null && m.Version == CollectionMetadata.CurrentVersion && m.Location == location && m.Files.Count > 0 ? m : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>Writes the cache file; a directory that cannot be written only costs the next open its speed.</summary>
    public static void TrySave(string directory, CollectionMetadata metadata)
    {
        string path = PathFor(directory, metadata.Location);
        string temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            Directory.CreateDirectory(directory);
            using (FileStream stream = File.Create(temp))
            {
                JsonSerializer.Serialize(stream, metadata, CollectionMetadataJson.Default.CollectionMetadata);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(temp);
            }
            catch (IOException)
            {
            }
        }
    }

    public static Dictionary<string, AttributeValue> ToAttributes(Dictionary<string, JsonElement> json)
    {
        var attrs = new Dictionary<string, AttributeValue>(json.Count, StringComparer.Ordinal);
        foreach ((string name, JsonElement value) in json)
        {
            attrs[name] = new AttributeValue(value);
        }

        return attrs;
    }
}
