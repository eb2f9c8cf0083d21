using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;
using Proxima.QueryRouter.Dispatch;

namespace Proxima.QueryRouter;

/// <summary>The router's gRPC API (proxima.v1.QueryRouter) for SDK clients.</summary>
internal sealed class RouterGrpcService(WorkerPools pools)
{
    /// <summary>A no-data round trip through a worker: client → router → worker → router → client.</summary>
    public async Task<PingResponse> PingAsync(PingRequest request, GrpcServerCallContext context)
    {
        var region = context.RequestHeaders.GetValue("proxima-region");
        string? target = region;
        if (target is null)
        {
            foreach (var r in pools.Regions)
            {
                target = r;
                break;
            }
        }

        if (target is null || !pools.Regions.Contains(target))
        {
            throw new RpcException(StatusCode.InvalidArgument, $"no workers for region '{target}'");
        }

        return await pools.Pick(target).PingAsync(request, context.Deadline, context.CancellationToken);
    }

    public Task QueryAsync(QueryRequest request, IServerStreamWriter<QueryEvent> responses, GrpcServerCallContext context)
    {
        _ = request;
        _ = responses;
        _ = context;
        throw new RpcException(StatusCode.Unimplemented, "gRPC queries arrive with the client SDK");
    }
}
