using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Proxima.Compute.Query;
using Proxima.Protocol;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;
using QuerySpec = Proxima.Compute.Query.QuerySpec;

namespace Proxima.RegionalWorker;

/// <summary>The gRPC face of a worker: validates a work unit, runs it, streams progress and the partial.</summary>
internal sealed class WorkerService(WorkerOptions options, WorkUnitRunner runner, Pool.PoolCoordinator coordinator, AdmissionLanes lanes, WorkerMetrics metrics, ILogger<WorkerService> logger)
{
    private readonly FaultSchedule faultSchedule = new();

    public Task<PingResponse> PingAsync(PingRequest request, GrpcServerCallContext context) =>
        Task.FromResult(new PingResponse { Region = options.Region, Worker = options.Name, Payload = request.Payload });

    public async Task<UnitPlan> PlanAsync(WorkUnit unit, GrpcServerCallContext context)
    {
        var spec = Parse(unit, context);
        try
        {
            var (chunks, cells) = await runner.PlanAsync(unit, spec, context.CancellationToken);
            metrics.Plans.Add();
            return new UnitPlan { UnitId = unit.UnitId, ChunkCount = chunks, OutputCells = cells, Worker = options.Name };
        }
        catch (WorkUnitException ex)
        {
            WorkerLog.UnitRejected(logger, unit.UnitId, unit.Dataset, ex.StatusCode.ToString(), ex.Message);
            if (ex.Field is not null)
            {
                context.ResponseTrailers.Add("proxima-field", ex.Field);
            }

            throw new RpcException(ex.StatusCode, ex.Message);
        }
    }

    private QuerySpec Parse(WorkUnit unit, GrpcServerCallContext context)
    {
        try
        {
            return QuerySpecParser.Parse(unit.SpecJson.Span);
        }
        catch (QueryValidationException ex)
        {
            WorkerLog.UnitRejected(logger, unit.UnitId, unit.Dataset, "InvalidArgument", ex.Message);
            if (ex.Field is not null)
            {
                context.ResponseTrailers.Add("proxima-field", ex.Field);
            }

            throw new RpcException(StatusCode.InvalidArgument, ex.Message);
        }
    }

    public async Task ExecuteAsync(WorkUnit unit, IServerStreamWriter<WorkerEvent> responses, GrpcServerCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var spec = Parse(unit, context);
        long cancelledAt = 0;
        using var onCancel = context.CancellationToken.Register(() => Interlocked.Exchange(ref cancelledAt, Stopwatch.GetTimestamp()));
        var admitted = false;
        var admission = lanes.For(unit);
        try
        {
            // At most MaxConcurrentUnits run; up to MaxQueuedUnits wait here (cancellably, the wait counts
            // in the unit's time); beyond that the router is told at once to go elsewhere.
            admitted = await admission.TryEnterAsync(context.CancellationToken);
            if (!admitted)
            {
                metrics.Units.Add("refused");
                WorkerLog.UnitRefused(logger, unit.UnitId, admission.MaxRunning, admission.MaxQueued);
                throw new RpcException(StatusCode.ResourceExhausted,
                    $"worker {options.Name} is full: {admission.MaxRunning} unit(s) running and {admission.MaxQueued} queued (MaxConcurrentUnits, MaxQueuedUnits); unit {unit.UnitId} was not started");
            }

            var share = unit.Coordinator.Length > 0;
            metrics.Started(share);
            try
            {
                await RunAsync(unit, spec, responses, context, started);
            }
            finally
            {
                metrics.Stopped(share);
            }

            metrics.Units.Add("ok");
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            var at = Interlocked.Read(ref cancelledAt);
            metrics.Units.Add("cancelled");
            metrics.CancelToStop.Observe(at == 0 ? TimeSpan.Zero : Stopwatch.GetElapsedTime(at));
            throw;
        }
        catch when (admitted)
        {
            metrics.Units.Add("error");
            throw;
        }
        finally
        {
            if (admitted)
            {
                admission.Exit();
                metrics.UnitLatency.Observe(Stopwatch.GetElapsedTime(started));
            }
        }
    }

    private async Task RunAsync(WorkUnit unit, QuerySpec spec, IServerStreamWriter<WorkerEvent> responses, GrpcServerCallContext context, long started)
    {
        try
        {
            var region = options.Region;
            var progress = new CoalescingProgress<WorkerEvent>(responses, p =>
            {
                p.Region = region;
                return new WorkerEvent { Progress = p };
            }, context.CancellationToken);
            if (options.FaultFraction > 0 && (options.FaultDatasets is null || options.FaultDatasets.Contains(unit.Dataset))
                && (!options.FaultSharesOnly || unit.Coordinator.Length > 0) && faultSchedule.NextIsDelayed(options.FaultFraction))
            {
                await Task.Delay(options.FaultDelay, context.CancellationToken);
            }

            PartialResult partial;
            if (unit.CoordinateShares > 0)
            {
                // Region-local merge: this worker's pool runs the unit's shares, one partial goes back (the
                // coordinator counts its own shares' reads in the metrics; the peers count theirs).
                partial = await coordinator.RunAsync(unit, spec, progress, context.Deadline, context.CancellationToken);
            }
            else
            {
                partial = await runner.RunAsync(unit, spec, progress, context.CancellationToken);
                metrics.BytesRead.Add(partial.Stats.BytesRead);
                metrics.Chunks.Add(partial.Stats.Chunks);
            }
            await progress.DrainAsync();
            partial.Stats.Ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            partial.Stats.Worker = options.Name;
            partial.Stats.Region = options.Region;
            await responses.WriteAsync(new WorkerEvent { Partial = partial }, context.CancellationToken);
            WorkerLog.UnitDone(logger, unit.UnitId, unit.Dataset, partial.Stats.Chunks, partial.Stats.ChunksTotal, partial.Stats.BytesRead, partial.Stats.Ms);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            WorkerLog.UnitCancelled(logger, unit.UnitId, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            throw;
        }
        catch (WorkUnitException ex)
        {
            WorkerLog.UnitRejected(logger, unit.UnitId, unit.Dataset, ex.StatusCode.ToString(), ex.Message);
            if (ex.Field is not null)
            {
                context.ResponseTrailers.Add("proxima-field", ex.Field);
            }

            throw new RpcException(ex.StatusCode, ex.Message);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            WorkerLog.UnitFailed(logger, unit.UnitId, unit.Dataset, ex);
            throw new RpcException(StatusCode.Internal, $"unit {unit.UnitId} failed on {options.Name}: {ex.Message}");
        }
    }
}

/// <summary>A work unit that cannot be run, with the gRPC status that says why.</summary>
internal sealed class WorkUnitException(StatusCode statusCode, string message, string? field = null) : Exception(message)
{
    public StatusCode StatusCode { get; } = statusCode;

    public string? Field { get; } = field;
}
