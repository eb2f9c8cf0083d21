using System.Diagnostics;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.Testing;
using Proxima.Protocol.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Proxima.Protocol.Tests;

/// <summary>Reports (does not assert) the loopback unary round trip of our client and server, and the
/// bytes allocated per call in this process (client + server together). Numbers go to the test output:
/// <c>dotnet test tests/Proxima.Protocol.Tests --filter LatencyReport --logger "console;verbosity=detailed"</c>.</summary>
public sealed class LatencyReportTests
{
    private readonly ITestOutputHelper _output;

    public LatencyReportTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public async Task LatencyReport_unary_round_trip_on_loopback_h2c()
    {
        var service = new InteropService();
        await using var server = await TestGrpcServer.StartAsync(service.Map);
        using var client = new GrpcClient(server.Address);
        var request = new EchoRequest { Payload = InteropService.Pattern(200), ResponseSize = 200 };
        for (var i = 0; i < 300; i++)
        {
            await client.UnaryAsync(InteropService.UnaryMethod, request);
        }

        const int n = 2000;
        var samples = new double[n];
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < n; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await client.UnaryAsync(InteropService.UnaryMethod, request);
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        var allocatedPerCall = (GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore) / n;
        Array.Sort(samples);
        var p50 = samples[n / 2];
        var p99 = samples[(int)(n * 0.99)];
        _output.WriteLine($"unary 200 B each way, h2c loopback, {n} sequential calls: p50 {p50:F3} ms, p99 {p99:F3} ms, ~{allocatedPerCall} B allocated per call (client+server)");
        Assert.True(p50 > 0);
        server.AssertNoErrors();
    }
}
