using Proxima.Catalog;
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

            if (!HasVariable(parts[0], spec.Variable))
            {
                throw QueryError.BadRequest("unknown_variable",
                    $"dataset '{id}' has no variable '{spec.Variable}' (it has: {string.Join(", ", VariableNames(parts[0]))})", "variable");
            }

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
                    SpecJson = Google.Protobuf.ByteString.CopyFrom(specJson),
                    AllChunks = true,
                };
                units.Add(new PlannedUnit(part.Region, part, message));
            }

            datasets.Add(new DatasetPlan(id, i, parts, units));
        }

        return new QueryPlan(queryId, spec, datasets);
    }

    private static bool HasVariable(DatasetDocument document, string variable)
    {
        foreach (var v in document.Variables)
        {
            if (v.Name == variable)
            {
                return true;
            }
        }

        return false;
    }

    private static IEnumerable<string> VariableNames(DatasetDocument document)
    {
        foreach (var v in document.Variables)
        {
            yield return v.Name;
        }
    }
}
