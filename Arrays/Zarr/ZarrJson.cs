using System.Text.Json;

namespace Proxima.Arrays.Zarr;

/// <summary>Strict JSON helpers for Zarr metadata, throwing <see cref="ArrayFormatException"/> with the location.</summary>
internal static class ZarrJson
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64, AllowTrailingCommas = false };

    public static JsonElement Parse(byte[] bytes, string location)
    {
        try
        {
            // Zarr v2 writes NaN/Infinity as bare tokens in attributes (Python's json); make them strings.
            using JsonDocument doc = JsonDocument.Parse(SanitizeNonFinite(bytes), DocumentOptions);
            return doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            throw new ArrayFormatException(location, "invalid JSON: " + e.Message, e);
        }
    }

    /// <summary>Replaces bare NaN / Infinity / -Infinity tokens (outside strings) with quoted strings.</summary>
    private static ReadOnlyMemory<byte> SanitizeNonFinite(byte[] bytes)
    {
        ReadOnlySpan<byte> s = bytes;
        if (s.IndexOf("NaN"u8) < 0 && s.IndexOf("Infinity"u8) < 0)
        {
            return bytes;
        }

        var output = new List<byte>(bytes.Length + 16);
        bool inString = false;
        for (int i = 0; i < s.Length; i++)
        {
            byte c = s[i];
            if (inString)
            {
                output.Add(c);
                if (c == (byte)'\\' && i + 1 < s.Length)
                {
                    output.Add(s[++i]);
                }
                else if (c == (byte)'"')
                {
                    inString = false;
                }

                continue;
            }

            if (c == (byte)'"')
            {
                inString = true;
                output.Add(c);
                continue;
            }

            if (s[i..].StartsWith("NaN"u8))
            {
                output.AddRange("\"NaN\""u8.ToArray());
                i += 2;
            }
            else if (s[i..].StartsWith("-Infinity"u8))
            {
                output.AddRange("\"-Infinity\""u8.ToArray());
                i += 8;
            }
            else if (s[i..].StartsWith("Infinity"u8))
            {
                output.AddRange("\"Infinity\""u8.ToArray());
                i += 7;
            }
            else
            {
                output.Add(c);
            }
        }

        return output.ToArray();
    }

    public static JsonElement RequireObject(JsonElement e, string location, string what)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            throw new ArrayFormatException(location, $"{what} must be a JSON object");
        }

        return e;
    }

    public static long[] LongArray(JsonElement parent, string name, string location, bool required = true)
    {
        if (!parent.TryGetProperty(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null)
        {
            if (required)
            {
                throw new ArrayFormatException(location, $"missing '{name}'");
            }

            return [];
        }

        if (e.ValueKind != JsonValueKind.Array)
        {
            throw new ArrayFormatException(location, $"'{name}' must be an array of integers");
        }

        if (e.GetArrayLength() > 32)
        {
            throw new ArrayFormatException(location, $"'{name}' has {e.GetArrayLength()} dimensions (limit 32)");
        }

        var result = new long[e.GetArrayLength()];
        int i = 0;
        foreach (JsonElement x in e.EnumerateArray())
        {
            if (x.ValueKind != JsonValueKind.Number || !x.TryGetInt64(out long v) || v < 0)
            {
                throw new ArrayFormatException(location, $"'{name}' must hold non-negative integers, got {x.GetRawText()}");
            }

            result[i++] = v;
        }

        return result;
    }

    public static int[] ChunkArray(JsonElement parent, string name, string location, int rank)
    {
        long[] values = LongArray(parent, name, location);
        if (values.Length != rank)
        {
            throw new ArrayFormatException(location, $"'{name}' has {values.Length} dimensions, shape has {rank}");
        }

        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            if (values[i] is <= 0 or > int.MaxValue)
            {
                throw new ArrayFormatException(location, $"'{name}' lengths must be in 1..{int.MaxValue}, got {values[i]}");
            }

            result[i] = (int)values[i];
        }

        return result;
    }

    public static Dictionary<string, AttributeValue> Attributes(JsonElement? e)
    {
        var result = new Dictionary<string, AttributeValue>(StringComparer.Ordinal);
        if (e is JsonElement o && o.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty p in o.EnumerateObject())
            {
                result[p.Name] = new AttributeValue(p.Value.Clone());
            }
        }

        return result;
    }

    /// <summary>Parses a fill value: number, "NaN"/"Infinity"/"-Infinity", bool, null; base64 for raw bytes of <paramref name="type"/>.</summary>
    public static double? FillValue(JsonElement e, DataType type, bool bigEndian, string location)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Null:
            case JsonValueKind.Undefined:
                return null;
            case JsonValueKind.True:
                return 1;
            case JsonValueKind.False:
                return 0;
            case JsonValueKind.Number:
                if (type is DataType.Int64 or DataType.UInt64 && e.TryGetInt64(out long l))
                {
                    return l;
                }

                return e.GetDouble();
            case JsonValueKind.String:
                {
                    string s = e.GetString()!;
                    switch (s)
                    {
                        case "NaN":
                            return double.NaN;
                        case "Infinity":
                            return double.PositiveInfinity;
                        case "-Infinity":
                            return double.NegativeInfinity;
                    }

                    if (s.StartsWith("0x", StringComparison.Ordinal) && type.IsFloat())
                    {
                        // Zarr v3 hex bit pattern of a float.
                        ulong bits = Convert.ToUInt64(s[2..], 16);
                        return type == DataType.Float32 ? BitConverter.Int32BitsToSingle((int)bits) : type == DataType.Float16 ? (double)BitConverter.Int16BitsToHalf((short)bits) : BitConverter.Int64BitsToDouble((long)bits);
                    }

                    try
                    {
                        byte[] raw = Convert.FromBase64String(s);
                        if (raw.Length != type.Size() || type == DataType.Unsupported)
                        {
                            return null;
                        }

                        if (bigEndian)
                        {
                            Array.Reverse(raw);
                        }

                        return type switch
                        {
                            DataType.Bool or DataType.UInt8 => raw[0],
                            DataType.Int8 => (sbyte)raw[0],
                            DataType.Int16 => BitConverter.ToInt16(raw),
                            DataType.UInt16 => BitConverter.ToUInt16(raw),
                            DataType.Int32 => BitConverter.ToInt32(raw),
                            DataType.UInt32 => BitConverter.ToUInt32(raw),
                            DataType.Int64 => BitConverter.ToInt64(raw),
                            DataType.UInt64 => BitConverter.ToUInt64(raw),
                            DataType.Float16 => (double)BitConverter.ToHalf(raw),
                            DataType.Float32 => BitConverter.ToSingle(raw),
                            _ => BitConverter.ToDouble(raw),
                        };
                    }
                    catch (FormatException)
                    {
                        throw new ArrayFormatException(location, $"fill_value '{s}' is neither a number, NaN/Infinity nor base64");
                    }
                }

            default:
                throw new ArrayFormatException(location, $"unsupported fill_value {e.GetRawText()}");
        }
    }
}
