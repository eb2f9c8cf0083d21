using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;

namespace Proxima.Shared;

/// <summary>
/// Worker methods only the router and the worker use (the SDK never calls them), linked as source
/// into both so the method shape is defined once.
/// </summary>
internal static class WorkerMethods
{
    /// <summary>proxima.v1.RegionalWorker/Plan: a unit's chunk count, without reading data.</summary>
    public static GrpcMethod<WorkUnit, UnitPlan> Plan { get; } =
        new(GrpcMethodType.Unary, "proxima.v1.RegionalWorker", "Plan", WorkUnit.Parser, UnitPlan.Parser);
}
