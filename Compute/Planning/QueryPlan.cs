using System.Globalization;
using Proxima.Compute.Execution;
using Proxima.Compute.Query;

namespace Proxima.Compute.Planning;

internal enum DimRole
{
    Kept,
    Reduced,
    Grouped,
}

/// <summary>The selected positions of one logical dim that fall in one chunk along its source dim(s).</summary>
internal sealed class ChunkGroup
{
    /// <summary>Chunk index along each source dim of the logical dim (1 entry, or lat and lon for points).</summary>
    public required int[] ChunkCoord { get; init; }

    /// <summary>Element offset inside the chunk buffer contributed by each entry.</summary>
    public required int[] SrcOffsets { get; init; }

    /// <summary>Logical position of each entry (index into the selection).</summary>
    public required int[] Positions { get; init; }
}

/// <summary>One dim of the selection as the result sees it (a source dim, or <c>point</c> spanning lat and lon).</summary>
internal sealed class LogicalDim
{
    public required string Name { get; init; }

    public required int[] SourceDims { get; init; }

    /// <summary>[source dim k][logical position] → index along that source dim.</summary>
    public required int[][] SourceIndex { get; init; }

    public required ResultCoordinate Coord { get; init; }

    public CalendarDate[]? Times { get; init; }

    public DimRole Role { get; set; }

    /// <summary>Output position of each logical position (identity when kept, group when grouped).</summary>
    public int[] OutPos { get; set; } = [];

    /// <summary>Output coordinate (grouped: the groups).</summary>
    public ResultCoordinate OutCoord { get; set; } = null!;

    public ChunkGroup[] Groups { get; set; } = [];

    public int Length => SourceIndex[0].Length;
}

/// <summary>
/// A query planned against one dataset variable: which chunks it touches (an ordered list a router can split into
/// <see cref="ChunkRange"/>s) and how selected cells map to output cells. Create with <c>QueryExecutor.Plan</c>.
/// </summary>
public sealed class QueryPlan
{
    internal QueryPlan(IGridSource source, string dataset, QuerySpec spec, LogicalDim[] dims, CalendarKind calendar)
    {
        Source = source;
        Dataset = dataset;
        Spec = spec;
        LogicalDims = dims;
        Calendar = calendar;
        long n = 1;
        foreach (var d in dims)
        {
            n *= d.Groups.Length;
        }

        if (n > int.MaxValue)
        {
            throw new QueryValidationException("limit_exceeded", "The query touches more than 2^31 chunks.", "select");
        }

        ChunkCount = (int)n;
        var outDims = new List<string>();
        var outShape = new List<int>();
        foreach (var d in dims)
        {
            if (d.Role != DimRole.Reduced)
            {
                outDims.Add(d.OutCoord.Name);
                outShape.Add(d.OutCoord.Length);
            }
        }

        Dims = [.. outDims];
        Shape = [.. outShape];
    }

    /// <summary>Number of chunks the query reads (ordinals 0..ChunkCount-1).</summary>
    public int ChunkCount { get; }

    /// <summary>Output dims and shape of the full answer.</summary>
    public IReadOnlyList<string> Dims { get; }

    public IReadOnlyList<int> Shape { get; }

    public string Dataset { get; }

    public QuerySpec Spec { get; }

    internal IGridSource Source { get; }

    internal LogicalDim[] LogicalDims { get; }

    internal CalendarKind Calendar { get; }

    internal ResultCoordinate[] PointCoords { get; init; } = [];

    internal string? Grouping { get; init; }

    internal bool IsReduce => Spec.Reduce is not null;

    /// <summary>Group index per logical dim for chunk ordinal <paramref name="ordinal"/> (mixed radix, last dim fastest).</summary>
    internal void GroupsOf(int ordinal, Span<int> groupIndex)
    {
        for (var j = LogicalDims.Length - 1; j >= 0; j--)
        {
            var n = LogicalDims[j].Groups.Length;
            groupIndex[j] = ordinal % n;
            ordinal /= n;
        }
    }

