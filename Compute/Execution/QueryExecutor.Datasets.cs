using Proxima.Arrays;
using Proxima.Compute.Planning;
using Proxima.Compute.Query;

namespace Proxima.Compute.Execution;

public static partial class QueryExecutor
{
    /// <summary>
    /// Plans <paramref name="spec"/> against <paramref name="dataset"/> (its variable <c>spec.Variable</c>): resolves
    /// dims, selects coordinates (reads coordinate variables and times), maps groups and lists the chunks touched.
    /// </summary>
    /// <param name="datasetId">The catalog id, carried into the result.</param>
    /// <exception cref="QueryValidationException">Unknown variable/dimension, an exact value not on the grid (a range matching nothing is a size-0 dim, no error).</exception>
    public static async Task<QueryPlan> PlanAsync(GridDataset dataset, string datasetId, QuerySpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(spec);
        if (!dataset.TryGetVariable(spec.Variable, out var variable) || variable.Dims.Length == 0)
        {
            throw new QueryValidationException("unknown_variable", $"Dataset '{datasetId}' has no gridded variable '{spec.Variable}'.", "variable");
        }

        if (!variable.IsNumeric)
        {
            throw new QueryValidationException("unknown_variable", $"Variable '{spec.Variable}' of '{datasetId}' is not numeric.", "variable");
        }

        var source = await GridSourceAdapter.GetAsync(dataset, variable, cancellationToken).ConfigureAwait(false);
        return Plan(source, datasetId, spec);
    }

    /// <summary>Plans and executes in one call (all chunks, or <paramref name="range"/>).</summary>
    public static async Task<PartialResult> ExecuteAsync(
        GridDataset dataset,
        string datasetId,
        QuerySpec spec,
        ChunkRange? range = null,
        ExecutionOptions? options = null,
        IProgress<QueryProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        var plan = await PlanAsync(dataset, datasetId, spec, cancellationToken).ConfigureAwait(false);
        return await ExecuteAsync(plan, range, options, progress, cancellationToken).ConfigureAwait(false);
    }
}
