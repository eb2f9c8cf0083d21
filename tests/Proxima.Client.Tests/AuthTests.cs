using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Proxima.Protocol;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;

namespace Proxima.Client.Tests;

/// <summary>
/// Token handling against real servers on loopback that enforce the auth contract (bearer token on
/// HTTP and gRPC; 401 / UNAUTHENTICATED otherwise), independent of whether the router does yet.
/// </summary>
public sealed class AuthTests : IAsyncLifetime
{
    private const string Secret = "s3cret-token";
    private WebApplication _app = null!;
    private Uri _http = null!;
    private Uri _grpc = null!;
    private readonly List<string?> _seen = [];
    private readonly TaskCompletionSource _serverCancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);


    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.ListenGrpcLoopback(port: 0);
            k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http1);
        });
        builder.Services.AddProximaGrpc();
        _app = builder.Build();
        _app.MapGrpcMethod(ProximaMethods.RouterQuery, async (QueryRequest request, IServerStreamWriter<QueryEvent> stream, GrpcServerCallContext context) =>
        {
            var auth = context.RequestHeaders.GetValue("authorization");
            lock (_seen)
            {
                _seen.Add(auth);
            }

            if (auth != "Bearer " + Secret)
            {
                throw new RpcException(StatusCode.Unauthenticated, "missing or wrong bearer token");
            }

            await stream.WriteAsync(new QueryEvent { Progress = new Progress { ChunksDone = 1, ChunksTotal = 2 } });
            var result = new Protocol.V1.DatasetResult { Dataset = request.Spec.Datasets[0], Variable = request.Spec.Variable };
            result.Dims.Add("x");
            result.Shape.Add(1);
            result.Coords.Add(new Coordinate { Name = "x", Values = { 0.5 } });
            result.Data["mean"] = new DoubleArray { Values = { 42 } };
            await stream.WriteAsync(new QueryEvent { Result = new QueryResponse { Results = { result }, Stats = new QueryStats() } });
        });
        _app.MapGet("/v1/datasets", (HttpContext http) =>
            http.Request.Headers.Authorization == "Bearer " + Secret
                ? Results.Text("""{"type":"FeatureCollection","features":[]}""", "application/geo+json")
                : Results.Json(new { error = new { code = "unauthenticated", message = "missing or wrong bearer token", field = (string?)null } }, statusCode: 401));
        await _app.StartAsync();
        var addresses = _app.Services.GetRequiredService<IServer>().GetListenAddresses();
        _grpc = addresses[0];
        _http = addresses[1];
    }

    public async Task DisposeAsync() => await _app.DisposeAsync();

    [Fact]
    public async Task A_missing_token_surfaces_as_an_authentication_exception_on_grpc_and_http()
    {
        using var client = new ProximaClient(new ProximaClientOptions { RouterUrl = _http, GrpcUrl = _grpc });
        var grpc = await Assert.ThrowsAsync<ProximaAuthenticationException>(() => client.Query("d").Variable("v").Mean("x").ExecuteAsync());
        Assert.Contains("bearer token", grpc.Message);
        Assert.Equal(401, grpc.HttpStatus);
        await Assert.ThrowsAsync<ProximaAuthenticationException>(() => client.SearchAsync(new CatalogSearch()));
        Assert.Equal([null], _seen);
    }

    [Fact]
    public async Task A_wrong_token_surfaces_as_an_authentication_exception()
    {
        using var client = new ProximaClient(new ProximaClientOptions { RouterUrl = _http, GrpcUrl = _grpc, Token = "nope" });
        await Assert.ThrowsAsync<ProximaAuthenticationException>(() => client.Query("d").Variable("v").Mean("x").ExecuteAsync());
        await Assert.ThrowsAsync<ProximaAuthenticationException>(() => client.SearchAsync(new CatalogSearch()));
    }

    [Fact]
    public async Task The_token_from_the_state_folder_is_sent_as_a_bearer_token()
    {
        var state = Directory.CreateTempSubdirectory("proxima-state-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(state, "federation.json"), $$"""{ "routerUrl": "{{_http}}", "routerGrpcUrl": "{{_grpc}}" }""");
            await File.WriteAllTextAsync(Path.Combine(state, "token"), Secret + "\n");
            using var client = ProximaClient.FromState(state);
            Assert.True(client.HasToken);
            var r = (await client.Query("d").Variable("v").Mean("x").ExecuteAsync()).Single();
            Assert.Equal(42, r["mean"][0]);
            Assert.Empty(await client.SearchAsync(new CatalogSearch()));
            Assert.Equal(["Bearer " + Secret], _seen);
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    [Fact]
    public async Task Cancelling_mid_query_resets_the_stream_and_the_server_sees_the_cancellation()
    {
        await using var slow = await SlowServer.StartAsync(_serverCancelled);
        using var client = new ProximaClient(new ProximaClientOptions { RouterUrl = _http, GrpcUrl = slow.Address });
        using var cts = new CancellationTokenSource();
        var reports = new List<QueryProgress>();
        var progress = new CallbackProgress(p =>
        {
            reports.Add(p);
            cts.Cancel();
        });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.Query("d").Variable("v").ExecuteAsync(progress, cts.Token));
        Assert.Equal(0.1, Assert.Single(reports).Fraction, 12);
        await _serverCancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void A_missing_state_folder_says_how_to_start_a_federation()
    {
        var ex = Assert.Throws<ProximaException>(() => ProximaClient.FromState("/nonexistent/proxima-state"));
        Assert.Contains("proxima up", ex.Message);
    }

    [Fact]
    public async Task An_unreachable_router_is_an_unavailable_exception()
    {
        using var client = new ProximaClient(new ProximaClientOptions { RouterUrl = new Uri("http://127.0.0.1:1/"), GrpcUrl = new Uri("http://127.0.0.1:1/") });
        var ex = await Assert.ThrowsAsync<ProximaUnavailableException>(() => client.Query("d").Variable("v").ExecuteAsync());
        Assert.Null(ex.Region);
        await Assert.ThrowsAsync<ProximaUnavailableException>(() => client.SearchAsync(new CatalogSearch()));
    }

    private sealed class CallbackProgress(Action<QueryProgress> report) : IProgress<QueryProgress>
    {
        public void Report(QueryProgress value) => report(value);
    }

    /// <summary>A router stand-in whose Query sends one progress event and then waits for cancellation.</summary>
    private sealed class SlowServer : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private SlowServer(WebApplication app, Uri address)
        {
            _app = app;
            Address = address;
        }

        public Uri Address { get; }

        public static async Task<SlowServer> StartAsync(TaskCompletionSource cancelled)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.ConfigureKestrel(k => k.ListenGrpcLoopback(port: 0));
            builder.Services.AddProximaGrpc();
            var app = builder.Build();
            app.MapGrpcMethod(ProximaMethods.RouterQuery, async (QueryRequest request, IServerStreamWriter<QueryEvent> stream, GrpcServerCallContext context) =>
            {
                await stream.WriteAsync(new QueryEvent { Progress = new Progress { ChunksDone = 1, ChunksTotal = 10 } });
                try
                {
                    await Task.Delay(Timeout.Infinite, context.CancellationToken);
                }
                finally
                {
                    cancelled.TrySetResult();
                }
            });
            await app.StartAsync();
            return new SlowServer(app, app.Services.GetRequiredService<IServer>().GetListenAddresses()[0]);
        }

        public async ValueTask DisposeAsync() => await _app.DisposeAsync();
    }
}
