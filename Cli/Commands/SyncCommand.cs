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
        var dataRoot = new Option<string?>("--data-root") { Description = "Data root; region R is DIR/R (default: the running federation's)" };
        var regionRoot = new Option<string?>("--region-root")
        {
            Description = "The root of --region's data itself (the FSx mount in AWS): syncs that region without a federation file",
        };
        var fsx = new Option<string?>("--fsx-file-system-id")
        {
            Description = "With --region: ask this FSx for Lustre file system to re-import S3 metadata before the scan (default: PROXIMA_FSX_FILE_SYSTEM_ID)",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("PROXIMA_FSX_FILE_SYSTEM_ID") is { Length: > 0 } id ? id : null,
        };
        var metadataCache = new Option<string?>("--metadata-cache")
        {
            Description = "With --region: where the NetCDF collection metadata caches go (default: STATE/metadata-cache/REGION); workers read them with their --metadata-cache",
        };
        var command = new Command("sync", """
            Scans each region's data root, registers every dataset's metadata in a new catalog generation and
            switches to it atomically (the nightly 00:00 UTC job, run now). Unchanged datasets cost a stat.

            Examples:
              proxima sync                      every region of the federation running with this --state
              proxima sync --region us-east-1 --data-root ./data
              proxima sync --region us-east-1 --region-root /fsx --fsx-file-system-id fs-0123456789abcdef0
                                                the AWS sync task: FSx re-import, then a scan of the mount
            """)
        {
            region, state, config, dataRoot, regionRoot, fsx, metadataCache,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var signal = new ShutdownSignal(cancellationToken);
            using var loggers = ConsoleLogging.Create(LogLevel.Warning);
            var stateDir = new StateDirectory(parse.GetValue(state)!);
            var only = parse.GetValue(region);
            var extras = new RegionSyncExtras(parse.GetValue(fsx), parse.GetValue(metadataCache) is { } cache ? Path.GetFullPath(cache) : null);
            if (parse.GetValue(regionRoot) is { } ownRoot)
            {
                if (only is null)
                {
                    await Console.Error.WriteLineAsync("error: --region-root needs --region (the region whose data root it is)");
                    return 2;
                }

                return await SyncOneAsync(stateDir, only, Path.GetFullPath(ownRoot), extras, loggers, signal.Token) ? 1 : 0;
            }

            if (only is null && (extras.FsxFileSystemId is not null || extras.MetadataCache is not null))
            {
                await Console.Error.WriteLineAsync("error: --fsx-file-system-id and --metadata-cache belong to one region: add --region");
                return 2;
            }

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

                failed |= await SyncOneAsync(stateDir, worker.Region, Path.Combine(Path.GetFullPath(root), worker.Region), only is null ? RegionSyncExtras.None : extras, loggers, signal.Token);
            }

            return failed ? 1 : 0;
        });
        return command;
    }

    /// <summary>Syncs one region, printing its progress and outcome; true when the run failed or was aborted.</summary>
    private static async Task<bool> SyncOneAsync(StateDirectory state, string region, string regionRoot, RegionSyncExtras extras, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var progress = new Progress<SyncProgress>(p => Console.Error.WriteLine("  " + p));
        var report = await CatalogSyncRunner.SyncRegionAsync(state, region, regionRoot, loggers, progress, cancellationToken, extras);
        Console.WriteLine($"{region}: {CatalogSyncRunner.Describe(report)}");
        foreach (var error in report.Errors)
        {
            Console.WriteLine($"  skipped {error.Path}: {error.Message}");
        }

        return report.Status is "failed" or "aborted";
    }
}
