using System.CommandLine;
using Microsoft.Extensions.Logging;
using Proxima.Cli.Local;
using Proxima.CatalogSync;

namespace Proxima.Cli.Commands;

/// <summary><c>proxima sync</c>: runs the catalog sync of one or every region now.</summary>
internal static class SyncCommand
{
    public static Command Create()
    {
        var region = new Option<string?>("--region") { Description = "Only this region (default: every worker region)" };
        var state = CommonOptions.State();
        var config = CommonOptions.Config();
        var dataRoot = new Option<string?>("--data-root") { Description = "Data root (default: the running federation's)" };
        var command = new Command("sync", """
            Scans each region's data root, registers every dataset's metadata in a new catalog generation and
            switches to it atomically (the nightly 00:00 UTC job, run now). Unchanged datasets cost a stat.

            Examples:
              proxima sync                      every region of the federation running with this --state
              proxima sync --region us-east-1 --data-root ./data
            """)
        {
            region, state, config, dataRoot,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var signal = new ShutdownSignal(cancellationToken);
            using var loggers = ConsoleLogging.Create(LogLevel.Warning);
            var stateDir = new StateDirectory(parse.GetValue(state)!);
            var running = stateDir.ReadRunFile();
            var root = parse.GetValue(dataRoot) ?? running?.DataRoot;
            if (root is null)
            {
                await Console.Error.WriteLineAsync("error: --data-root is required when no federation is running with this --state");
                return 2;
            }

            FederationFile federation;
            try
            {
                federation = FederationFile.Load(running?.ConfigPath ?? parse.GetValue(config)!);
            }
            catch (FederationFileException ex)
            {
                await Console.Error.WriteLineAsync($"error: {ex.Message}");
                return 2;
            }

            var only = parse.GetValue(region);
            if (only is not null && federation.Workers.All(w => w.Region != only))
            {
                await Console.Error.WriteLineAsync($"error: --region: '{only}' is not a worker region of the federation ({string.Join(", ", federation.Workers.Select(w => w.Region))})");
                return 2;
            }

            var failed = false;
            foreach (var worker in federation.Workers)
            {
                if (only is not null && worker.Region != only)
                {
                    continue;
                }

                var progress = new Progress<SyncProgress>(p => Console.Error.WriteLine("  " + p));
                var report = await CatalogSyncRunner.SyncRegionAsync(stateDir, worker.Region, Path.Combine(Path.GetFullPath(root), worker.Region), loggers, progress, signal.Token);
                Console.WriteLine($"{worker.Region}: {CatalogSyncRunner.Describe(report)}");
                foreach (var error in report.Errors)
                {
                    Console.WriteLine($"  skipped {error.Path}: {error.Message}");
                }

                failed |= report.Status is "failed" or "aborted";
            }

            return failed ? 1 : 0;
        });
        return command;
    }
}
