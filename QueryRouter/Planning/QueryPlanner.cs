using Proxima.Catalog;
using Proxima.Compute.Query;
using Proxima.Protocol.V1;
using Proxima.QueryRouter.Dispatch;
using Proxima.QueryRouter.Http;
using QuerySpec = Proxima.Compute.Query.QuerySpec;

namespace Proxima.QueryRouter.Planning;

/// <summary>
/// Turns a validated QuerySpec into work units: for each dataset, every catalog part (one per region
/// holding a slice of it) is planned for that region's pool. A pool of one worker gets the whole part
/// as one unit; a larger pool gets <see cref="RouterOptions.UnitsPerWorker"/> units per worker, each a
/// share of the part's chunk list that the worker cuts from its own plan (no round trip first), or,
/// when the part's chunk count is known anyway (asked for the cell limit), contiguous chunk ranges.
/// Unknown datasets and variables are rejected here, before anything is dispatched, and so is an
/// answer over <see cref="RouterOptions.MaxOutputCells"/>: when the catalog's shapes cannot rule that
/// out, the workers' <c>Plan</c> (no data read) gives each part's exact output cells.
/// A region whose address is a load balancer (<see cref="RouterOptions.IsLoadBalanced"/>) is one address, not its pool:
/// every reduction there goes as ONE unit that asks whichever task gets it to discover its peers and coordinate.
/// </summary>
internal sealed class QueryPlanner(ICatalog catalog, IPoolDirectory pools, RouterOptions? options = null)
{
    private readonly int _unitsPerWorker = options?.UnitsPerWorker ?? 1;
    private readonly long _maxCells = options?.MaxOutputCells ?? long.MaxValue;
    private readonly long _coordinateAbove = options is { RegionLocalMerge: true } ? options.CoordinateAboveBytes : long.MaxValue;
    private readonly Func<string, bool> _loadBalanced = options is { RegionLocalMerge: true } ? options.IsLoadBalanced : _ => false;

    /// <summary>Bytes per output cell of a partial on the wire: count (int64) + sum, M2, min, max (double).</summary>
    internal const int PartialBytesPerCell = 40;

    public Task<QueryPlan> PlanAsync(string queryId, QuerySpec spec, byte[] specJson, CancellationToken cancellationToken) =>
        PlanAsync(queryId, spec, specJson, [], DateTime.UtcNow.AddMinutes(1), cancellationToken);

