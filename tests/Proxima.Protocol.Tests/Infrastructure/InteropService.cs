using System.Collections.Concurrent;
using Google.Protobuf;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.Testing;

namespace Proxima.Protocol.Tests.Infrastructure;

/// <summary>Our implementation of proxima.testing.Interop, with the same behaviour as
/// tests/Proxima.InteropTests/python/server.py. Early call ends are published as events.</summary>
public sealed class InteropService
{
    public static readonly GrpcMethod<EchoRequest, EchoResponse> UnaryMethod =
        new(GrpcMethodType.Unary, "proxima.testing.Interop", "Unary", EchoRequest.Parser, EchoResponse.Parser);

    public static readonly GrpcMethod<EchoRequest, EchoResponse> StreamMethod =
        new(GrpcMethodType.ServerStreaming, "proxima.testing.Interop", "Stream", EchoRequest.Parser, EchoResponse.Parser);

    public static readonly GrpcMethod<EchoRequest, EchoResponse> MissingMethod =
        new(GrpcMethodType.Unary, "proxima.testing.Interop", "Nope", EchoRequest.Parser, EchoResponse.Parser);

    private readonly ConcurrentDictionary<string, TaskCompletionSource<string>> _events = new(StringComparer.Ordinal);

    /// <summary>Waits for the early end ("Unary CANCELLED", "Stream DEADLINE") of the call that sent
    /// metadata <c>x-tag: {tag}</c>.</summary>
    public async Task<string> WaitForEventAsync(string tag, TimeSpan? timeout = null)
    {
        var tcs = _events.GetOrAdd(tag, _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously));
        return await tcs.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(10));
    }

    /// <summary>Last deadline seen by a handler (to check grpc-timeout propagation).</summary>
    public DateTime LastDeadline { get; private set; }

    public static ByteString Pattern(int n)
    {
        var bytes = new byte[n];
        for (var i = 0; i < n; i++)
        {
            bytes[i] = (byte)(i % 251);
        }

        return ByteString.CopyFrom(bytes);
    }

    public void Map(Microsoft.AspNetCore.Routing.IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcMethod(UnaryMethod, UnaryAsync);
        endpoints.MapGrpcMethod(StreamMethod, StreamAsync);
    }

    /// <summary>Peer and host of the last unary call.</summary>
    public string? LastPeer { get; private set; }

    public string? LastHost { get; private set; }

    /// <summary>grpc-encoding of the last unary request (null when absent).</summary>
    public string? LastRequestEncoding { get; private set; }

    public async Task<EchoResponse> UnaryAsync(EchoRequest request, GrpcServerCallContext context)
    {
        LastDeadline = context.Deadline;
        LastPeer = context.Peer;
        LastHost = context.Host;
        LastRequestEncoding = context.GetHttpContext().Request.Headers["grpc-encoding"].FirstOrDefault();
        await EchoMetadataAsync(request, context);
        await WaitAsync("Unary", request, context);
        FailIfAsked(request);
        return new EchoResponse { Payload = Pattern(request.ResponseSize), ReceivedBytes = request.Payload.Length };
    }

    public async Task StreamAsync(EchoRequest request, IServerStreamWriter<EchoResponse> writer, GrpcServerCallContext context)
    {
        LastDeadline = context.Deadline;
        await EchoMetadataAsync(request, context);
        var count = Math.Max(request.StreamCount, 1);
        for (var i = 0; i < count; i++)
        {
            await writer.WriteAsync(new EchoResponse { Payload = Pattern(request.ResponseSize), Index = i, ReceivedBytes = request.Payload.Length });
            if (i == 0)
            {
                await WaitAsync("Stream", request, context);
            }
        }

        FailIfAsked(request);
    }

    private static async Task EchoMetadataAsync(EchoRequest request, GrpcServerCallContext context)
    {
        if (!request.EchoMetadata)
        {
            return;
        }

        var headers = new Metadata();
        foreach (var entry in context.RequestHeaders)
        {
            if (entry.Key.StartsWith("x-", StringComparison.Ordinal))
            {
                headers.Add(entry);
                context.ResponseTrailers.Add(entry.IsBinary ? new Metadata.Entry("t-" + entry.Key, entry.ValueBytes) : new Metadata.Entry("t-" + entry.Key, entry.Value));
            }
        }

        await context.WriteResponseHeadersAsync(headers);
    }

    private async Task WaitAsync(string method, EchoRequest request, GrpcServerCallContext context)
    {
        if (request.DelayMs <= 0)
        {
            return;
        }

        try
        {
            await Task.Delay(request.DelayMs, context.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            var kind = DateTime.UtcNow >= context.Deadline ? "DEADLINE" : "CANCELLED";
            var tag = context.RequestHeaders.GetValue("x-tag");
            if (tag is not null)
            {
                _events.GetOrAdd(tag, _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(method + " " + kind);
            }

            throw;
        }
    }

    private static void FailIfAsked(EchoRequest request)
    {
        if (request.StatusCode != 0)
        {
            throw new RpcException((StatusCode)request.StatusCode, request.StatusMessage);
        }
    }
}
