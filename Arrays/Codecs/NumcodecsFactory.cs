using System.Text.Json;

namespace Proxima.Arrays.Codecs;

/// <summary>Builds codecs from numcodecs configurations (<c>{"id": "blosc", ...}</c>) as Zarr v2 and kerchunk write them.</summary>
internal static class NumcodecsFactory
{
    /// <summary>Creates the codec for one numcodecs config; <paramref name="itemSize"/> is the array's element size (for auto shuffle).</summary>
    public static IBytesCodec Create(JsonElement config, int itemSize, string location)
    {
        if (config.ValueKind != JsonValueKind.Object || !config.TryGetProperty("id", out JsonElement idEl) || idEl.ValueKind != JsonValueKind.String)
        {
            throw new ArrayFormatException(location, $"codec configuration must be an object with a string 'id', got {config.GetRawText()}");
        }

        string id = idEl.GetString()!;
        switch (id)
        {
            case "blosc":
                {
                    string cname = GetString(config, "cname") ?? "lz4";
                    int clevel = GetInt(config, "clevel") ?? 5;
                    int shuffle = GetInt(config, "shuffle") ?? 1;
                    if (shuffle == -1)
                    {
                        // numcodecs AUTOSHUFFLE: bit shuffle for 1-byte items, byte shuffle otherwise.
                        shuffle = itemSize == 1 ? 2 : 1;
                    }

                    return new BloscCodec(cname, clevel, shuffle, itemSize, GetInt(config, "blocksize") ?? 0);
                }

            case "zlib":
                return new DeflateFamilyCodec(gzip: false, GetInt(config, "level") ?? 1);
            case "gzip":
                return new DeflateFamilyCodec(gzip: true, GetInt(config, "level") ?? 1);
            case "zstd":
                return new ZstdCodec(GetInt(config, "level") ?? 1);
            case "lz4":
                return new Lz4Codec();
            case "shuffle":
                return new ShuffleCodec(GetInt(config, "elementsize") ?? itemSize);
            default:
                return ElementFilters.Create(id, config, location)
                    ?? throw new ArrayFormatException(location, $"unsupported codec '{id}'");
        }
    }

    internal static string? GetString(JsonElement o, string name) =>
        o.TryGetProperty(name, out JsonElement e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;

    internal static int? GetInt(JsonElement o, string name) =>
        o.TryGetProperty(name, out JsonElement e) && e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v) ? v : null;

    internal static double? GetDouble(JsonElement o, string name) =>
        o.TryGetProperty(name, out JsonElement e) && e.ValueKind == JsonValueKind.Number ? e.GetDouble() : null;
}
