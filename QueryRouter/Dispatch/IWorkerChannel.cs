using Proxima.Protocol.V1;

namespace Proxima.QueryRouter.Dispatch;

/// <summary>A connection to one regional worker (gRPC over HTTP/2 in production).</summary>
internal interface IWorkerChannel : IDisposable
{
    string Region { get; }

    Uri Address { get; }

    /// <summary>
    /// Where the worker's pool peers reach it (a coordinator's fan-out stays in the region): locally the worker's
    /// own port, not the link emulator the router goes through; in AWS the task address, the same as <see cref="Address"/>.
    /// </summary>
    Uri InRegionAddress => Address;

    /// <summary>Runs a work unit; yields progress events and finally the partial result.</summary>
    IAsyncEnumerable<WorkerEvent> ExecuteAsync(WorkUnit unit, DateTime deadline, CancellationToken cancellationToken);

    /// <summary>Plans a work unit on the worker: its chunk count, without reading data.</summary>
    Task<UnitPlan> PlanAsync(WorkUnit unit, DateTime deadline, CancellationToken cancellationToken);

    Task<PingResponse> PingAsync(PingRequest request, DateTime deadline, CancellationToken cancellationToken);
}
