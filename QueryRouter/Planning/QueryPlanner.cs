using Proxima.Catalog;
using Proxima.Compute.Query;
using Proxima.Protocol.V1;
using QuerySpec = Proxima.Compute.Query.QuerySpec;
using Proxima.QueryRouter.Http;

namespace Proxima.QueryRouter.Planning;

/// <summary>
/// Turns a validated QuerySpec into work units: for each dataset, every catalog part (one per region
/// holding a slice of it) becomes a unit for that region's pool. Unknown datasets and variables are
/// rejected here, before anything is dispatched.
/// </summary>
internal sealed class QueryPlanner(ICatalog catalog, IReadOnlySet<string> regionsWithWorkers)
{
    public async Task<QueryPlan> PlanAsync(string queryId, QuerySpec spec, byte[] specJson, CancellationToken cancellationToken)
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

            var variable = ResolveVariable(parts[0], spec.Variable)
                ?? throw QueryError.BadRequest("unknown_variable",
                    $"dataset '{id}' has no variable named '{spec.Variable}' nor one unique variable with that standard_name (it has: {string.Join(", ", VariableNames(parts[0]))})",
                    "variable");
            var unitSpecJson = variable == spec.Variable ? specJson : QuerySpecWriter.ToUtf8(spec with { Variable = variable });

            var units = new List<PlannedUnit>(parts.Count);
            for (var p = 0; p < parts.Count; p++)
            {
                var part = parts[p];
                if (!regionsWithWorkers.Contains(part.Region))
                {
                    throw QueryError.RegionUnavailable(part.Region, $"dataset '{id}' is held in region '{part.Region}', which has no workers configured");
                }

                var message = new WorkUnit
                {
                    QueryId = queryId,
                    UnitId = $"{queryId}/{i}/{p}",
                    Dataset = id,
                    Path = part.Uri,
                    SpecJson = Google.Protobuf.ByteString.CopyFrom(unitSpecJson),
                    AllChunks = true,
                    Fingerprint = part.Fingerprint,
                };
                units.Add(new PlannedUnit(part.Region, part, message));
            }

            datasets.Add(new DatasetPlan(id, i, parts, units));
        }

        return new QueryPlan(queryId, spec, datasets);
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
