using System.Runtime.CompilerServices;
using Proxima.Protocol;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;

namespace Proxima.QueryRouter.Dispatch;

/// <summary>A worker reached over gRPC (HTTP/2; h2c or mutual TLS), with the address its pool peers use.</summary>
internal sealed class GrpcWorkerChannel(string region, Uri address, GrpcClientOptions? options = null, Uri? inRegionAddress = null) : IWorkerChannel
{
    private readonly GrpcClient _client = new(address, options ?? new GrpcClientOptions { MaxReceiveMessageSize = 256 * 1024 * 1024 });

    public string Region { get; } = region;

    public Uri Address { get; } = address;

    public Uri InRegionAddress { get; } = inRegionAddress ?? address;

    public async IAsyncEnumerable<WorkerEvent> ExecuteAsync(WorkUnit unit, DateTime deadline, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var options = new GrpcCallOptions(Deadline: deadline, CancellationToken: cancellationToken);
        await foreach (var e in _client.ServerStreamingAsync(ProximaMethods.WorkerExecute, unit, options, cancellationToken))
        {
            yield return e;
        }
    }

    public Task<UnitPlan> PlanAsync(WorkUnit unit, DateTime deadline, CancellationToken cancellationToken) =>
        _client.UnaryAsync(Shared.WorkerMethods.Plan, unit, new GrpcCallOptions(Deadline: deadline, CancellationToken: cancellationToken));

    public Task<PingResponse> PingAsync(PingRequest request, DateTime deadline, CancellationToken cancellationToken) =>
        _client.UnaryAsync(ProximaMethods.WorkerPing, request, new GrpcCallOptions(Deadline: deadline, CancellationToken: cancellationToken));

    public void Dispose() => _client.Dispose();
}
