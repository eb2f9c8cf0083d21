using Proxima.Catalog;
using Proxima.Compute.Query;
using Proxima.Protocol.V1;
using QuerySpec = Proxima.Compute.Query.QuerySpec;
using Proxima.QueryRouter.Dispatch;
using Proxima.QueryRouter.Http;

namespace Proxima.QueryRouter.Planning;

/// <summary>
/// Turns a validated QuerySpec into work units: for each dataset, every catalog part (one per region
/// holding a slice of it) is planned for that region's pool. A pool of one worker gets the whole part
/// as one unit; a larger pool is asked for the part's chunk count (worker <c>Plan</c>) and the range
/// [0, n) is split into contiguous units, <see cref="RouterOptions.UnitsPerWorker"/> per worker.
/// Unknown datasets and variables are rejected here, before anything is dispatched.
/// </summary>
internal sealed class QueryPlanner(ICatalog catalog, IPoolDirectory pools, RouterOptions? options = null)
{
    private readonly int _unitsPerWorker = options?.UnitsPerWorker ?? 1;

    public Task<QueryPlan> PlanAsync(string queryId, QuerySpec spec, byte[] specJson, CancellationToken cancellationToken) =>
        PlanAsync(queryId, spec, specJson, [], DateTime.UtcNow.AddMinutes(1), cancellationToken);

    public async Task<QueryPlan> PlanAsync(string queryId, QuerySpec spec, byte[] specJson, IReadOnlyCollection<string> groups, DateTime deadline, CancellationToken cancellationToken)
    {
        var datasets = new List<DatasetPlan>(spec.Datasets.Count);
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
            var planning = new List<Task<(int Part, long Chunks, QueryError? Error)>>(parts.Count);
            for (var p = 0; p < parts.Count; p++)
            {
                var part = parts[p];
                if (!pools.HasRegion(part.Region))
                {
                    throw QueryError.RegionUnavailable(part.Region, $"dataset '{id}' is held in region '{part.Region}', which has no workers configured");
                }

                var template = NewUnit(queryId, $"{queryId}/{i}/{p}", id, part, specBytes, groups);
                planning.Add(pools.PoolSize(part.Region) > 1
                    ? CountAsync(p, part.Region, template, deadline, cancellationToken)
                    : Task.FromResult((p, -1L, (QueryError?)null)));
            }

            foreach (var (p, chunks, error) in await Task.WhenAll(planning))
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

                if (chunks <= 1)
                {
                    units.Add(new PlannedUnit(part.Region, part, NewUnit(queryId, $"{queryId}/{i}/{p}", id, part, specBytes, groups)));
                    continue;
                }

                var n = (int)Math.Min(chunks, (long)pools.PoolSize(part.Region) * _unitsPerWorker);
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
        }

        return new QueryPlan(queryId, spec, datasets);
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

    private async Task<(int Part, long Chunks, QueryError? Error)> CountAsync(int part, string region, WorkUnit unit, DateTime deadline, CancellationToken cancellationToken)
    {
        try
        {
            return (part, await pools.PlanChunksAsync(region, unit, deadline, cancellationToken), null);
        }
        catch (QueryError ex)
        {
            return (part, 0, ex);
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
