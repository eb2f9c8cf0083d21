using Proxima.Arrays;
using Proxima.Arrays.Storage;
using Proxima.Compute.Execution;
using Proxima.Compute.Query;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;
using Proxima.Shared;
using QuerySpec = Proxima.Compute.Query.QuerySpec;

namespace Proxima.RegionalWorker;

/// <summary>
/// Opens a work unit's dataset under the region root (confined: no path may leave it) and computes
/// its partial result with Compute's executor, reporting progress as chunks finish.
/// </summary>
internal sealed class WorkUnitRunner
{
    private readonly DatasetCache _datasets;
    private readonly ExecutionOptions _execution;

    public WorkUnitRunner(WorkerOptions options)
    {
        _datasets = new DatasetCache(new PosixStorage(options.DataRoot), new GridDatasetOptions { NetCdfMetadataCacheDirectory = options.MetadataCacheDirectory });
        _execution = new ExecutionOptions { MaxChunksInFlight = Math.Max(2, Environment.ProcessorCount) };
    }

    /// <summary>
    /// The number of chunks the unit's query touches (the router splits [0, n) into units) and the
    /// cells of its full answer (per op), without reading data.
    /// </summary>
    public async Task<(long Chunks, long OutputCells)> PlanAsync(WorkUnit unit, QuerySpec spec, CancellationToken cancellationToken)
    {
        var dataset = await OpenAsync(unit, cancellationToken);
        try
        {
            var plan = await QueryExecutor.PlanAsync(dataset, unit.Dataset, spec, cancellationToken);
            long cells = 1;
            foreach (var n in plan.Shape)
            {
                cells *= n;
            }

            return (plan.ChunkCount, cells);
        }
        catch (QueryValidationException ex)
        {
            throw new WorkUnitException(StatusCode.InvalidArgument, ex.Message, ex.Field);
        }
        catch (ArrayFormatException ex)
        {
            throw new WorkUnitException(StatusCode.DataLoss, $"dataset '{unit.Dataset}': {ex.Message}");
        }
        catch (StorageException ex)
        {
            throw new WorkUnitException(StatusCode.DataLoss, $"dataset '{unit.Dataset}': {ex.Message}");
        }
    }

    private async Task<GridDataset> OpenAsync(WorkUnit unit, CancellationToken cancellationToken)
    {
        GridDataset dataset;
        try
        {
            dataset = await _datasets.OpenAsync(unit.Path, unit.Fingerprint, cancellationToken);
        }
        catch (StorageException ex)
        {
            throw new WorkUnitException(StatusCode.NotFound, $"dataset '{unit.Dataset}' cannot be opened at '{unit.Path}': {ex.Message}");
        }
        catch (ArrayFormatException ex)
        {
            throw new WorkUnitException(StatusCode.DataLoss, $"dataset '{unit.Dataset}' is unreadable: {ex.Message}");
        }

        // Defence in depth: the dataset's own proxima_acl attribute (the catalog's source) is checked
        // here too, against the groups the router admitted the client with.
        var acl = DatasetAcl(dataset);
        if (!AccessCheck.Allows(acl, unit.Groups))
        {
            throw new WorkUnitException(StatusCode.PermissionDenied, $"dataset '{unit.Dataset}' is restricted to groups [{string.Join(", ", acl)}]");
        }

        return dataset;
    }

    private static List<string> DatasetAcl(GridDataset dataset)
    {
        var acl = new List<string>();
        if (dataset.Attributes.TryGetValue("proxima_acl", out var attr))
        {
            var raw = attr.Json.ValueKind == System.Text.Json.JsonValueKind.Array
                ? string.Join(",", attr.Json.EnumerateArray().Select(static x => x.ToString()))
                : attr.AsString();
            foreach (var g in raw.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries))
            {
                acl.Add(g);
            }
        }

        return acl;
    }

    public async Task<Protocol.V1.PartialResult> RunAsync(WorkUnit unit, QuerySpec spec, IProgress<Progress> progress, CancellationToken cancellationToken)
    {
        var dataset = await OpenAsync(unit, cancellationToken);

        // Synchronous (not System.Progress<T>, which posts to the thread pool): every report reaches the
        // coalescing stream writer before the unit's final message is written.
        var report = new InlineProgress<QueryProgress>(p => progress.Report(new Progress { ChunksDone = p.ChunksDone, ChunksTotal = p.ChunksTotal, BytesRead = p.BytesRead }));
        Compute.Execution.PartialResult partial;
        try
        {
            var plan = await QueryExecutor.PlanAsync(dataset, unit.Dataset, spec, cancellationToken);
            ChunkRange? range = unit.AllChunks ? null : new ChunkRange(checked((int)unit.ChunkStart), checked((int)(unit.ChunkEnd - unit.ChunkStart)));
            if (unit.ShareCount > 0)
            {
                if (unit.ShareIndex < 0 || unit.ShareIndex >= unit.ShareCount)
                {
                    throw new WorkUnitException(StatusCode.InvalidArgument, $"unit {unit.UnitId}: there is no share {unit.ShareIndex} of {unit.ShareCount}");
                }

                if (WorkShares.IsEmpty(plan.ChunkCount, unit.ShareIndex, unit.ShareCount))
                {
                    return EmptyShare(unit, plan.ChunkCount);
                }

                var (start, end) = WorkShares.Range(plan.ChunkCount, unit.ShareIndex, unit.ShareCount);
                range = new ChunkRange(checked((int)start), checked((int)(end - start)));
            }

            partial = await QueryExecutor.ExecuteAsync(plan, range, _execution, report, cancellationToken);
        }
        catch (QueryValidationException ex)
        {
            throw new WorkUnitException(StatusCode.InvalidArgument, ex.Message, ex.Field);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw new WorkUnitException(StatusCode.InvalidArgument, $"unit {unit.UnitId}: {ex.Message}");
        }
        catch (ArrayFormatException ex)
        {
            throw new WorkUnitException(StatusCode.DataLoss, $"dataset '{unit.Dataset}': {ex.Message}");
        }
        catch (StorageException ex)
        {
            throw new WorkUnitException(StatusCode.DataLoss, $"dataset '{unit.Dataset}': {ex.Message}");
        }

        return PartialResultMapping.ToWire(partial, unit.UnitId);
    }

    /// <summary>A share that gets no chunk: no data, just how many chunks the plan had (the router checks it).</summary>
    private static Protocol.V1.PartialResult EmptyShare(WorkUnit unit, long chunks) => new()
    {
        Dataset = unit.Dataset,
        UnitId = unit.UnitId,
        Stats = new UnitStats { Chunks = 0, ChunksTotal = chunks },
    };
}

/// <summary>An <see cref="IProgress{T}"/> that calls its handler on the reporting thread.</summary>
internal sealed class InlineProgress<T>(Action<T> handler) : IProgress<T>
{
    public void Report(T value) => handler(value);
}