    /// <summary>Chunk index per source dim for a set of groups.</summary>
    internal int[] ChunkIndexOf(ReadOnlySpan<int> groupIndex)
    {
        var idx = new int[Source.Dims.Count];
        for (var j = 0; j < LogicalDims.Length; j++)
        {
            var d = LogicalDims[j];
            var g = d.Groups[groupIndex[j]];
            for (var k = 0; k < d.SourceDims.Length; k++)
            {
                idx[d.SourceDims[k]] = g.ChunkCoord[k];
            }
        }

        return idx;
    }
}

/// <summary>Builds a <see cref="QueryPlan"/>: resolves names, selects coordinates, maps groups and chunks.</summary>
internal static class QueryPlanner
{
    /// <summary>
    /// Sort keys and ISO labels of a whole time axis, made once per decoded axis (sources keep theirs for the
    /// opened variable): a 10-year hourly axis is 88k labels, most of a point query's planning otherwise.
    /// </summary>
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<CalendarDate[], Tuple<double[], string[]>> TimeLabelCache = new();

    private static readonly string[][] Aliases =
    [
        ["lat", "latitude", "y", "rlat", "nav_lat"],
        ["lon", "longitude", "x", "rlon", "nav_lon"],
        ["level", "lev", "plev", "pressure_level", "isobaricInhPa", "height", "depth"],
        ["time", "t", "valid_time"],
    ];

    public static QueryPlan Plan(IGridSource src, string dataset, QuerySpec spec)
    {
        var nd = src.Dims.Count;
        var latDim = FindRole(src, "lat");
        var lonDim = FindRole(src, "lon");
        var timeDim = FindRole(src, "time");

        // 1. Per source dim: selected indices (in output order) and output coordinate.
        var indices = new int[nd][];
        var coords = new ResultCoordinate[nd];
        var times = new CalendarDate[nd][];
        var calendar = CalendarKind.Standard;
        var explicitSel = new bool[nd];
        for (var d = 0; d < nd; d++)
        {
            times[d] = src.GetTimes(d, out var cal) ?? [];
            if (src.GetTimes(d, out _) is not null)
            {
                calendar = cal;
            }
        }

        foreach (var sel in spec.Select)
        {
            var field = "select." + sel.Dim;
            var d = Resolve(src, sel.Dim, field);
            if (explicitSel[d])
            {
                throw new QueryValidationException("invalid_value", $"Dimension '{src.Dims[d]}' is selected twice.", field);
            }

            explicitSel[d] = true;
            // A range matching nothing is a size-0 dim, as xarray's .sel(slice) gives (the plan then has no chunks).
            (indices[d], coords[d]) = SelectDim(src, d, sel, d == lonDim, times[d], field);
        }

        for (var d = 0; d < nd; d++)
        {
            if (indices[d] is null)
            {
                indices[d] = Identity(src.Shape[d]);
                coords[d] = MakeCoord(src, d, indices[d], null, times[d]);
            }
        }

        // 2. Logical dims: points fold lat and lon into one 'point' dim in front.
        var logical = new List<LogicalDim>();
        ResultCoordinate[] pointCoords = [];
        string? grouping = null;
        if (spec.Points.Count > 0)
        {
            if (latDim < 0 || lonDim < 0)
            {
                throw new QueryValidationException("unknown_dimension", $"'points' needs lat and lon dimensions; dataset '{dataset}' has {string.Join(", ", src.Dims)}.", "points");
            }

            var latC = src.GetCoordinate(latDim) ?? Iota(src.Shape[latDim]);
            var lonC = src.GetCoordinate(lonDim) ?? Iota(src.Shape[lonDim]);
            var np = spec.Points.Count;
            var li = new int[np];
            var lo = new int[np];
            var keys = new double[np];
            var names = new string[np];
            var plat = new double[np];
            var plon = new double[np];
            for (var p = 0; p < np; p++)
            {
                li[p] = CoordinateSelection.Nearest(latC, spec.Points[p].Lat, longitude: false);
                lo[p] = CoordinateSelection.Nearest(lonC, spec.Points[p].Lon, longitude: true);
                keys[p] = p;
                names[p] = spec.Points[p].Name ?? "p" + p.ToString(CultureInfo.InvariantCulture);
                plat[p] = latC[li[p]];
                plon[p] = lonC[lo[p]];
            }

            logical.Add(new LogicalDim
            {
                Name = "point",
                SourceDims = [latDim, lonDim],
                SourceIndex = [li, lo],
                Coord = new ResultCoordinate { Name = "point", Keys = keys, Labels = names },
            });
            pointCoords =
            [
                new ResultCoordinate { Name = src.Dims[latDim], Keys = keys, Values = plat },
                new ResultCoordinate { Name = src.Dims[lonDim], Keys = [.. keys], Values = plon },
            ];
        }

        for (var d = 0; d < nd; d++)
        {
            if (spec.Points.Count > 0 && (d == latDim || d == lonDim))
            {
                continue;
            }

            logical.Add(new LogicalDim
            {
                Name = src.Dims[d],
                SourceDims = [d],
                SourceIndex = [indices[d]],
                Coord = coords[d],
                Times = times[d].Length > 0 ? Gather(times[d], indices[d]) : null,
            });
        }

        // 3. Roles: reduced dims, grouped time.
        var dims = logical.ToArray();
        if (spec.Reduce is { } reduce)
        {
            for (var k = 0; k < reduce.Dims.Count; k++)
            {
                var field = $"reduce.dims[{k}]";
                var name = reduce.Dims[k];
                var j = FindLogical(dims, src, name, field);
                dims[j].Role = DimRole.Reduced;
            }

            if (reduce.GroupBy != TimeGrouping.None || reduce.Resample != ResampleFrequency.None)
            {
                var j = FindLogical(dims, src, "time", "reduce.dims");
                if (dims[j].Times is null)
                {
                    throw new QueryValidationException("invalid_value", $"groupby/resample needs a CF time coordinate; '{dims[j].Name}' has none.", reduce.GroupBy != TimeGrouping.None ? "reduce.groupby" : "reduce.resample");
                }

                dims[j].Role = DimRole.Grouped;
                grouping = BuildGroups(dims[j], reduce, calendar);
            }
        }

        foreach (var d in dims)
        {
            if (d.Role == DimRole.Kept)
            {
                d.OutPos = Identity(d.Length);
                d.OutCoord = d.Coord;
            }
        }

        // 4. Chunk groups.
        var chunkStrides = new int[nd];
        var stride = 1;
        for (var d = nd - 1; d >= 0; d--)
        {
            chunkStrides[d] = stride;
            stride *= src.ChunkShape[d];
        }

        foreach (var d in dims)
        {
            d.Groups = BuildChunkGroups(d, src.ChunkShape, chunkStrides);
        }

        return new QueryPlan(src, dataset, spec, dims, calendar) { PointCoords = pointCoords, Grouping = grouping };
    }

