using System.Globalization;
using System.Text.Json;

namespace Proxima.Arrays;

/// <summary>
/// An attribute value as JSON (the form Zarr stores it in; NetCDF attributes are converted to it).
/// Numbers keep full precision; NaN/Infinity are strings "NaN"/"Infinity"/"-Infinity" as Zarr writes them.
/// </summary>
public readonly struct AttributeValue : IEquatable<AttributeValue>
{
    public AttributeValue(JsonElement json)
    {
        Json = json;
    }

    /// <summary>The raw JSON element.</summary>
    public JsonElement Json { get; }

    /// <summary>Builds a value from a CLR object (string, number, array of numbers...).</summary>
    public static AttributeValue From(object? value) => new(JsonSerializer.SerializeToElement(value));

    /// <summary>The value as a string: strings as-is, everything else as JSON text.</summary>
    public string AsString() => Json.ValueKind == JsonValueKind.String ? Json.GetString()! : Json.GetRawText();

    /// <summary>The first number (a scalar, or the first element of an array); null when not numeric.</summary>
    public double? AsDouble()
    {
        JsonElement e = Json;
        if (e.ValueKind == JsonValueKind.Array)
        {
            if (e.GetArrayLength() == 0)
            {
                return null;
            }

            e = e[0];
        }

        return ToDouble(e);
    }

    /// <summary>All numbers (a scalar gives one); null when not numeric.</summary>
    public double[]? AsDoubleArray()
    {
        if (Json.ValueKind == JsonValueKind.Array)
        {
            var result = new double[Json.GetArrayLength()];
            int i = 0;
            foreach (JsonElement e in Json.EnumerateArray())
            {
                double? d = ToDouble(e);
                if (d is null)
                {
                    return null;
                }

                result[i++] = d.Value;
            }

            return result;
        }

        return AsDouble() is double v ? [v] : null;
    }

    /// <summary>True when the value is a JSON number with a fractional part or exponent (a float attribute).</summary>
    public bool IsFloatNumber
    {
        get
        {
            JsonElement e = Json.ValueKind == JsonValueKind.Array && Json.GetArrayLength() > 0 ? Json[0] : Json;
            if (e.ValueKind == JsonValueKind.String)
            {
                return e.GetString() is "NaN" or "Infinity" or "-Infinity";
            }

            if (e.ValueKind != JsonValueKind.Number)
            {
                return false;
            }

            string raw = e.GetRawText();
            return raw.Contains('.', StringComparison.Ordinal) || raw.Contains('e', StringComparison.Ordinal) || raw.Contains('E', StringComparison.Ordinal);
        }
    }

    private static double? ToDouble(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.True => 1,
        JsonValueKind.False => 0,
        JsonValueKind.String => e.GetString() switch
        {
            "NaN" or "nan" => double.NaN,
            "Infinity" or "inf" => double.PositiveInfinity,
            "-Infinity" or "-inf" => double.NegativeInfinity,
            string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d,
            _ => null,
        },
        _ => null,
    };

    public override string ToString() => AsString();

    public bool Equals(AttributeValue other) => Json.GetRawText() == other.Json.GetRawText();

    public override bool Equals(object? obj) => obj is AttributeValue a && Equals(a);

    public override int GetHashCode() => Json.GetRawText().GetHashCode(StringComparison.Ordinal);

    public static bool operator ==(AttributeValue left, AttributeValue right) => left.Equals(right);

    public static bool operator !=(AttributeValue left, AttributeValue right) => !left.Equals(right);
}
