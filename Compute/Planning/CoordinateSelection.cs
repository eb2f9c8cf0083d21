using Proxima.Compute.Query;

namespace Proxima.Compute.Planning;

/// <summary>
/// Coordinate-value selection on 1-D coordinate vectors, xarray <c>.sel</c> semantics: inclusive ranges in any
/// coordinate direction (result in storage order), exact values (in request order), nearest points, and
/// longitude in either convention with ranges across the storage seam or the antimeridian (result ascending from
/// west, coordinates expressed as <c>west + ((lon - west) mod 360)</c> so they increase monotonically).
/// </summary>
internal static class CoordinateSelection
{
    /// <summary>Relative tolerance for exact-value matches (JSON decimals against float32-stored coordinates).</summary>
    private const double ExactTolerance = 1e-6;

    /// <summary>Indices with lo &lt;= coord &lt;= hi (NaN bound = open), in storage order.</summary>
    public static int[] Range(ReadOnlySpan<double> coord, double lo, double hi)
    {
        var list = new List<int>();
        for (var i = 0; i < coord.Length; i++)
        {
            var v = coord[i];
            if ((double.IsNaN(lo) || v >= lo) && (double.IsNaN(hi) || v <= hi))
            {
                list.Add(i);
            }
        }

        return [.. list];
    }

    /// <summary>Index of each value (request order), or -1 for a value not on the grid.</summary>
    public static int[] Exact(ReadOnlySpan<double> coord, IReadOnlyList<double> values, bool longitude)
    {
        var result = new int[values.Count];
        for (var k = 0; k < values.Count; k++)
        {
            var v = values[k];
            result[k] = -1;
            var tol = ExactTolerance * Math.Max(1.0, Math.Abs(v));
            for (var i = 0; i < coord.Length; i++)
            {
                var d = longitude ? LonDistance(coord[i], v) : Math.Abs(coord[i] - v);
                if (d <= tol)
                {
                    result[k] = i;
                    break;
                }
            }
        }

        return result;
    }

    /// <summary>Index of the nearest coordinate (first on ties); longitude distances wrap at 360.</summary>
    public static int Nearest(ReadOnlySpan<double> coord, double value, bool longitude)
    {
        var best = -1;
        var bestD = double.PositiveInfinity;
        for (var i = 0; i < coord.Length; i++)
        {
            var d = longitude ? LonDistance(coord[i], value) : Math.Abs(coord[i] - value);
            if (d < bestD)
            {
                bestD = d;
                best = i;
            }
        }

        return best;
    }

    /// <summary>
    /// Longitude range west..east (degrees, either convention; west &gt; east crosses the antimeridian; a span of 360
    /// selects the whole circle once). Returns indices ordered from west and the output coordinate of each.
    /// </summary>
    public static int[] LongitudeRange(ReadOnlySpan<double> coord, double west, double east, out double[] outputCoord)
    {
        var span = east - west;
        if (span < 0)
        {
            span += 360;
        }

        const double eps = 1e-9;
        var picked = new List<(double Offset, int Index)>();
        for (var i = 0; i < coord.Length; i++)
        {
            var off = Mod360(coord[i] - west);
            if (off > 360 - eps && span < 360 - eps)
            {
                off = 0; // coord == west up to rounding
            }

            if (off <= span + eps)
            {
                picked.Add((off, i));
            }
        }

        picked.Sort(static (a, b) => a.Offset != b.Offset ? a.Offset.CompareTo(b.Offset) : a.Index.CompareTo(b.Index));
        var idx = new int[picked.Count];
        outputCoord = new double[picked.Count];
        for (var k = 0; k < idx.Length; k++)
        {
            idx[k] = picked[k].Index;
            outputCoord[k] = west + picked[k].Offset;
        }

        return idx;
    }

    /// <summary>Indices whose time lies in [start, stop] at the resolution each bound was written with.</summary>
    public static int[] TimeRange(ReadOnlySpan<CalendarDate> times, CoordValue? start, CoordValue? stop)
    {
        CalendarDate a = default, b = default;
        DateResolution ra = default, rb = default;
        var hasA = start is { } s && CalendarDate.TryParseIso(s.Text!, out a, out ra);
        var hasB = stop is { } e && CalendarDate.TryParseIso(e.Text!, out b, out rb);
        var list = new List<int>();
        for (var i = 0; i < times.Length; i++)
        {
            var t = times[i];
            if ((!hasA || t.Truncate(ra) >= a) && (!hasB || t.Truncate(rb) <= b))
            {
                list.Add(i);
            }
        }

        return [.. list];
    }

    public static double Mod360(double x)
    {
        var r = x % 360.0;
        return r < 0 ? r + 360.0 : r;
    }

    private static double LonDistance(double a, double b)
    {
        var d = Mod360(a - b);
        return Math.Min(d, 360 - d);
    }
}
