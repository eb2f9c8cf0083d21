using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Proxima.Catalog;

/// <summary>
/// [west, south, east, north] in degrees. Longitudes may be in -180..180 or 0..360; <c>west &gt; east</c>
/// means the box crosses the antimeridian (STAC/GeoJSON convention). Serialized as a 4-element array.
/// </summary>
[JsonConverter(typeof(BoundingBoxJsonConverter))]
public sealed record BoundingBox
{
    public BoundingBox(double west, double south, double east, double north)
    {
        if (!double.IsFinite(west) || !double.IsFinite(south) || !double.IsFinite(east) || !double.IsFinite(north))
        {
            throw new ArgumentException("bbox values must be finite numbers");
        }

        if (south < -90 || north > 90 || south > north)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"bbox latitudes must satisfy -90 <= south <= north <= 90 (got south={south}, north={north})"));
        }

        if (west < -180 || west > 360 || east < -180 || east > 360)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"bbox longitudes must lie in -180..360 (got west={west}, east={east})"));
        }

        West = west;
        South = south;
        East = east;
        North = north;
    }

    public double West { get; }
    public double South { get; }
    public double East { get; }
    public double North { get; }

    /// <summary>Longitudinal width in degrees (0..360), accounting for antimeridian crossing.</summary>
    public double Width => West <= East ? Math.Min(360, East - West) : East - West + 360;

    /// <summary>True when the box, normalized to -180..180, is split at the antimeridian.</summary>
    public bool CrossesAntimeridian => LongitudeSegments().Count == 2;

    /// <summary>
    /// The box's longitudes normalized to -180..180 as one or two ascending [min, max] segments (two when
    /// it crosses the antimeridian). A 0..360 dataset covering 170..190 gives [170,180] and [-180,-170].
    /// </summary>
    public IReadOnlyList<(double Min, double Max)> LongitudeSegments()
    {
        double width = Width;
        if (width >= 360)
        {
            return [(-180, 180)];
        }

        double w = Wrap(West);
        double e = w + width;
        if (e <= 180)
        {
            return [(w, e)];
        }

        return [(w, 180), (-180, e - 360)];
    }

    /// <summary>True when the two boxes overlap (touching edges count), whatever their longitude conventions.</summary>
    public bool Intersects(BoundingBox other)
    {
        if (other.North < South || other.South > North)
        {
            return false;
        }

        foreach (var a in LongitudeSegments())
        {
            foreach (var b in other.LongitudeSegments())
            {
                if (a.Max >= b.Min && a.Min <= b.Max)
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Wraps a longitude into [-180, 180).</summary>
    public static double Wrap(double lon)
    {
        double x = (lon + 180) % 360;
        if (x < 0)
        {
            x += 360;
        }

        return x - 180;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"[{West},{South},{East},{North}]");
}

internal sealed class BoundingBoxJsonConverter : JsonConverter<BoundingBox>
{
    public override BoundingBox? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new JsonException("bbox must be an array [west, south, east, north]");
        }

        Span<double> v = stackalloc double[4];
        int n = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (n == 4 || reader.TokenType != JsonTokenType.Number)
            {
                throw new JsonException("bbox must be an array of 4 numbers [west, south, east, north]");
            }

            v[n++] = reader.GetDouble();
        }

        if (n != 4)
        {
            throw new JsonException("bbox must be an array of 4 numbers [west, south, east, north]");
        }

        return new BoundingBox(v[0], v[1], v[2], v[3]);
    }

    public override void Write(Utf8JsonWriter writer, BoundingBox value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        writer.WriteNumberValue(value.West);
        writer.WriteNumberValue(value.South);
        writer.WriteNumberValue(value.East);
        writer.WriteNumberValue(value.North);
        writer.WriteEndArray();
    }
}