    public async Task<QueryPlan> PlanAsync(string queryId, QuerySpec spec, byte[] specJson, IReadOnlyCollection<string> groups, DateTime deadline, CancellationToken cancellationToken)
    {
        var datasets = new List<DatasetPlan>(spec.Datasets.Count);
        var ops = Math.Max(1, spec.Reduce?.Ops.Count ?? 1);
        long queryCells = 0;
        var cellsExact = true;
        for (var i = 0; i < spec.Datasets.Count; i++)
        {
            var id = spec.Datasets[i];
            var parts = await catalog.GetDatasetAsync(id, cancellationToken);
            if (parts.Count == 0)
            {
                throw QueryError.BadRequest("unknown_dataset", $"no dataset '{id}' in the catalog (search with GET /v1/datasets?q=...)", $"datasets[{i}]");
            }

            parts = PruneByTime(parts, spec);

            var variable = ResolveVariable(parts[0], spec.Variable)
                ?? throw QueryError.BadRequest("unknown_variable",
                    $"dataset '{id}' has no variable named '{spec.Variable}' nor one unique variable with that standard_name (it has: {string.Join(", ", VariableNames(parts[0]))})",
                    "variable");
            var unitSpecJson = variable == spec.Variable ? specJson : QuerySpecWriter.ToUtf8(spec with { Variable = variable });

            foreach (var part in parts)
            {
                if (!Shared.AccessCheck.Allows(part.Acl, groups))
                {
                    throw new QueryError(403, "forbidden", $"dataset '{id}' is restricted to groups [{string.Join(", ", part.Acl)}]; your token has [{string.Join(", ", groups)}]", $"datasets[{i}]");
                }
            }

            var specBytes = Google.Protobuf.ByteString.CopyFrom(unitSpecJson);
            var units = new List<PlannedUnit>(parts.Count);
            var missing = new List<string>();
            var bound = CellBound(parts, variable, spec);
            var askCells = options is not null && (bound is null || bound * ops > _maxCells);
            var planning = new List<Task<(int Part, UnitPlan? Plan, QueryError? Error)>>(parts.Count);
            for (var p = 0; p < parts.Count; p++)
            {
                var part = parts[p];
                if (!pools.HasRegion(part.Region))
                {
                    throw QueryError.RegionUnavailable(part.Region, $"dataset '{id}' is held in region '{part.Region}', which has no workers configured");
                }

                var template = NewUnit(queryId, $"{queryId}/{i}/{p}", id, part, specBytes, groups);
                planning.Add(askCells
                    ? CountAsync(p, part.Region, template, deadline, cancellationToken)
                    : Task.FromResult((p, (UnitPlan?)null, (QueryError?)null)));
            }

            var partCells = new List<long>(parts.Count);
            foreach (var (p, unitPlan, error) in await Task.WhenAll(planning))
            {
                var part = parts[p];
                if (error is not null)
                {
                    if (spec.AllowPartial && error.HttpStatus == 503)
                    {
                        missing.Add(PlannedUnit.PartLabel(part.Region, part));
                        continue;
                    }

                    throw error;
                }

                partCells.Add(unitPlan?.OutputCells ?? 0);
                var poolSize = pools.PoolSize(part.Region);
                if (unitPlan?.ChunkCount <= 1)
                {
                    units.Add(new PlannedUnit(part.Region, part, NewUnit(queryId, $"{queryId}/{i}/{p}", id, part, specBytes, groups)));
                    continue;
                }

                var loadBalanced = _loadBalanced(part.Region);
                if (loadBalanced && spec.Reduce is not null)
                {
                    // Behind a load balancer: one unit to whichever task the balancer picks, which finds its peers by DNS,
                    // cuts UnitsPerWorker shares per worker of the pool it found and merges in-region.
                    var message = NewUnit(queryId, $"{queryId}/{i}/{p}", id, part, specBytes, groups);
                    message.CoordinateShares = _unitsPerWorker;
                    message.DiscoverPeers = true;
                    units.Add(new PlannedUnit(part.Region, part, message));
                    continue;
                }

                if (poolSize == 1)
                {
                    units.Add(new PlannedUnit(part.Region, part, NewUnit(queryId, $"{queryId}/{i}/{p}", id, part, specBytes, groups)));
                    continue;
                }

                if (!loadBalanced && Coordinates(spec, unitPlan, [part], variable))
                {
                    // A map: one unit to a coordinator of the pool, which splits it over its peers in-region and
                    // merges there (the router sets the peers per attempt), so one partial crosses regions.
                    var message = NewUnit(queryId, $"{queryId}/{i}/{p}", id, part, specBytes, groups);
                    message.CoordinateShares = (int)Math.Min(unitPlan?.ChunkCount ?? long.MaxValue, (long)poolSize * _unitsPerWorker);
                    units.Add(new PlannedUnit(part.Region, part, message));
                    continue;
                }

                if (unitPlan is null)
                {
                    // No chunk count at hand (none was needed for the cell limit): each unit is a share of the
                    // chunk list that the worker cuts from its own plan, so no round trip precedes the units.
                    var shares = poolSize * _unitsPerWorker;
                    for (var k = 0; k < shares; k++)
                    {
                        var message = NewUnit(queryId, $"{queryId}/{i}/{p}/{k}", id, part, specBytes, groups);
                        message.AllChunks = false;
                        message.ShareIndex = k;
                        message.ShareCount = shares;
                        units.Add(new PlannedUnit(part.Region, part, message));
                    }

                    continue;
                }

                var chunks = unitPlan.ChunkCount;
                var n = (int)Math.Min(chunks, (long)poolSize * _unitsPerWorker);
                for (var k = 0; k < n; k++)
                {
                    var message = NewUnit(queryId, $"{queryId}/{i}/{p}/{k}", id, part, specBytes, groups);
                    message.AllChunks = false;
                    message.ChunkStart = chunks * k / n;
                    message.ChunkEnd = chunks * (k + 1) / n;
                    units.Add(new PlannedUnit(part.Region, part, message));
                }
            }

            datasets.Add(new DatasetPlan(id, i, parts, units) { MissingAtPlan = missing });
            if (askCells && MergedCells(partCells, spec) is { } exact)
            {
                queryCells += exact * ops;
            }
            else
            {
                queryCells += (bound ?? 0) * ops;
                cellsExact &= !askCells;
            }
        }

        // Upper bounds that each fit may add up past the limit: refuse only on exact counts (the
        // router checks the merged answer again).
        if (queryCells > _maxCells && cellsExact)
        {
            throw QueryError.BadRequest("too_many_cells",
                $"the answer would have {queryCells} cells ({ops} op(s) counted); the limit is {_maxCells}: select a smaller region/time range or reduce over more dims", "select");
        }

        return new QueryPlan(queryId, spec, datasets);
    }

