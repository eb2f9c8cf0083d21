using Proxima.Protocol.V1;

namespace Proxima.QueryRouter.Dispatch;

/// <summary>A connection to one regional worker (gRPC over HTTP/2 in production).</summary>
internal interface IWorkerChannel : IDisposable
{
    string Region { get; }

    Uri Address { get; }

    /// <summary>Runs a work unit; yields progress events and finally the partial result.</summary>
    IAsyncEnumerable<WorkerEvent> ExecuteAsync(WorkUnit unit, DateTime deadline, CancellationToken cancellationToken);

    /// <summary>Plans a work unit on the worker: its chunk count, without reading data.</summary>
    Task<UnitPlan> PlanAsync(WorkUnit unit, DateTime deadline, CancellationToken cancellationToken);

    Task<PingResponse> PingAsync(PingRequest request, DateTime deadline, CancellationToken cancellationToken);
}
