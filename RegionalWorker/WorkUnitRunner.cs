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
        _datasets = new DatasetCache(new PosixStorage(options.DataRoot));
        _execution = new ExecutionOptions { MaxChunksInFlight = Math.Max(2, Environment.ProcessorCount) };
    }

    public async Task<Protocol.V1.PartialResult> RunAsync(WorkUnit unit, QuerySpec spec, IProgress<Progress> progress, CancellationToken cancellationToken)
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

        ChunkRange? range = unit.AllChunks ? null : new ChunkRange(checked((int)unit.ChunkStart), checked((int)(unit.ChunkEnd - unit.ChunkStart)));
        var report = new Progress<QueryProgress>(p => progress.Report(new Progress { ChunksDone = p.ChunksDone, ChunksTotal = p.ChunksTotal, BytesRead = p.BytesRead }));
        Compute.Execution.PartialResult partial;
        try
        {
            partial = await QueryExecutor.ExecuteAsync(dataset, unit.Dataset, spec, range, _execution, report, cancellationToken);
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
}