    private static ChunkGroup[] BuildChunkGroups(LogicalDim d, IReadOnlyList<int> chunkShape, int[] chunkStrides)
    {
        var byKey = new Dictionary<long, (int[] Coord, List<int> Off, List<int> Pos)>();
        var order = new List<long>();

        // Consecutive positions mostly fall in the same chunk (a time axis walks its chunks in order): the last group
        // is kept at hand, so the dictionary is asked once per run rather than once per position (88k for 10 years hourly).
        var lastKey = long.MinValue;
        (int[] Coord, List<int> Off, List<int> Pos) last = default;
        for (var p = 0; p < d.Length; p++)
        {
            long key = 0;
            var off = 0;
            for (var k = 0; k < d.SourceDims.Length; k++)
            {
                var sd = d.SourceDims[k];
                var idx = d.SourceIndex[k][p];
                off += (idx % chunkShape[sd]) * chunkStrides[sd];
                key = (key * 1_000_003) + (idx / chunkShape[sd]);
            }

            if (key == lastKey)
            {
                last.Off!.Add(off);
                last.Pos!.Add(p);
                continue;
            }

            if (!byKey.TryGetValue(key, out var g))
            {
                var coord = new int[d.SourceDims.Length];
                for (var k = 0; k < coord.Length; k++)
                {
                    coord[k] = d.SourceIndex[k][p] / chunkShape[d.SourceDims[k]];
                }

                // Room for every position the chunk can hold along the dim (a time chunk's 8760 steps), at most the dim's.
                long room = 1;
                foreach (var sd in d.SourceDims)
                {
                    room *= chunkShape[sd];
                }

                var capacity = (int)Math.Min(room, d.Length);
                g = (coord, new List<int>(capacity), new List<int>(capacity));
                byKey[key] = g;
                order.Add(key);
            }

            g.Off.Add(off);
            g.Pos.Add(p);
            lastKey = key;
            last = g;
        }

        // Chunks in storage order along the dim, so work ranges are contiguous slabs of storage.
        var groups = new ChunkGroup[order.Count];
        for (var i = 0; i < order.Count; i++)
        {
            var g = byKey[order[i]];
            groups[i] = new ChunkGroup { ChunkCoord = g.Coord, SrcOffsets = [.. g.Off], Positions = [.. g.Pos] };
        }

        Array.Sort(groups, static (a, b) =>
        {
            for (var k = 0; k < a.ChunkCoord.Length; k++)
            {
                var c = a.ChunkCoord[k].CompareTo(b.ChunkCoord[k]);
                if (c != 0)
                {
                    return c;
                }
            }

            return 0;
        });
        return groups;
    }