    /// <summary>
    /// Whether a part of a pool of 2+ workers goes to a coordinator: a reduction whose partial (the workers' exact
    /// cells, else the catalog's bound) is over <see cref="RouterOptions.CoordinateAboveBytes"/>. Each per-worker
    /// share would send a partial of that full size across regions; values (no reduce) are disjoint slabs and
    /// gain nothing, and a part of unknown shape keeps the per-worker shares.
    /// </summary>
    private bool Coordinates(QuerySpec spec, UnitPlan? unitPlan, IReadOnlyList<DatasetDocument> part, string variable)
    {
        if (spec.Reduce is null || _coordinateAbove == long.MaxValue)
        {
            return false;
        }

        var cells = unitPlan is { OutputCells: > 0 } known ? known.OutputCells : CellBound(part, variable, spec);
        return cells is { } c && c > _coordinateAbove / PartialBytesPerCell;
    }

    /// <summary>
    /// An upper bound on the cells (per op) of a dataset's answer from the catalog's shapes alone, or
    /// null when a part's shape is not recorded: every dim kept at full size unless the query reduces
    /// it by its exact name (time stays when grouped or resampled), times the points asked for.
    /// </summary>
    internal static long? CellBound(IReadOnlyList<DatasetDocument> parts, string variable, QuerySpec spec)
    {
        var grouped = spec.Reduce is { } r && (r.GroupBy != TimeGrouping.None || r.Resample != ResampleFrequency.None);
        long total = 0;
        foreach (var part in parts)
        {
            VariableInfo? info = null;
            foreach (var v in part.Variables)
            {
                if (v.Name == variable)
                {
                    info = v;
                }
            }

            if (info is null || info.Shape.Count == 0 || info.Shape.Count != info.Dims.Count)
            {
                return null;
            }

            long cells = Math.Max(1, spec.Points.Count);
            for (var d = 0; d < info.Dims.Count; d++)
            {
                var reduced = spec.Reduce is { } reduce && Contains(reduce.Dims, info.Dims[d]) && !(grouped && info.Dims[d] == "time");
                if (!reduced)
                {
                    cells = info.Shape[d] > 0 && cells > long.MaxValue / info.Shape[d] ? long.MaxValue / 2 : cells * Math.Max(1, info.Shape[d]);
                }
            }

            total = Math.Min(long.MaxValue / 2, total + cells);
        }

        return total;
    }

