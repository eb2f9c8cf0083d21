using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;
using QuerySpec = Proxima.Compute.Query.QuerySpec;

namespace Proxima.RegionalWorker;

/// <summary>Opens a work unit's dataset under the region root and computes its partial result.</summary>
internal sealed class WorkUnitRunner(WorkerOptions options)
{
    public Task<PartialResult> RunAsync(WorkUnit unit, QuerySpec spec, IProgress<Progress> progress, CancellationToken cancellationToken)
    {
        _ = options;
        _ = spec;
        _ = progress;
        _ = cancellationToken;
        throw new WorkUnitException(StatusCode.Unimplemented, $"unit {unit.UnitId}: execution is not wired yet");
    }
}