    private static string BuildGroups(LogicalDim d, ReduceSpec reduce, CalendarKind cal)
    {
        var t = d.Times!;
        var keyOf = new double[t.Length];
        for (var i = 0; i < t.Length; i++)
        {
            keyOf[i] = GroupKey(t[i], reduce, cal);
        }

        var unique = new SortedSet<double>(keyOf);
        var keys = new double[unique.Count];
        unique.CopyTo(keys);
        var outPos = new int[t.Length];
        for (var i = 0; i < t.Length; i++)
        {
            outPos[i] = Array.BinarySearch(keys, keyOf[i]);
        }

        d.OutPos = outPos;
        string name;
        double[]? values = null;
        string[]? labels = null;
        string grouping;
        if (reduce.Resample != ResampleFrequency.None)
        {
            name = d.Name;
            grouping = QuerySpecWriter.ResampleName(reduce.Resample);
            labels = new string[keys.Length];
            for (var g = 0; g < keys.Length; g++)
            {
                labels[g] = FromSortKey(keys[g]).ToIso();
            }
        }
        else
        {
            grouping = QuerySpecWriter.GroupByName(reduce.GroupBy);
            name = reduce.GroupBy switch
            {
                TimeGrouping.Month => "month",
                TimeGrouping.Season => "season",
                TimeGrouping.Year => "year",
                TimeGrouping.DayOfYear => "dayofyear",
                _ => "hour",
            };
            if (reduce.GroupBy == TimeGrouping.Season)
            {
                labels = new string[keys.Length];
                for (var g = 0; g < keys.Length; g++)
                {
                    labels[g] = CfCalendars.SeasonLabels[(int)keys[g]];
                }
            }
            else
            {
                values = keys;
            }
        }

        d.OutCoord = new ResultCoordinate { Name = name, Keys = [.. keys], Values = values, Labels = labels };
        return grouping;
    }

    internal static double GroupKey(CalendarDate t, ReduceSpec reduce, CalendarKind cal)
    {
        return reduce.Resample switch
        {
            ResampleFrequency.Day => t.Truncate(DateResolution.Day).SortKey,
            ResampleFrequency.MonthStart => t.Truncate(DateResolution.Month).SortKey,
            ResampleFrequency.YearStart => t.Truncate(DateResolution.Year).SortKey,
            _ => reduce.GroupBy switch
            {
                TimeGrouping.Month => t.Month,
                TimeGrouping.Season => CfCalendars.SeasonOrder(t.Month),
                TimeGrouping.Year => t.Year,
                TimeGrouping.DayOfYear => CfCalendars.DayOfYear(cal, t),
                _ => t.Hour,
            },
        };
    }

    /// <summary>Inverse of <see cref="CalendarDate.SortKey"/> (whole seconds).</summary>
    internal static CalendarDate FromSortKey(double key)
    {
        var k = (long)key;
        var second = (int)(k % 60);
        k /= 60;
        var minute = (int)(k % 60);
        k /= 60;
        var hour = (int)(k % 24);
        k /= 24;
        var day = (int)(k % 32);
        k /= 32;
        var month = (int)(k % 13);
        k /= 13;
        return new CalendarDate((int)k, month, day, hour, minute, second, 0);
    }

