using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Proxima.Cli.Local;
using Proxima.Protocol;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;

namespace Proxima.Benchmarks;

/// <summary>
/// Router overhead: p50/p99 of a no-data round trip client → router → worker → router → client on
/// loopback with no link emulator, next to the same call made straight to the worker (the floor).
/// Goal (issue 2): p50 ≤ 2 ms.
/// </summary>
internal static class RouterOverheadBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var iterations = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 5000;
        using var temp = new TempFolder();
        var config = Path.Combine(temp.Path, "variables.json");
        await File.WriteAllTextAsync(config, """
            { "client": { "region": "eu-west-2", "cidr": "10.0.0.0/16" },
              "workers": [ { "region": "us-east-1", "cidr": "10.1.0.0/16", "dataset": "s3://bench-data", "lustreFileSystemPath": "bench" } ] }
            """);
        using var loggers = ConsoleLogging.Create(LogLevel.Warning);
        await using var federation = await LocalFederation.StartAsync(new LocalFederationOptions
        {
            ConfigPath = config,
            DataRoot = Path.Combine(temp.Path, "data"),
            State = new StateDirectory(Path.Combine(temp.Path, "state")),
            Direct = true,
        }, loggers, CancellationToken.None);
        var running = federation.Running!;

        // Workers speak mutual TLS and the router wants the bearer token (both from the state folder).
        var token = (await File.ReadAllTextAsync(federation.TokenPath)).Trim();
        using var router = new GrpcClient(new Uri(running.RouterGrpcUrl));
        using var worker = new GrpcClient(new Uri(running.Workers[0].Url), new GrpcClientOptions { HttpHandler = RegionalWorker.WorkerCertificates.CreateRouterHandler(federation.CertificatesDirectory) });
        using var http = new HttpClient { BaseAddress = new Uri(running.RouterUrl) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        var auth = new GrpcCallOptions(Headers: new Metadata { { "authorization", "Bearer " + token } });

        var direct = await MeasureAsync(iterations, () => worker.UnaryAsync(ProximaMethods.WorkerPing, new PingRequest()));
        var viaRouter = await MeasureAsync(iterations, () => router.UnaryAsync(ProximaMethods.RouterPing, new PingRequest(), auth));
        var viaHttp = await MeasureAsync(iterations, () => http.GetStringAsync("v1/ping"));

        Console.WriteLine($"router-overhead: {iterations} no-data round trips each, loopback, no link emulator, {Environment.ProcessorCount} cores");
        Console.WriteLine($"{"path",-46} {"p50 ms",8} {"p99 ms",8} {"mean ms",8}");
        Print("client -> worker (gRPC, the floor)", direct);
        Print("client -> router -> worker -> back (gRPC)", viaRouter);
        Print("client -> router -> worker -> back (HTTP/1.1)", viaHttp);
        Console.WriteLine($"router adds (gRPC p50): {viaRouter.P50 - direct.P50:0.000} ms; ratio to direct p50: {viaRouter.P50 / direct.P50:0.00}x");
        Console.WriteLine($"goal p50 <= 2 ms via router: {(viaRouter.P50 <= 2 ? "met" : "NOT met")} ({viaRouter.P50:0.000} ms)");
        return 0;
    }

    private static void Print(string name, Percentiles p) =>
        Console.WriteLine($"{name,-46} {p.P50,8:0.000} {p.P99,8:0.000} {p.Mean,8:0.000}");

    private static async Task<Percentiles> MeasureAsync<T>(int iterations, Func<Task<T>> call)
    {
        for (var i = 0; i < Math.Min(500, iterations); i++)
        {
            await call();
        }

        var samples = new double[iterations];
        for (var i = 0; i < iterations; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await call();
            samples[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        Array.Sort(samples);
        return new Percentiles(samples[iterations / 2], samples[(int)(iterations * 0.99)], samples.Average());
    }

    private readonly record struct Percentiles(double P50, double P99, double Mean);

    private sealed class TempFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("proxima-bench-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
