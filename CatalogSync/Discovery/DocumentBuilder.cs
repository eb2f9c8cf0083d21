using System.Globalization;
using Proxima.Arrays;
using Proxima.Arrays.Cf;
using Proxima.Arrays.Storage;
using Proxima.Catalog;
using CatalogFormat = Proxima.Catalog.DatasetFormat;

namespace Proxima.CatalogSync.Discovery;

/// <summary>
/// Builds a catalog document from a store's headers and coordinate arrays (never data chunks):
/// variables, dimensions with extents, bbox (cell edges when the grid is regular), time range in the dataset's
/// calendar with its step, chunk counts, and the <c>proxima_id</c>/<c>proxima_part</c>/<c>proxima_acl</c> attributes.
/// </summary>
internal static class DocumentBuilder
{
    private static readonly string[] KeptAttributes = ["title", "summary", "description", "institution", "source", "institution_id", "source_id", "experiment_id", "product"];

    public static async Task<DatasetDocument> BuildAsync(IStorage storage, string regionRoot, DiscoveredStore store, string region, string? pool, bool computeBytes, GridDatasetOptions openOptions, CancellationToken ct)
    {
        GridDataset ds;
        try
        {
            ds = await GridDataset.OpenAsync(storage, store.RelativePath, openOptions, ct).ConfigureAwait(false);
        }
        catch (ArrayFormatException ex) when (store.Format is not CatalogFormat.ZarrV2)
        {
            throw new ArrayFormatException(ex.Location, $"{FormatName(store.Format)} datasets are not readable by this build yet: {ex.Message}", ex);
        }

        var variables = new List<VariableInfo>();
        long chunks = 0;
        foreach (var v in ds.DataVariables)
        {
            long nChunks = 1;
            foreach (long c in v.ChunkGrid)
            {
                nChunks *= c;
            }

            chunks += nChunks;
            var chunkShape = new long[v.ChunkShape.Length];
            for (int i = 0; i < chunkShape.Length; i++)
            {
                chunkShape[i] = v.ChunkShape[i];
            }

            variables.Add(new VariableInfo
            {
                Name = v.Name,
                Dims = [.. v.Dims],
                Shape = [.. v.Shape],
                Chunks = chunkShape,
                Dtype = v.StoredType.NumpyName(),
                Units = v.Units,
                StandardName = v.StandardName,
                LongName = v.LongName,
            });
        }

        var dims = new List<DimensionInfo>();
        double? latMin = null, latMax = null, lonWest = null, lonEast = null;
        TimeExtent? time = null;
        foreach (var (name, size) in ds.Dimensions)
        {
            GridVariable? coord = ds.TryGetVariable(name, out var c) && c.Dims.Length == 1 ? c : null;
            var role = coord?.Role ?? CoordinateRole.None;
            if (role == CoordinateRole.Time && coord is not null)
            {
                time = await TimeExtentAsync(coord, ct).ConfigureAwait(false);
                dims.Add(new DimensionInfo { Name = name, Size = size, Axis = "t", Units = coord.Units });
                continue;
            }

            if (coord is null || !coord.IsNumeric || size == 0)
            {
                dims.Add(new DimensionInfo { Name = name, Size = size, Axis = AxisOf(role), Units = coord?.Units });
                continue;
            }

            double[] values = await coord.ReadAllAsync<double>(ct).ConfigureAwait(false);
            double? step = RegularStep(values);
            dims.Add(new DimensionInfo { Name = name, Size = size, Axis = AxisOf(role), First = values[0], Last = values[^1], Step = step, Units = coord.Units });
            if (role == CoordinateRole.Latitude)
            {
                (latMin, latMax) = Edges(values, step);
            }
            else if (role == CoordinateRole.Longitude)
            {
                (lonWest, lonEast) = LongitudeEdges(values, step);
            }
        }

        // Curvilinear grids: 2-D latitude/longitude auxiliary coordinates.
        if (latMin is null || lonWest is null)
        {
            var lat2 = Aux(ds, CoordinateRole.Latitude);
            var lon2 = Aux(ds, CoordinateRole.Longitude);
            if (lat2 is not null && lon2 is not null)
            {
                (latMin, latMax) = MinMax(await lat2.ReadAllAsync<double>(ct).ConfigureAwait(false));
                (lonWest, lonEast) = MinMax(await lon2.ReadAllAsync<double>(ct).ConfigureAwait(false));
            }
        }

        BoundingBox? bbox = null;
        if (latMin is { } s && latMax is { } n && lonWest is { } w && lonEast is { } e && double.IsFinite(s + n + w + e))
        {
            bbox = MakeBbox(w, Math.Max(-90, s), e, Math.Min(90, n));
        }

        var attrs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string key in KeptAttributes)
        {
            if (ds.Attributes.TryGetValue(key, out var a))
            {
                string text = a.AsString();
                attrs[key] = text.Length > 500 ? text[..500] : text;
            }
        }