    private static (int[] Indices, ResultCoordinate Coord) SelectDim(IGridSource src, int d, DimensionSelection sel, bool isLon, CalendarDate[] times, string field)
    {
        if (times.Length > 0)
        {
            int[] idx;
            if (sel.IsRange)
            {
                idx = CoordinateSelection.TimeRange(times, sel.Start, sel.Stop);
            }
            else
            {
                var list = new List<int>();
                for (var k = 0; k < sel.Values!.Count; k++)
                {
                    var v = sel.Values[k];
                    if (!v.IsText || !CalendarDate.TryParseIso(v.Text!, out var date, out _))
                    {
                        throw new QueryValidationException("invalid_type", $"'{field}[{k}]' must be an ISO-8601 time.", $"{field}[{k}]");
                    }

                    var found = Array.IndexOf(times, date);
                    if (found < 0)
                    {
                        throw new QueryValidationException("invalid_value", $"Time {v.Text} is not on the time axis.", $"{field}[{k}]");
                    }

                    list.Add(found);
                }

                idx = [.. list];
            }

            return (idx, MakeCoord(src, d, idx, null, times));
        }

        var coord = src.GetCoordinate(d) ?? Iota(src.Shape[d]);
        if (sel.IsRange)
        {
            if (sel.Start is { IsText: true } || sel.Stop is { IsText: true })
            {
                throw new QueryValidationException("invalid_type", $"'{field}' must be numbers: '{src.Dims[d]}' is not a time coordinate.", field);
            }

            if (isLon && sel.Start is { } w && sel.Stop is { } e)
            {
                var lonIdx = CoordinateSelection.LongitudeRange(coord, w.Number, e.Number, out var outCoord);
                return (lonIdx, MakeCoord(src, d, lonIdx, outCoord, []));
            }

            var lo = sel.Start?.Number ?? double.NaN;
            var hi = sel.Stop?.Number ?? double.NaN;
            var idx = CoordinateSelection.Range(coord, lo, hi);
            return (idx, MakeCoord(src, d, idx, null, []));
        }

        var values = new List<double>(sel.Values!.Count);
        for (var k = 0; k < sel.Values.Count; k++)
        {
            if (sel.Values[k].IsText)
            {
                throw new QueryValidationException("invalid_type", $"'{field}[{k}]' must be a number.", $"{field}[{k}]");
            }

            values.Add(sel.Values[k].Number);
        }

        var exact = CoordinateSelection.Exact(coord, values, isLon);
        for (var k = 0; k < exact.Length; k++)
        {
            if (exact[k] < 0)
            {
                throw new QueryValidationException("invalid_value", $"{values[k].ToString("R", CultureInfo.InvariantCulture)} is not a value of coordinate '{src.Dims[d]}'.", $"{field}[{k}]");
            }
        }

        return (exact, MakeCoord(src, d, exact, null, []));
    }

    private static ResultCoordinate MakeCoord(IGridSource src, int d, int[] idx, double[]? values, CalendarDate[] times)
    {
        if (times.Length > 0)
        {
            var cached = TimeLabelCache.GetValue(times, static t =>
            {
                var k = new double[t.Length];
                var l = new string[t.Length];
                for (var i = 0; i < t.Length; i++)
                {
                    k[i] = t[i].SortKey;
                    l[i] = t[i].ToIso();
                }

                return Tuple.Create(k, l);
            });
            var (allKeys, allLabels) = (cached.Item1, cached.Item2);
            if (ReferenceEquals(idx, Identity(times.Length)))
            {
                // The whole axis: the cached keys and labels themselves (plans only read them).
                return new ResultCoordinate { Name = src.Dims[d], Keys = allKeys, Labels = allLabels };
            }

            var keys = new double[idx.Length];
            var labels = new string[idx.Length];
            for (var i = 0; i < idx.Length; i++)
            {
                keys[i] = allKeys[idx[i]];
                labels[i] = allLabels[idx[i]];
            }

            return new ResultCoordinate { Name = src.Dims[d], Keys = keys, Labels = labels };
        }

        if (values is null)
        {
            var coord = src.GetCoordinate(d) ?? Iota(src.Shape[d]);
            values = new double[idx.Length];
            for (var i = 0; i < idx.Length; i++)
            {
                values[i] = coord[idx[i]];
            }
        }

        // Keys: the source index keeps storage order for split stores of one grid; lon ranges order by value.
        var valueKeys = new double[idx.Length];
        for (var i = 0; i < idx.Length; i++)
        {
            valueKeys[i] = i;
        }

        return new ResultCoordinate { Name = src.Dims[d], Keys = valueKeys, Values = values };
    }

