using Proxima.Protocol;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;
using Proxima.QueryRouter.Dispatch;
using Proxima.QueryRouter.Grpc;
using Proxima.QueryRouter.Http;

namespace Proxima.QueryRouter;

/// <summary>The router's gRPC API (proxima.v1.QueryRouter) for SDK clients.</summary>
internal sealed class RouterGrpcService(WorkerPools pools, QueryService queries, Security.RouterAuth auth)
{
    private async Task<Security.ClientIdentity> AuthenticateAsync(GrpcServerCallContext context)
    {
        var result = await auth.AuthenticateAsync(context.RequestHeaders.GetValue("authorization"), context.CancellationToken);
        return result.Identity ?? throw new RpcException(StatusCode.Unauthenticated, result.Reason!);
    }

    /// <summary>A no-data round trip through a worker: client → router → worker → router → client.</summary>
    public async Task<PingResponse> PingAsync(PingRequest request, GrpcServerCallContext context)
    {
        await AuthenticateAsync(context);
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

    /// <summary>Runs a query; streams progress as chunks finish, then the typed result.</summary>
    public async Task QueryAsync(QueryRequest request, IServerStreamWriter<QueryEvent> responses, GrpcServerCallContext context)
    {
        var client = await AuthenticateAsync(context);
        if (request.Spec is null)
        {
            throw new RpcException(StatusCode.InvalidArgument, "QueryRequest.spec is required");
        }

        var progress = new CoalescingProgress<QueryEvent>(responses, static p => new QueryEvent { Progress = p }, context.CancellationToken);
        QueryAnswer answer;
        try
        {
            answer = await queries.RunAsync(QuerySpecJson.ToUtf8(request.Spec), client, progress, context.CancellationToken);
        }
        catch (QueryError ex)
        {
            if (ex.Field is not null)
            {
                context.ResponseTrailers.Add("proxima-field", ex.Field);
            }

            context.ResponseTrailers.Add("proxima-code", ex.Code);
            if (ex.Region is not null)
            {
                context.ResponseTrailers.Add("proxima-region", ex.Region);
            }

            throw new RpcException(ToStatusCode(ex.HttpStatus), ex.Message);
        }

        await progress.DrainAsync();
        if (!request.Encoded)
        {
            await responses.WriteAsync(new QueryEvent { Result = ResultMessages.ToResponse(answer) }, context.CancellationToken);
            return;
        }

        byte[] body;
        string contentType;
        try
        {
            (body, contentType) = ResultAssembly.Encode(answer);
        }
        catch (QueryError ex)
        {
            throw new RpcException(ToStatusCode(ex.HttpStatus), ex.Message);
        }

        for (var offset = 0; offset == 0 || offset < body.Length; offset += EncodedPieceBytes)
        {
            var piece = body.AsMemory(offset, Math.Min(EncodedPieceBytes, body.Length - offset));
            await responses.WriteAsync(new QueryEvent { Encoded = new EncodedPiece { ContentType = contentType, Data = Google.Protobuf.ByteString.CopyFrom(piece.Span) } }, context.CancellationToken);
        }
    }

    /// <summary>Encoded answers travel in pieces well under any gRPC message size limit.</summary>
    private const int EncodedPieceBytes = 1 << 20;

    private static StatusCode ToStatusCode(int httpStatus) => httpStatus switch
    {
        400 => StatusCode.InvalidArgument,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.NotFound,
        413 or 429 => StatusCode.ResourceExhausted,
        503 => StatusCode.Unavailable,
        504 => StatusCode.DeadlineExceeded,
        _ => StatusCode.Internal,
    };
}
