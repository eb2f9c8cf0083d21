using Proxima.Compute.Execution;
using Proxima.Compute.Output;
using Proxima.Compute.Query;
using Proxima.QueryRouter.Dispatch;
using Proxima.QueryRouter.Http;
using Proxima.QueryRouter.Planning;
using Proxima.Shared;

namespace Proxima.QueryRouter;

/// <summary>Merges each dataset's partials exactly, finalises the requested ops and encodes the answer.</summary>
internal static class ResultAssembly
{
    public static IReadOnlyList<QueryResult> Finalize(QueryPlan plan, DispatchOutcome outcome)
    {
        var results = new List<QueryResult>(plan.Datasets.Count);
        foreach (var dataset in plan.Datasets)
        {
            var wire = outcome.Partials[dataset.Index];
            var missing = outcome.Missing[dataset.Index];
            CheckComplete(dataset, wire, outcome.MissingUnits[dataset.Index]);
            if (wire.Count == 0 && plan.Spec.AllowPartial && missing.Count > 0)
            {
                // Nothing of this dataset answered, and the client accepts that: say so, with no data.
                results.Add(new QueryResult
                {
                    Dataset = dataset.DatasetId,
                    Variable = plan.Spec.Variable,
                    Dims = [],
                    Shape = [],
                    Coords = [],
                    Data = [],
                    Partial = true,
                    Missing = [.. missing],
                });
                continue;
            }

            if (wire.Count == 0)
            {
                throw QueryError.RegionUnavailable(string.Join(",", missing),
                    $"no region holding '{dataset.DatasetId}' answered (missing: {string.Join(", ", missing)})");
            }

            results.Add(Answer(outcome.Merged[dataset.Index].Result(dataset.DatasetId), plan.Spec, missing));
        }

        return results;
    }

    /// <summary>
    /// One dataset's answer from its unit partials: decoded (array copies, no per-element work), merged
    /// exactly (a single partial is taken as it is) and finalised into the requested ops.
    /// </summary>
    internal static QueryResult Answer(IReadOnlyList<Protocol.V1.PartialResult> wire, QuerySpec spec, IReadOnlyList<string> missing)
    {
        var merged = new PartialAccumulator();
        foreach (var p in wire)
        {
            merged.Add(p);
        }

        return Answer(merged.Result(wire.Count > 0 ? wire[0].Dataset : "?"), spec, missing);
    }

    private static QueryResult Answer(PartialResult merged, QuerySpec spec, IReadOnlyList<string> missing)
    {
        var unitSpec = merged.Variable == spec.Variable ? spec : spec with { Variable = merged.Variable };
        return QueryFinalizer.Finalize(merged, unitSpec, partial: missing.Count > 0, missing);
    }

