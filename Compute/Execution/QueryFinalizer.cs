using Proxima.Compute.Planning;
using Proxima.Compute.Query;

namespace Proxima.Compute.Execution;

/// <summary>Turns a merged <see cref="PartialResult"/> into a <see cref="QueryResult"/>: ops, transform, units.</summary>
/// <remarks>
/// xarray semantics (skipna): over no valid value, mean/std/var/min/max are NaN, sum is 0 and count is 0.
/// <c>resample</c> bins without any time step between the first and last bin are filled with NaN for every op
/// (count and sum included), as xarray does. <c>transform</c> is applied in float64: mean·s+o, sum·s+o·count,
/// var·s², std·|s|, min/max (swapped when s &lt; 0); values x·s+o.
/// </remarks>
public static class QueryFinalizer
{
    /// <summary>Finalizes one dataset's merged partial.</summary>
    public static QueryResult Finalize(PartialResult merged, QuerySpec spec, bool partial = false, IReadOnlyList<string>? missing = null)
    {
        ArgumentNullException.ThrowIfNull(merged);
        ArgumentNullException.ThrowIfNull(spec);
        var scale = spec.Transform?.Scale ?? 1.0;
        var offset = spec.Transform?.Offset ?? 0.0;
        var n = (int)merged.CellCount;
        var data = new List<KeyValuePair<string, double[]>>();
        if (merged.Kind == PartialKind.Values)
        {
            var v = new double[n];
            var src = merged.Values!;
            for (var i = 0; i < n; i++)
            {
                v[i] = (src[i] * scale) + offset;
            }

            data.Add(new("values", v));
        }
        else
        {
            var ops = spec.Reduce?.Ops ?? [ReduceOp.Mean];
            foreach (var op in ops)
            {
                data.Add(new(QuerySpecWriter.OpName(op), Compute(merged, op, scale, offset, n)));
            }
        }

        var attrs = new Dictionary<string, string>(merged.Attrs);
        if (spec.Transform?.Units is { } units)
        {
            attrs["units"] = units;
        }

        var result = new QueryResult
        {
            Dataset = merged.Dataset,
            Variable = merged.Variable,
            Dims = merged.Dims,
            Shape = merged.Shape,
            Coords = merged.Coords,
            PointCoords = merged.PointCoords,
            Data = data,
            Attrs = attrs,
            Partial = partial,
            Missing = missing is null ? [] : [.. missing],
        };
        return merged.Grouping is "1D" or "1MS" or "1YS" ? FillResampleGaps(result, merged.Grouping) : result;
    }

    private static double[] Compute(PartialResult p, ReduceOp op, double s, double o, int n)
    {
        var r = new double[n];
        for (var i = 0; i < n; i++)
        {
            double c = p.Count![i];
            var empty = c == 0;
            r[i] = op switch
            {
                ReduceOp.Count => c,
                ReduceOp.Sum => empty ? 0.0 : (p.Sum![i] * s) + (o * c),
                ReduceOp.Mean => empty ? double.NaN : (p.Sum![i] / c * s) + o,
                ReduceOp.Var => empty ? double.NaN : p.M2![i] / c * (s * s),
                ReduceOp.Std => empty ? double.NaN : Math.Sqrt(p.M2![i] / c) * Math.Abs(s),
                ReduceOp.Min => empty ? double.NaN : ((s >= 0 ? p.Min![i] : p.Max![i]) * s) + o,
                _ => empty ? double.NaN : ((s >= 0 ? p.Max![i] : p.Min![i]) * s) + o,
            };
        }

        return r;
    }

    /// <summary>Inserts NaN bins for resample periods between the first and last bin that had no time step.</summary>
    private static QueryResult FillResampleGaps(QueryResult r, string grouping)
    {
        var j = Array.IndexOf(r.Dims, "time");
        if (j < 0 || r.Coords[j].Length < 2)
        {
            return r;
        }

        var cal = CfCalendars.Parse(r.Attrs.GetValueOrDefault("calendar"));
        var have = r.Coords[j].Keys;
        var keys = new List<double>();
        var dates = new List<CalendarDate>();
        var d = QueryPlanner.FromSortKey(have[0]);
        var last = have[^1];
        while (d.SortKey <= last)
        {
            keys.Add(d.SortKey);
            dates.Add(d);
            d = grouping switch
            {
                "1D" => CfCalendars.NextDay(cal, d),
                "1MS" => d.Month < 12 ? new CalendarDate(d.Year, d.Month + 1, 1, 0, 0, 0, 0) : new CalendarDate(d.Year + 1, 1, 1, 0, 0, 0, 0),
                _ => new CalendarDate(d.Year + 1, 1, 1, 0, 0, 0, 0),
            };
        }

        if (keys.Count == have.Length)
        {
            return r;
        }

        var full = new ResultCoordinate { Name = "time", Keys = [.. keys], Labels = [.. dates.ConvertAll(static x => x.ToIso())] };
        var map = new int[r.Dims.Length][];
        var shape = (int[])r.Shape.Clone();
        shape[j] = keys.Count;
        for (var k = 0; k < map.Length; k++)
        {
            map[k] = new int[r.Shape[k]];
            for (var i = 0; i < map[k].Length; i++)
            {
                map[k][i] = k == j ? keys.BinarySearch(have[i]) : i;
            }
        }

        long cells = 1;
        foreach (var s in shape)
        {
            cells *= s;
        }

        var data = new List<KeyValuePair<string, double[]>>();
        foreach (var kv in r.Data)
        {
            var dst = new double[cells];
            Array.Fill(dst, double.NaN);
            var src = kv.Value;
            PartialMerge.ForEachCell(r.Shape, map, shape, (a, b) => dst[b] = src[a]);
            data.Add(new(kv.Key, dst));
        }

        var coords = (ResultCoordinate[])r.Coords.Clone();
        coords[j] = full;
        return r with { Shape = shape, Coords = coords, Data = data };
    }
}