        string id = ds.Attributes.TryGetValue("proxima_id", out var pid) && pid.AsString().Trim('/') is { Length: > 0 } given
            ? given
            : IdFromPath(store.RelativePath);
        string? part = ds.Attributes.TryGetValue("proxima_part", out var pp) ? pp.AsString() : null;
        var acl = new List<string>();
        if (ds.Attributes.TryGetValue("proxima_acl", out var aclAttr))
        {
            string raw = aclAttr.Json.ValueKind == System.Text.Json.JsonValueKind.Array
                ? string.Join(",", aclAttr.Json.EnumerateArray().Select(x => x.ToString()))
                : aclAttr.AsString();
            foreach (string g in raw.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries))
            {
                acl.Add(g);
            }
        }

        return new DatasetDocument
        {
            Id = id,
            Region = region,
            Pool = pool,
            Uri = store.RelativePath,
            Format = store.Format,
            Variables = variables,
            Dimensions = dims,
            Bbox = bbox,
            Time = time,
            Bytes = computeBytes ? StoreDiscovery.TotalBytes(Path.Combine(regionRoot, store.RelativePath)) : 0,
            Chunks = chunks,
            Fingerprint = store.Fingerprint,
            Modified = store.Modified,
            Part = part,
            Acl = acl,
            Attrs = attrs,
        };
    }

    /// <summary>Path relative to the region root without the store extension (<c>a/b/t2m.zarr</c> → <c>a/b/t2m</c>).</summary>
    internal static string IdFromPath(string relativePath)
    {
        string[] exts = [".kerchunk.json", ".refs.json", ".zarr", ".zarr3", ".zr3", ".json", ".nc"];
        foreach (string ext in exts)
        {
            if (relativePath.EndsWith(ext, StringComparison.OrdinalIgnoreCase) && relativePath.Length > ext.Length)
            {
                return relativePath[..^ext.Length];
            }
        }

        return relativePath;
    }

    private static string FormatName(CatalogFormat f) => Catalog.Search.StacWriter.FormatName(f);

    private static string? AxisOf(CoordinateRole role) => role switch
    {
        CoordinateRole.Longitude => "x",
        CoordinateRole.Latitude => "y",
        CoordinateRole.Level => "z",
        CoordinateRole.Time => "t",
        _ => null,
    };

    private static GridVariable? Aux(GridDataset ds, CoordinateRole role)
    {
        foreach (var v in ds.Variables)
        {
            if (v.Role == role && v.Dims.Length == 2 && v.IsNumeric && v.ElementCount <= 50_000_000)
            {
                return v;
            }
        }

        return null;
    }

    internal static double? RegularStep(double[] v)
    {
        if (v.Length < 2)
        {
            return null;
        }

        double d0 = v[1] - v[0];
        if (d0 == 0 || !double.IsFinite(d0))
        {
            return null;
        }

        double tol = Math.Abs(d0) * 1e-5;
        for (int i = 2; i < v.Length; i++)
        {
            if (Math.Abs(v[i] - v[i - 1] - d0) > tol)
            {
                return null;
            }
        }

        return d0;
    }

    private static (double, double) MinMax(double[] v)
    {
        double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (double x in v)
        {
            if (double.IsFinite(x))
            {
                lo = Math.Min(lo, x);
                hi = Math.Max(hi, x);
            }
        }

        return (lo, hi);
    }

    /// <summary>Extent of cell edges: centres extended by half a step when regular.</summary>
    private static (double, double) Edges(double[] v, double? step)
    {
        var (lo, hi) = MinMax(v);
        double half = step is { } s ? Math.Abs(s) / 2 : 0;
        return (lo - half, hi + half);
    }

    /// <summary>
    /// West/east edges of a 1-D longitude coordinate. A coordinate that wraps (e.g. 170..180, -180..-170) yields
    /// west &gt; east (crossing the antimeridian) instead of a whole-globe span.
    /// </summary>
    internal static (double West, double East) LongitudeEdges(double[] v, double? step)
    {
        double half = step is { } s ? Math.Abs(s) / 2 : 0;
        int drops = 0, at = -1;
        for (int i = 1; i < v.Length; i++)
        {
            if (v[i] < v[i - 1])
            {
                drops++;
                at = i;
            }
        }

        if (drops == 1 && v.Length > 2 && v[0] > v[^1])
        {
            // Ascending with one wrap: first..last crosses the antimeridian.
            double gap = Math.Abs(v[at - 1] - v[at - 2 >= 0 ? at - 2 : at - 1]);
            half = step is null && gap > 0 ? gap / 2 : half;
            return (v[0] - half, v[^1] + half);
        }

        var (lo, hi) = MinMax(v);
        return (lo - half, hi + half);
    }

    /// <summary>Normalizes edge longitudes into the BoundingBox domain; spans of ≥ 360° become the whole globe.</summary>
    internal static BoundingBox MakeBbox(double west, double south, double east, double north)
    {
        double width = west <= east ? east - west : east - west + 360;
        if (width >= 360 - 1e-9)
        {
            return east > 180 ? new BoundingBox(0, south, 360, north) : new BoundingBox(-180, south, 180, north);
        }

        if (west < -180)
        {
            west += 360;
        }

        if (east > 360)
        {
            east -= 360;
        }

        if (west > 360)
        {
            west -= 360;
        }

        return new BoundingBox(west, south, east, north);
    }

    private static async Task<TimeExtent?> TimeExtentAsync(GridVariable coord, CancellationToken ct)
    {
        if (coord.TimeUnits is null || coord.Shape[0] == 0)
        {
            return null;
        }

        CfDateTime[] times = await coord.ReadTimesAsync(ct).ConfigureAwait(false);
        CfDateTime first = default, last = default;
        bool any = false;
        foreach (var t in times)
        {
            if (t.IsNaT)
            {
                continue;
            }

            if (!any || t < first)
            {
                first = t;
            }

            if (!any || t > last)
            {
                last = t;
            }

            any = true;
        }

        if (!any)
        {
            return null;
        }

        return new TimeExtent
        {
            Start = first.ToString(),
            End = last.ToString(),
            Calendar = coord.TimeUnits.Calendar.ToCfName(),
            Step = TimeStep(times),
        };
    }

    /// <summary>ISO-8601 duration of a regular time axis (<c>PT1H</c>, <c>P1D</c>, <c>P1M</c>, <c>P1Y</c>), null if irregular.</summary>
    internal static string? TimeStep(CfDateTime[] t)
    {
        if (t.Length < 2 || t[0].IsNaT || t[1].IsNaT)
        {
            return null;
        }

        // Calendar months first (a 360_day month is also exactly 30 days): same day and time of day, constant month increment.
        int m0 = MonthIndex(t[1]) - MonthIndex(t[0]);
        bool monthly = m0 > 0;
        for (int i = 1; monthly && i < t.Length; i++)
        {
            monthly = !t[i].IsNaT && MonthIndex(t[i]) - MonthIndex(t[i - 1]) == m0 && t[i].Day == t[0].Day && t[i].Hour == t[0].Hour && t[i].Minute == t[0].Minute;
        }

        if (monthly)
        {
            return m0 % 12 == 0 ? $"P{m0 / 12}Y" : $"P{m0}M";
        }

        long d0 = t[1].TotalMicroseconds - t[0].TotalMicroseconds;
        bool regular = d0 > 0;
        for (int i = 2; regular && i < t.Length; i++)
        {
            regular = t[i].TotalMicroseconds - t[i - 1].TotalMicroseconds == d0;
        }

        if (regular)
        {
            const long Second = 1_000_000, Minute = 60 * Second, Hour = 60 * Minute, Day = 24 * Hour;
            return d0 % Day == 0 ? $"P{d0 / Day}D"
                : d0 % Hour == 0 ? $"PT{d0 / Hour}H"
                : d0 % Minute == 0 ? $"PT{d0 / Minute}M"
                : string.Create(CultureInfo.InvariantCulture, $"PT{d0 / (double)Second}S");
        }

        return null;
    }

    private static int MonthIndex(CfDateTime t) => t.Year * 12 + t.Month;
}
