using Microsoft.Extensions.DependencyInjection;
using Proxima.Protocol;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;
using Proxima.Tests.Infrastructure;

namespace Proxima.RegionalWorker.Tests;

public sealed class UnitAdmissionTests
{
    [Fact]
    public async Task Units_beyond_the_running_limit_queue_and_beyond_the_queue_are_refused()
    {
        using var admission = new UnitAdmission(maxRunning: 2, maxQueued: 1);
        Assert.True(await admission.TryEnterAsync(CancellationToken.None));
        Assert.True(await admission.TryEnterAsync(CancellationToken.None));
        var third = admission.TryEnterAsync(CancellationToken.None).AsTask();
        Assert.False(third.IsCompleted);
        Assert.Equal(1, admission.Queued);
        Assert.False(await admission.TryEnterAsync(CancellationToken.None));
        admission.Exit();
        Assert.True(await third.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, admission.Queued);
    }

    [Fact]
    public async Task A_queued_unit_that_is_cancelled_leaves_the_queue()
    {
        using var admission = new UnitAdmission(maxRunning: 1, maxQueued: 1);
        Assert.True(await admission.TryEnterAsync(CancellationToken.None));
        using var cancel = new CancellationTokenSource();
        var waiting = admission.TryEnterAsync(cancel.Token).AsTask();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.Equal(0, admission.Queued);
        admission.Exit();
        Assert.True(await admission.TryEnterAsync(CancellationToken.None));
    }

    /// <summary>
    /// A real worker (Kestrel on 127.0.0.1, h2c) with MaxConcurrentUnits 1 and MaxQueuedUnits 1, its units
    /// held by fault injection: the first runs, the second waits, the third is refused with RESOURCE_EXHAUSTED
    /// naming the limits, a cancelled waiter frees its place, and never more than one unit runs.
    /// </summary>
    [Fact]
    public async Task A_worker_runs_at_most_MaxConcurrentUnits_queues_MaxQueuedUnits_and_refuses_the_rest()
    {
        using var root = new TempDirectory();
        var options = new WorkerOptions
        {
            Region = "r",
            DataRoot = root.Path,
            Name = "w0",
            MaxConcurrentUnits = 1,
            MaxQueuedUnits = 1,
            FaultDelay = TimeSpan.FromMinutes(5),
            FaultFraction = 1,
        };
        await using var app = WorkerHost.Build(options);
        await app.StartAsync();
        var metrics = app.Services.GetRequiredService<WorkerMetrics>();
        var admission = app.Services.GetRequiredService<UnitAdmission>();
        using var client = new GrpcClient(WorkerHost.GetUrl(app));

        using var first = new CancellationTokenSource();
        var running = RunAsync(client, "u1", first.Token);
        await WaitForAsync(() => metrics.Running == 1);
        using var second = new CancellationTokenSource();
        var queued = RunAsync(client, "u2", second.Token);
        await WaitForAsync(() => admission.Queued == 1);

        var refused = await Assert.ThrowsAsync<RpcException>(() => RunAsync(client, "u3", CancellationToken.None));
        Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        Assert.Contains("w0 is full: 1 unit(s) running and 1 queued", refused.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(1, metrics.Units.Get("refused"));

        await second.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => queued);
        await WaitForAsync(() => admission.Queued == 0);
        Assert.Equal(1, metrics.Running);

        await first.CancelAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => running);
        await WaitForAsync(() => metrics.Running == 0);
        Assert.Equal(1, metrics.PeakRunning);
        Assert.Contains("proxima_worker_units_running_peak 1\n", metrics.Render(), StringComparison.Ordinal);
        client.Dispose(); // close the HTTP/2 connection first, so the server's graceful stop has nothing to wait on
        await app.StopAsync();
    }

    private static async Task RunAsync(GrpcClient client, string unitId, CancellationToken cancellationToken)
    {
        var unit = new WorkUnit
        {
            QueryId = "q",
            UnitId = unitId,
            Dataset = "d",
            Path = "d.zarr",
            SpecJson = Google.Protobuf.ByteString.CopyFromUtf8("""{ "datasets": ["d"], "variable": "t" }"""),
            AllChunks = true,
        };
        await foreach (var _ in client.ServerStreamingAsync(ProximaMethods.WorkerExecute, unit, new GrpcCallOptions(Deadline: DateTime.UtcNow.AddMinutes(1), CancellationToken: cancellationToken), cancellationToken))
        {
        }
    }

    /// <summary>Polls an in-process condition with a bound (the worker's state changes on its own threads).</summary>
    private static async Task WaitForAsync(Func<bool> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "condition not reached within 20 s");
            await Task.Delay(10);
        }
    }
}