    /// <summary>
    /// The cells of a dataset's merged answer from its parts' planned cells, or null when a worker did
    /// not say: parts reduced over all of time each give the whole answer (max); otherwise parts hold
    /// disjoint time slices and their cells add up (an upper bound when time groups recur across parts).
    /// </summary>
    private static long? MergedCells(List<long> partCells, QuerySpec spec)
    {
        if (partCells.Count == 0)
        {
            return null;
        }

        var overAllTime = spec.Reduce is { GroupBy: TimeGrouping.None, Resample: ResampleFrequency.None } r && Contains(r.Dims, "time");
        long merged = 0;
        foreach (var cells in partCells)
        {
            if (cells <= 0)
            {
                return null;
            }

            merged = overAllTime ? Math.Max(merged, cells) : merged + cells;
        }

        return merged;
    }

    private static bool Contains(IReadOnlyList<string> names, string name)
    {
        foreach (var n in names)
        {
            if (n == name)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Parts of a split dataset whose time extent misses the query's time range are not asked at all
    /// (they would select nothing). ISO-8601 texts in the dataset's calendar compare lexically once
    /// normalised. When every part misses, all are kept so the workers report the empty selection.
    /// </summary>
    internal static IReadOnlyList<DatasetDocument> PruneByTime(IReadOnlyList<DatasetDocument> parts, QuerySpec spec)
    {
        if (parts.Count < 2)
        {
            return parts;
        }

        DimensionSelection? time = null;
        foreach (var s in spec.Select)
        {
            if (s.Dim == "time" && s.IsRange)
            {
                time = s;
            }
        }

        if (time is null)
        {
            return parts;
        }

        var from = time.Start is { IsText: true } a ? Normalize(a.Text!) : null;
        var to = time.Stop is { IsText: true } b ? Normalize(b.Text!) : null;
        var kept = new List<DatasetDocument>(parts.Count);
        foreach (var part in parts)
        {
            if (part.Time is { } extent
                && ((from is not null && string.CompareOrdinal(Normalize(extent.End), from) < 0)
                    || (to is not null && string.CompareOrdinal(Normalize(extent.Start), to) > 0)))
            {
                continue;
            }

            kept.Add(part);
        }

        return kept.Count == 0 ? parts : kept;
    }

    private static string Normalize(string iso)
    {
        var t = iso.Trim().Replace(' ', 'T').TrimEnd('Z');
        const string Zero = "0000-01-01T00:00:00";
        return t.Length < Zero.Length && t.Length >= 4 ? t + Zero[t.Length..] : t;
    }

    private async Task<(int Part, UnitPlan? Plan, QueryError? Error)> CountAsync(int part, string region, WorkUnit unit, DateTime deadline, CancellationToken cancellationToken)
    {
        try
        {
            return (part, await pools.PlanAsync(region, unit, deadline, cancellationToken), null);
        }
        catch (QueryError ex)
        {
            return (part, null, ex);
        }
    }

    private static WorkUnit NewUnit(string queryId, string unitId, string datasetId, DatasetDocument part, Google.Protobuf.ByteString spec, IReadOnlyCollection<string> groups)
    {
        var unit = new WorkUnit
        {
            QueryId = queryId,
            UnitId = unitId,
            Dataset = datasetId,
            Path = part.Uri,
            SpecJson = spec,
            AllChunks = true,
            Fingerprint = part.Fingerprint,
        };
        unit.Acl.Add(part.Acl);
        unit.Groups.Add(groups);
        return unit;
    }

    /// <summary>
    /// The dataset's variable a query means: the one with that name, else the only one whose CF
    /// standard_name it is (so one query can ask ERA5's t2m and CMIP6's tas as air_temperature).
    /// </summary>
    private static string? ResolveVariable(DatasetDocument document, string variable)
    {
        string? byStandardName = null;
        var matches = 0;
        foreach (var v in document.Variables)
        {
            if (v.Name == variable)
            {
                return v.Name;
            }

            if (string.Equals(v.StandardName, variable, StringComparison.Ordinal))
            {
                byStandardName = v.Name;
                matches++;
            }
        }

        return matches == 1 ? byStandardName : null;
    }

    private static IEnumerable<string> VariableNames(DatasetDocument document)
    {
        foreach (var v in document.Variables)
        {
            yield return v.Name;
        }
    }
}
