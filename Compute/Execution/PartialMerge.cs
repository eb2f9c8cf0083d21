namespace Proxima.Compute.Execution;

/// <summary>
/// Combines partials of the same query and dataset computed over different chunk ranges, workers or regions.
/// Coordinates are unioned per dim by key (so boxes from different ranges, and time slices from stores split
/// across regions, line up); cells present in both are merged with Chan's formula (moments) or coalesced
/// (values: a cell comes from exactly one chunk, the other side holds NaN).
/// </summary>
public static class PartialMerge
{
    /// <summary>Merges two partials; neither input is modified.</summary>
    /// <exception cref="ArgumentException">The partials belong to different queries/datasets/variables or shapes.</exception>
    public static PartialResult Merge(PartialResult a, PartialResult b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.Kind != b.Kind || a.Variable != b.Variable || a.Dataset != b.Dataset || a.Dims.Length != b.Dims.Length || a.Grouping != b.Grouping)
        {
            throw new ArgumentException($"Cannot merge partials of different results ({a.Dataset}/{a.Variable} {a.Kind} [{string.Join(",", a.Dims)}] and {b.Dataset}/{b.Variable} {b.Kind} [{string.Join(",", b.Dims)}]).");
        }

        var nd = a.Dims.Length;
        var coords = new ResultCoordinate[nd];
        var mapA = new int[nd][];
        var mapB = new int[nd][];
        var shape = new int[nd];
        for (var j = 0; j < nd; j++)
        {
            if (a.Dims[j] != b.Dims[j])
            {
                throw new ArgumentException($"Cannot merge partials with dims [{string.Join(",", a.Dims)}] and [{string.Join(",", b.Dims)}].");
            }

            (coords[j], mapA[j], mapB[j]) = Union(a.Coords[j], b.Coords[j]);
            shape[j] = coords[j].Length;
        }

        long cells = 1;
        foreach (var s in shape)
        {
            cells *= s;
        }

        var n = checked((int)cells);
        PartialResult merged;
        if (a.Kind == PartialKind.Moments)
        {
            var count = new long[n];
            var sum = new double[n];
            var m2 = new double[n];
            var min = new double[n];
            var max = new double[n];
            Array.Fill(min, double.PositiveInfinity);
            Array.Fill(max, double.NegativeInfinity);
            foreach (var (p, map) in new[] { (a, mapA), (b, mapB) })
            {
                ForEachCell(p.Shape, map, shape, (src, dst) =>
                    ChanMerge.Into(ref count[dst], ref sum[dst], ref m2[dst], ref min[dst], ref max[dst], p.Count![src], p.Sum![src], p.M2![src], p.Min![src], p.Max![src]));
            }

            merged = a with { Count = count, Sum = sum, M2 = m2, Min = min, Max = max, Values = null };
        }
        else
        {
            var values = new double[n];
            Array.Fill(values, double.NaN);
            foreach (var (p, map) in new[] { (a, mapA), (b, mapB) })
            {
                ForEachCell(p.Shape, map, shape, (src, dst) =>
                {
                    var v = p.Values![src];
                    if (!double.IsNaN(v))
                    {
                        values[dst] = v;
                    }
                });
            }

            merged = a with { Values = values };
        }

        var pointCoords = a.PointCoords;
        var pj = Array.IndexOf(a.Dims, "point");
        if (pj >= 0 && a.PointCoords.Length > 0 && b.PointCoords.Length == a.PointCoords.Length)
        {
            pointCoords = new ResultCoordinate[a.PointCoords.Length];
            for (var k = 0; k < pointCoords.Length; k++)
            {
                pointCoords[k] = Union(a.PointCoords[k], b.PointCoords[k]).Coord;
            }
        }

        var attrs = new Dictionary<string, string>(a.Attrs);
        foreach (var kv in b.Attrs)
        {
            attrs.TryAdd(kv.Key, kv.Value);
        }

        return merged with
        {
            Shape = shape,
            Coords = coords,
            PointCoords = pointCoords,
            Attrs = attrs,
            ChunksDone = a.ChunksDone + b.ChunksDone,
            ChunksTotal = Math.Max(a.ChunksTotal, b.ChunksTotal),
            BytesRead = a.BytesRead + b.BytesRead,
        };
    }

    /// <summary>Merges any number of partials (at least one) left to right.</summary>
    public static PartialResult MergeAll(IReadOnlyList<PartialResult> partials)
    {
        ArgumentNullException.ThrowIfNull(partials);
        if (partials.Count == 0)
        {
            throw new ArgumentException("No partials to merge.", nameof(partials));
        }

        var r = partials[0];
        for (var i = 1; i < partials.Count; i++)
        {
            r = Merge(r, partials[i]);
        }

        return r;
    }

    /// <summary>Union of two coordinates by key (ascending); maps from each side into the union.</summary>
    internal static (ResultCoordinate Coord, int[] MapA, int[] MapB) Union(ResultCoordinate a, ResultCoordinate b)
    {
        if (a.Keys.AsSpan().SequenceEqual(b.Keys))
        {
            var id = new int[a.Length];
            for (var i = 0; i < id.Length; i++)
            {
                id[i] = i;
            }

            return (a, id, id);
        }

        var all = new SortedDictionary<double, (double? Value, string? Label)>();
        for (var i = 0; i < a.Length; i++)
        {
            all[a.Keys[i]] = (a.Values?[i], a.Labels?[i]);
        }

        for (var i = 0; i < b.Length; i++)
        {
            all.TryAdd(b.Keys[i], (b.Values?[i], b.Labels?[i]));
        }

        var keys = new double[all.Count];
        var values = a.Values is not null || b.Values is not null ? new double[all.Count] : null;
        var labels = a.Labels is not null || b.Labels is not null ? new string[all.Count] : null;
        var k = 0;
        foreach (var kv in all)
        {
            keys[k] = kv.Key;
            if (values is not null)
            {
                values[k] = kv.Value.Value ?? double.NaN;
            }

            if (labels is not null)
            {
                labels[k] = kv.Value.Label ?? "";
            }

            k++;
        }

        var mapA = new int[a.Length];
        for (var i = 0; i < a.Length; i++)
        {
            mapA[i] = Array.BinarySearch(keys, a.Keys[i]);
        }

        var mapB = new int[b.Length];
        for (var i = 0; i < b.Length; i++)
        {
            mapB[i] = Array.BinarySearch(keys, b.Keys[i]);
        }

        return (new ResultCoordinate { Name = a.Name, Keys = keys, Values = values, Labels = labels }, mapA, mapB);
    }

    /// <summary>Calls <paramref name="action"/>(source cell, destination cell) for every cell of a source box.</summary>
    internal static void ForEachCell(int[] srcShape, int[][] map, int[] dstShape, Action<int, int> action)
    {
        var nd = srcShape.Length;
        long total = 1;
        foreach (var s in srcShape)
        {
            total *= s;
        }

        if (total == 0)
        {
            return;
        }

        var dstStride = new long[nd];
        long st = 1;
        for (var j = nd - 1; j >= 0; j--)
        {
            dstStride[j] = st;
            st *= dstShape[j];
        }

        var idx = new int[nd];
        for (var src = 0; src < total; src++)
        {
            long dst = 0;
            for (var j = 0; j < nd; j++)
            {
                dst += map[j][idx[j]] * dstStride[j];
            }

            action(src, (int)dst);
            for (var j = nd - 1; j >= 0; j--)
            {
                if (++idx[j] < srcShape[j])
                {
                    break;
                }

                idx[j] = 0;
            }
        }
    }
}
