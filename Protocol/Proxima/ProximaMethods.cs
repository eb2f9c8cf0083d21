using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;

namespace Proxima.Protocol;

/// <summary>The gRPC methods of proxima.v1 (Protos/proxima/v1/proxima.proto).</summary>
public static class ProximaMethods
{
    private const string WorkerService = "proxima.v1.RegionalWorker";
    private const string RouterService = "proxima.v1.QueryRouter";

    public static GrpcMethod<WorkUnit, WorkerEvent> WorkerExecute { get; } =
        new(GrpcMethodType.ServerStreaming, WorkerService, "Execute", WorkUnit.Parser, WorkerEvent.Parser);

    public static GrpcMethod<PingRequest, PingResponse> WorkerPing { get; } =
        new(GrpcMethodType.Unary, WorkerService, "Ping", PingRequest.Parser, PingResponse.Parser);

    public static GrpcMethod<QueryRequest, QueryEvent> RouterQuery { get; } =
        new(GrpcMethodType.ServerStreaming, RouterService, "Query", QueryRequest.Parser, QueryEvent.Parser);

    public static GrpcMethod<PingRequest, PingResponse> RouterPing { get; } =
        new(GrpcMethodType.Unary, RouterService, "Ping", PingRequest.Parser, PingResponse.Parser);
}