    private static int FindLogical(LogicalDim[] dims, IGridSource src, string name, string field)
    {
        for (var j = 0; j < dims.Length; j++)
        {
            if (dims[j].Name == name)
            {
                return j;
            }
        }

        if (name != "point")
        {
            var d = Resolve(src, name, field);
            for (var j = 0; j < dims.Length; j++)
            {
                if (dims[j].SourceDims.Length == 1 && dims[j].SourceDims[0] == d)
                {
                    return j;
                }
            }

            throw new QueryValidationException("unknown_dimension", $"'{name}' is folded into 'point' by 'points'; reduce over 'point' instead.", field);
        }

        throw new QueryValidationException("unknown_dimension", "'point' exists only when 'points' are given.", field);
    }

    /// <summary>Finds a source dim by name, alias group or CF role attributes.</summary>
    internal static int Resolve(IGridSource src, string name, string field)
    {
        for (var d = 0; d < src.Dims.Count; d++)
        {
            if (src.Dims[d] == name)
            {
                return d;
            }
        }

        foreach (var group in Aliases)
        {
            if (Array.IndexOf(group, name) < 0)
            {
                continue;
            }

            for (var d = 0; d < src.Dims.Count; d++)
            {
                if (Array.IndexOf(group, src.Dims[d]) >= 0)
                {
                    return d;
                }
            }

            var role = FindRole(src, group[0]);
            if (role >= 0)
            {
                return role;
            }
        }

        throw new QueryValidationException("unknown_dimension", $"Unknown dimension '{name}'; the variable '{src.Variable}' has dims {string.Join(", ", src.Dims)}.", field);
    }

    /// <summary>The dim playing a CF role (lat, lon, time), by name or coordinate attributes, or -1.</summary>
    internal static int FindRole(IGridSource src, string role)
    {
        for (var d = 0; d < src.Dims.Count; d++)
        {
            var n = src.Dims[d];
            var a = src.GetCoordinateAttributes(d);
            a.TryGetValue("units", out var units);
            a.TryGetValue("standard_name", out var std);
            a.TryGetValue("axis", out var axis);
            var hit = role switch
            {
                "lat" => n is "lat" or "latitude" || std == "latitude" || units is "degrees_north" or "degree_north" or "degrees_N",
                "lon" => n is "lon" or "longitude" || std == "longitude" || units is "degrees_east" or "degree_east" or "degrees_E",
                "time" => n == "time" || std == "time" || axis == "T",
                _ => false,
            };
            if (hit)
            {
                return d;
            }
        }

        return -1;
    }

    private static double[] Iota(int n)
    {
        var r = new double[n];
        for (var i = 0; i < n; i++)
        {
            r[i] = i;
        }

        return r;
    }

    /// <summary>
    /// 0..n-1, one shared array per length (plans only read index arrays): a whole 10-year hourly axis is 88k
    /// entries, and every query selecting all of it would otherwise allocate, fill and collect its own. A selection
    /// that is the whole axis is recognised by reference (<see cref="Gather"/>, <see cref="MakeCoord"/>).
    /// </summary>
    private static int[] Identity(int n)
    {
        if (IdentityCache.TryGetValue(n, out var cached))
        {
            return cached;
        }

        if (IdentityCache.Count > 64)
        {
            IdentityCache.Clear();
        }

        var r = new int[n];
        for (var i = 0; i < n; i++)
        {
            r[i] = i;
        }

        return IdentityCache.GetOrAdd(n, r);
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, int[]> IdentityCache = new();

    private static CalendarDate[] Gather(CalendarDate[] all, int[] idx)
    {
        if (ReferenceEquals(idx, Identity(all.Length)))
        {
            return all;
        }

        var r = new CalendarDate[idx.Length];
        for (var i = 0; i < idx.Length; i++)
        {
            r[i] = all[idx[i]];
        }

        return r;
    }
}