    /// <summary>
    /// The completeness check (per dataset, like Mimir's consistency checker): every planned unit is
    /// merged exactly once or listed as missing, and nothing unplanned is merged. Anything else is a
    /// bug or a misbehaving worker and fails the query rather than return a silently partial answer.
    /// </summary>
    internal static void CheckComplete(DatasetPlan dataset, IReadOnlyList<Protocol.V1.PartialResult> partials, IReadOnlySet<string> missingUnits)
    {
        var planned = new Dictionary<string, PlannedUnit>(dataset.Units.Count, StringComparer.Ordinal);
        foreach (var unit in dataset.Units)
        {
            planned[unit.Message.UnitId] = unit;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        var shareTotals = new Dictionary<Catalog.DatasetDocument, long>(ReferenceEqualityComparer.Instance);
        foreach (var p in partials)
        {
            if (!planned.TryGetValue(p.UnitId, out var unit))
            {
                throw Incomplete(dataset, $"a partial for unit '{p.UnitId}', which was not planned, reached the merge");
            }

            if (!seen.Add(p.UnitId))
            {
                throw Incomplete(dataset, $"unit '{p.UnitId}' reached the merge twice");
            }

            if (p.Stats is { } stats && !unit.Covers(p))
            {
                throw Incomplete(dataset, $"unit '{p.UnitId}' covered {stats.Chunks} chunk(s), not its {(unit.Message.ShareCount > 0 ? $"share {unit.Message.ShareIndex} of {unit.Message.ShareCount} of {stats.ChunksTotal}" : unit.ChunkCount.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
            }

            // The shares of one part are cut from one chunk list: every worker must have planned the same one.
            if (unit.Message.ShareCount > 0 && p.Stats is { } shareStats)
            {
                if (!shareTotals.TryGetValue(unit.Part, out var total))
                {
                    shareTotals[unit.Part] = shareStats.ChunksTotal;
                }
                else if (total != shareStats.ChunksTotal)
                {
                    throw Incomplete(dataset, $"unit '{p.UnitId}' was cut from {shareStats.ChunksTotal} chunks, another share of its part from {total}");
                }
            }
        }

        foreach (var id in planned.Keys)
        {
            if (!seen.Contains(id) && !missingUnits.Contains(id))
            {
                throw Incomplete(dataset, $"unit '{id}' was neither merged nor reported missing");
            }
        }
    }

    private static QueryError Incomplete(DatasetPlan dataset, string detail) =>
        new(500, "incomplete_merge", $"dataset '{dataset.DatasetId}': {detail}; refusing a silently partial answer");

    /// <summary>
    /// Writes a JSON answer straight into <paramref name="body"/> (the response's pipe): no intermediate
    /// buffer of the whole document to grow, copy and hand over. Returns the bytes written.
    /// </summary>
    public static long WriteJson(QueryAnswer answer, System.IO.Pipelines.PipeWriter body)
    {
        using var writer = new System.Text.Json.Utf8JsonWriter(body);
        ResultWriters.WriteJson(writer, answer.Results, ToComputeStats(answer.Stats));
        writer.Flush();
        return writer.BytesCommitted;
    }

    public static (byte[] Body, string ContentType) Encode(QueryAnswer answer)
    {
        var results = answer.Results;
        switch (answer.Spec.Output.Format)
        {
            case OutputFormat.Csv:
                return (System.Text.Encoding.UTF8.GetBytes(ResultWriters.ToCsv(results)), "text/csv; charset=utf-8");
            case OutputFormat.Json:
                using (var buffer = new MemoryStream())
                {
                    ResultWriters.WriteJson(buffer, results, ToComputeStats(answer.Stats));
                    return (buffer.ToArray(), "application/json");
                }

            case OutputFormat.NetCdf:
                return (EncodeNetCdf(answer), "application/x-netcdf");
            default:
                throw QueryError.BadRequest("unknown_format", $"output format '{answer.Spec.Output.Format}' is not one of json, csv, netcdf", "output.format");
        }
    }

    /// <summary>libnetcdf writes files, not streams: write to a private temp file and hand back its bytes.</summary>
    private static byte[] EncodeNetCdf(QueryAnswer answer)
    {
        var path = Path.Combine(Path.GetTempPath(), $"proxima-{Guid.NewGuid():N}.nc");
        try
        {
            NetCdfResultWriter.Write(path, answer.Results, answer.Spec);
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static QueryStats ToComputeStats(Protocol.V1.QueryStats stats)
    {
        var regions = new Dictionary<string, RegionStats>(StringComparer.Ordinal);
        foreach (var (name, r) in stats.Regions)
        {
            regions[name] = new RegionStats { Chunks = r.Chunks, BytesRead = r.BytesRead, Ms = r.Ms };
        }

        return new QueryStats { BytesCrossRegion = stats.BytesCrossRegion, Regions = regions };
    }
}

/// <summary>
/// One dataset's partials decoded and merged as they arrive (the dispatcher adds each accepted unit's), so
/// with several units only the last arrival's merge is left after the slowest unit. A share that got no
/// chunk (WorkUnit.share_index) answers without data: counted by the completeness check, not merged.
/// Partials that do not merge fail the answer, typed, when it is taken.
/// </summary>
internal sealed class PartialAccumulator
{
    private PartialResult? _merged;
    private ArgumentException? _error;

    public void Add(Protocol.V1.PartialResult wire)
    {
        if (_error is not null || (wire.Moments is null && wire.Values is null))
        {
            return;
        }

        try
        {
            var partial = PartialResultMapping.FromWire(wire);
            _merged = _merged is null ? partial : PartialMerge.Merge(_merged, partial);
        }
        catch (ArgumentException ex)
        {
            _error = ex;
        }
    }

    /// <exception cref="QueryError">500 <c>incomplete_merge</c>: nothing with data arrived, or the partials did not merge.</exception>
    public PartialResult Result(string dataset) =>
        _error is not null ? throw new QueryError(500, "incomplete_merge", $"dataset '{dataset}': the units' partials do not merge ({_error.Message})")
        : _merged ?? throw new QueryError(500, "incomplete_merge", $"dataset '{dataset}': no unit answered with data; refusing an empty answer");
}
