using System.CommandLine;
using Microsoft.Extensions.Logging;
using Proxima.Cli.Local;

namespace Proxima.Cli.Commands;

/// <summary><c>proxima up</c>: runs a local federation until interrupted.</summary>
internal static class UpCommand
{
    public static Command Create()
    {
        var config = CommonOptions.Config();
        var dataRoot = new Option<string>("--data-root") { Description = "Data root; region R serves DIR/R/", Required = true };
        var port = new Option<int>("--port") { Description = "Router HTTP port (0 = any free port)", DefaultValueFactory = _ => 8080 };
        var state = CommonOptions.State();
        var latency = new Option<double>("--latency-ms") { Description = "One-way latency of each cross-region link", DefaultValueFactory = _ => 40 };
        var bandwidth = new Option<double>("--bandwidth-mbit") { Description = "Bandwidth of each direction of a cross-region link (0 = unlimited)", DefaultValueFactory = _ => 200 };
        var direct = new Option<bool>("--direct") { Description = "No link emulator: the router talks to workers directly (overhead benchmarks)" };
        var command = new Command("up", """
            Runs the router and one worker pool per worker region as separate processes on loopback, with a
            link emulator (latency, bandwidth, byte counts) between the client region and each worker region.
            Syncs every region's catalog at start and nightly at 00:00 UTC. Runs until interrupted.

            Examples:
              proxima up --config bin/variables.json --data-root ./data --port 8080
              proxima up --data-root ./data --port 0 --latency-ms 2      any free port, a near-zero link
            """)
        {
            config, dataRoot, port, state, latency, bandwidth, direct,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var signal = new ShutdownSignal(cancellationToken);
            using var loggers = ConsoleLogging.Create();
            var options = new LocalFederationOptions
            {
                ConfigPath = parse.GetValue(config)!,
                DataRoot = parse.GetValue(dataRoot)!,
                State = new StateDirectory(parse.GetValue(state)!),
                RouterPort = parse.GetValue(port),
                Link = LinkFromOptions(parse.GetValue(latency), parse.GetValue(bandwidth)),
                Direct = parse.GetValue(direct),
            };
            return await RunAsync(options, loggers, Console.Out, signal.Token);
        });
        return command;
    }

    public static LinkSettings LinkFromOptions(double latencyMs, double bandwidthMbit) => new()
    {
        Latency = TimeSpan.FromMilliseconds(latencyMs),
        BitsPerSecond = (long)(bandwidthMbit * 1_000_000),
    };

    public static async Task<int> RunAsync(LocalFederationOptions options, ILoggerFactory loggers, TextWriter output, CancellationToken cancellationToken)
    {
        var logger = loggers.CreateLogger("Proxima.Up");
        LocalFederation federation;
        try
        {
            federation = await LocalFederation.StartAsync(options, loggers, cancellationToken);
        }
        catch (FederationFileException ex)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}");
            return 2;
        }
        catch (OperationCanceledException)
        {
            return 0;
        }

        await using (federation)
        {
            var running = federation.Running!;
            await output.WriteLineAsync($"Router: {running.RouterUrl}");
            await output.WriteLineAsync($"Router gRPC: {running.RouterGrpcUrl}");
            await output.WriteLineAsync($"Token: {federation.TokenPath}");
            foreach (var worker in running.Workers)
            {
                var via = options.Direct ? "direct, no link emulator" : $"via link {worker.LinkUrl}, {options.Link}";
                await output.WriteLineAsync($"Worker {worker.Region}#{worker.Index}: {worker.Url} ({via})");
            }

            await using var scheduler = await SyncScheduler.StartAsync(options, federation.Federation, loggers, cancellationToken);
            await output.WriteLineAsync($"State: {options.State.Root}   (Ctrl-C to stop)");
            await output.FlushAsync(cancellationToken);

            var crashed = federation.WhenAnyServiceExits();
            var stopped = Task.Delay(Timeout.Infinite, cancellationToken);
            var first = await Task.WhenAny(crashed, stopped);
            // A child that exits while a requested shutdown is under way (the federation stops its children on the same
            // token) is the shutdown, not a crash: exit code 0 either way the race goes.
            if (first == crashed && !cancellationToken.IsCancellationRequested)
            {
                var child = await crashed;
                SupervisorLog.ChildDied(logger, child.Name, child.ExitCode);
                return 1;
            }
        }

        return 0;
    }
}
