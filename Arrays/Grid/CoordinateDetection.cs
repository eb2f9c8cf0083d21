using Proxima.Arrays.Cf;

namespace Proxima.Arrays.Grid;

/// <summary>CF coordinate recognition (CF conventions §4: units, standard_name, axis, then common names).</summary>
internal static class CoordinateDetection
{
    public static CoordinateRole Detect(string name, IReadOnlyDictionary<string, AttributeValue> attributes, int rank)
    {
        string? Get(string key) => attributes.TryGetValue(key, out AttributeValue v) ? v.AsString().Trim() : null;

        string? standardName = Get("standard_name")?.ToLowerInvariant();
        string? axis = Get("axis")?.ToUpperInvariant();
        string? units = Get("units");
        string lower = name.ToLowerInvariant();

        if (standardName is "time" || axis == "T" || (CfTimeUnits.IsTimeUnits(units) && rank <= 1 && lower is "time" or "t" or "valid_time" or "date" or "times"))
        {
            return CoordinateRole.Time;
        }

        if (standardName is "latitude" or "grid_latitude" || axis == "Y" && standardName is not "projection_y_coordinate" || IsLatUnits(units))
        {
            return CoordinateRole.Latitude;
        }

        if (standardName is "longitude" or "grid_longitude" || axis == "X" && standardName is not "projection_x_coordinate" || IsLonUnits(units))
        {
            return CoordinateRole.Longitude;
        }

        if (axis == "Z" || attributes.ContainsKey("positive") || standardName is "air_pressure" or "altitude" or "height" or "depth"
            or "model_level_number" or "atmosphere_hybrid_sigma_pressure_coordinate" or "atmosphere_sigma_coordinate" or "atmosphere_ln_pressure_coordinate")
        {
            return rank <= 1 ? CoordinateRole.Level : CoordinateRole.None;
        }

        if (rank <= 1)
        {
            if (CfTimeUnits.IsTimeUnits(units))
            {
                return CoordinateRole.Time;
            }

            switch (lower)
            {
                case "time":
                case "valid_time":
                    return CoordinateRole.Time;
                case "lat":
                case "latitude":
                case "nav_lat":
                    return CoordinateRole.Latitude;
                case "lon":
                case "longitude":
                case "nav_lon":
                    return CoordinateRole.Longitude;
                case "level":
                case "lev":
                case "plev":
                case "pressure":
                case "pressure_level":
                case "isobaricinhpa":
                case "height":
                case "depth":
                case "z":
                    return CoordinateRole.Level;
            }
        }

        return CoordinateRole.None;
    }

    private static bool IsLatUnits(string? units) =>
        units is "degrees_north" or "degree_north" or "degree_N" or "degrees_N" or "degreeN" or "degreesN";

    private static bool IsLonUnits(string? units) =>
        units is "degrees_east" or "degree_east" or "degree_E" or "degrees_E" or "degreeE" or "degreesE";
}
