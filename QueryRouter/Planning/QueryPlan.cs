using Proxima.Catalog;
using Proxima.Protocol.V1;
using QuerySpec = Proxima.Compute.Query.QuerySpec;

namespace Proxima.QueryRouter.Planning;

/// <summary>What the router will ask of which region for one query.</summary>
internal sealed record QueryPlan(string QueryId, QuerySpec Spec, IReadOnlyList<DatasetPlan> Datasets)
{
    public int UnitCount
    {
        get
        {
            var n = 0;
            foreach (var d in Datasets)
            {
                n += d.Units.Count;
            }

            return n;
        }
    }
}

/// <summary>One requested dataset: its catalog parts and the work units that cover them.</summary>
internal sealed record DatasetPlan(string DatasetId, int Index, IReadOnlyList<DatasetDocument> Parts, IReadOnlyList<PlannedUnit> Units);

/// <summary>A work unit bound for a region's worker pool.</summary>
internal sealed record PlannedUnit(string Region, DatasetDocument Part, WorkUnit Message);
