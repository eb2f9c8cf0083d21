using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Proxima.Arrays.Storage;
using Proxima.Catalog;
using Proxima.CatalogSync.Discovery;
using Proxima.CatalogSync.Fsx;

namespace Proxima.CatalogSync;

/// <summary>
/// One sync run of one region (DESIGN.md §3): optional FSx import, then a scan of the region root that opens only
/// new or changed datasets (fingerprint = stat of metadata files), writes them into a new catalog generation,
/// removes vanished ones and switches atomically. A dataset that cannot be read is reported and skipped (its previous
/// document, if any, is kept). Any run-level failure aborts the generation; the previous one stays live.
/// </summary>
public static class SyncRunner
{
    /// <summary>Runs a sync. Returns the report (also stored in the catalog); status <c>failed</c> carries <see cref="SyncReport.Message"/>.</summary>
    /// <exception cref="OperationCanceledException">Cancelled; the generation was aborted.</exception>
    public static async Task<SyncReport> RunAsync(SyncOptions options, IProgress<SyncProgress>? progress = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        logger ??= NullLogger.Instance;
        var time = options.TimeProvider;
        var started = time.GetUtcNow();
        long t0 = time.GetTimestamp();
        string runId = options.RunId ?? string.Create(CultureInfo.InvariantCulture, $"{started.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}-{Random.Shared.Next(0x10000):x4}").ToLowerInvariant();
        string region = options.Region;
        var catalog = options.Catalog;
        var state = new RunState(region, time, t0, options.ProgressInterval, progress);
        SyncLog.RunStarted(logger, region, runId, options.RegionRoot);

        SyncReport Report(string status, string? message = null) => new()
        {
            Region = region,
            RunId = runId,
            Status = status,
            StartedUtc = started,
            FinishedUtc = time.GetUtcNow(),
            Found = state.Found,
            Registered = state.Registered,
            Unchanged = state.Unchanged,
            Removed = state.Removed,
            Failed = state.Failed,
            Writes = state.Registered + state.Removed,
            Errors = [.. state.Errors.OrderBy(e => e.Path, StringComparer.Ordinal)],
            Message = message,
        };

        async Task<SyncReport> FailWithoutGeneration(string message)
        {
            SyncLog.RunFailed(logger, region, runId, message);
            var r = Report("failed", message);
            await catalog.RecordReportAsync(r, CancellationToken.None).ConfigureAwait(false);
            return r;
        }

        string root = Path.GetFullPath(options.RegionRoot);
        if (!Directory.Exists(root))
        {
            return await FailWithoutGeneration($"region root '{root}' does not exist").ConfigureAwait(false);
        }

        if (options.FsxFileSystemId is { } fsId)
        {
            state.Report("fsx-import", force: true);
            try
            {
                await options.Fsx!.ImportMetadataAsync(fsId, cancellationToken).ConfigureAwait(false);
            }
            catch (FsxException e)
            {
                return await FailWithoutGeneration("FSx import failed: " + e.Message).ConfigureAwait(false);
            }
        }

        var live = await catalog.GetFingerprintsAsync(region, cancellationToken).ConfigureAwait(false);
        var byUri = new Dictionary<string, DatasetFingerprint>(live.Count, StringComparer.Ordinal);
        foreach (var f in live)
        {
            byUri[f.Uri] = f;
        }

        ICatalogGeneration generation;
        try
        {
            generation = await catalog.BeginGenerationAsync(region, runId, cancellationToken).ConfigureAwait(false);
        }
        catch (CatalogBusyException e)
        {
            return await FailWithoutGeneration(e.Message).ConfigureAwait(false);
        }

        await using (generation.ConfigureAwait(false))
        {
            try
            {
                var claimed = new ConcurrentDictionary<string, string>(StringComparer.Ordinal); // id -> uri
                var unreadable = new ConcurrentBag<string>(); // directories that could not be listed: keep what was under them
                var channel = Channel.CreateBounded<DatasetDocument>(new BoundedChannelOptions(options.BatchSize * 2) { SingleReader = true });
                var writer = WriteBatchesAsync(channel, generation, options.BatchSize, cancellationToken);
                var storage = new PosixStorage(root);
                var openOptions = new Proxima.Arrays.GridDatasetOptions { NetCdfMetadataCacheDirectory = options.MetadataCacheDirectory };
                try
                {
                    void OnUnreadable(string dir, string message)
                    {
                        unreadable.Add(dir);
                        state.AddError(dir.Length == 0 ? "." : dir + "/", "directory cannot be listed: " + message);
                    }

                    await Parallel.ForEachAsync(StoreDiscovery.DiscoverAsync(root, OnUnreadable, cancellationToken, options.DirectoryLister),
                        new ParallelOptions { MaxDegreeOfParallelism = options.Parallelism, CancellationToken = cancellationToken },
                        async (store, ct) =>
                        {
                            state.IncrementFound();
                            if (byUri.TryGetValue(store.RelativePath, out var old) && old.Fingerprint == store.Fingerprint)
                            {
                                if (claimed.TryAdd(old.Id, store.RelativePath))
                                {
                                    state.IncrementUnchanged();
                                }
                                else
                                {
                                    state.AddError(store.RelativePath, $"dataset id '{old.Id}' is also used by '{claimed[old.Id]}'");
                                }

                                return;
                            }

                            DatasetDocument doc;
                            try
                            {
                                doc = await DocumentBuilder.BuildAsync(storage, root, store, region, options.Pool, options.ComputeBytes, openOptions, ct).ConfigureAwait(false);
                            }
                            catch (Exception e) when (e is not OperationCanceledException)
                            {
                                SyncLog.DatasetFailed(logger, region, store.RelativePath, e.Message);
                                state.AddError(store.RelativePath, e.Message);
                                if (old is not null)
                                {
                                    claimed.TryAdd(old.Id, store.RelativePath); // keep the last good document
                                }

                                return;
                            }

                            if (!claimed.TryAdd(doc.Id, store.RelativePath))
                            {
                                state.AddError(store.RelativePath, $"dataset id '{doc.Id}' is also used by '{claimed[doc.Id]}'");
                                return;
                            }

                            await channel.Writer.WriteAsync(doc with { SyncRun = runId }, ct).ConfigureAwait(false);
                            state.IncrementRegistered();
                        }).ConfigureAwait(false);
                    channel.Writer.TryComplete();
                }
                catch (Exception e)
                {
                    channel.Writer.TryComplete(e);
                    throw;
                }
                finally
                {
                    await writer.ConfigureAwait(false);
                }

                var removed = new List<string>();
                foreach (var f in live)
                {
                    if (!claimed.ContainsKey(f.Id) && !UnderAny(f.Uri, unreadable))
                    {
                        removed.Add(f.Id);
                    }
                }

                if (state.Found == 0 && live.Count > 0 && !options.AllowEmpty)
                {
                    string msg = $"found no datasets under '{root}' but {live.Count} are registered; refusing to empty the region (set AllowEmpty to allow)";
                    var r = Report("aborted", msg);
                    await generation.AbortAsync(r, CancellationToken.None).ConfigureAwait(false);
                    SyncLog.RunFailed(logger, region, runId, msg);
                    return r;
                }

                state.Report("commit", force: true);
                if (removed.Count > 0)
                {
                    await generation.RemoveAsync(removed, cancellationToken).ConfigureAwait(false);
                }

                state.SetRemoved(removed.Count);
                var report = Report(state.Registered + removed.Count == 0 ? "unchanged" : "committed");
                await generation.CommitAsync(report, cancellationToken).ConfigureAwait(false);
                state.Report("done", force: true);
                SyncLog.RunCommitted(logger, region, runId, report.Found, report.Registered, report.Unchanged, report.Removed, report.Failed, report.DurationSeconds);
                return report;
            }
            catch (OperationCanceledException)
            {
                await generation.AbortAsync(Report("aborted", "cancelled"), CancellationToken.None).ConfigureAwait(false);
                throw;
            }
            catch (Exception e) when (e is CatalogException or IOException or UnauthorizedAccessException or InvalidOperationException or StorageException or ChannelClosedException)
            {
                string msg = e.Message;
                SyncLog.RunFailed(logger, region, runId, msg);
                var r = Report("failed", msg);
                try
                {
                    await generation.AbortAsync(r, CancellationToken.None).ConfigureAwait(false);
                }
                catch (CatalogException)
                {
                    // The catalog itself is failing; the next run cleans up.
                }

                return r;
            }
        }
    }

    private static bool UnderAny(string uri, IEnumerable<string> dirs)
    {
        foreach (string d in dirs)
        {
            if (d.Length == 0 || uri.StartsWith(d + "/", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static async Task WriteBatchesAsync(Channel<DatasetDocument> channel, ICatalogGeneration generation, int batchSize, CancellationToken ct)
    {
        await Task.Yield();
        var batch = new List<DatasetDocument>(batchSize);
        try
        {
            while (await channel.Reader.WaitToReadAsync(ct).ConfigureAwait(false))
            {
                while (batch.Count < batchSize && channel.Reader.TryRead(out var d))
                {
                    batch.Add(d);
                }

                if (batch.Count > 0)
                {
                    await generation.UpsertAsync(batch.ToArray(), ct).ConfigureAwait(false);
                    batch.Clear();
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Unblock producers waiting on a full channel; they see the failure as ChannelClosedException.
            channel.Writer.TryComplete(e);
            throw;
        }
    }

    private sealed class RunState(string region, TimeProvider time, long t0, TimeSpan interval, IProgress<SyncProgress>? progress)
    {
        private int _found, _registered, _unchanged, _removed, _failed;
        private long _lastReport;

        public ConcurrentBag<DatasetError> Errors { get; } = [];

        public int Found => Volatile.Read(ref _found);
        public int Registered => Volatile.Read(ref _registered);
        public int Unchanged => Volatile.Read(ref _unchanged);
        public int Removed => Volatile.Read(ref _removed);
        public int Failed => Volatile.Read(ref _failed);

        public void IncrementFound() => Interlocked.Increment(ref _found);

        public void IncrementUnchanged()
        {
            Interlocked.Increment(ref _unchanged);
            Report("scan", force: false);
        }

        public void IncrementRegistered()
        {
            Interlocked.Increment(ref _registered);
            Report("scan", force: false);
        }

        public void SetRemoved(int n) => Volatile.Write(ref _removed, n);

        public void AddError(string path, string message)
        {
            Errors.Add(new DatasetError(path, message));
            Interlocked.Increment(ref _failed);
            Report("scan", force: false);
        }

        public void Report(string phase, bool force)
        {
            if (progress is null)
            {
                return;
            }

            long now = time.GetTimestamp();
            long last = Volatile.Read(ref _lastReport);
            if (!force && time.GetElapsedTime(last, now) < interval)
            {
                return;
            }

            if (!force && Interlocked.CompareExchange(ref _lastReport, now, last) != last)
            {
                return;
            }

            Volatile.Write(ref _lastReport, now);
            progress.Report(new SyncProgress
            {
                Region = region,
                Phase = phase,
                Found = Found,
                Registered = Registered,
                Unchanged = Unchanged,
                Removed = Removed,
                Failed = Failed,
                Elapsed = time.GetElapsedTime(t0, now),
            });
        }
    }
}

internal static partial class SyncLog
{
    [LoggerMessage(1, LogLevel.Information, "Sync {Region} run {RunId} started on {Root}")]
    public static partial void RunStarted(ILogger logger, string region, string runId, string root);

    [LoggerMessage(2, LogLevel.Information, "Sync {Region} run {RunId}: found {Found}, registered {Registered}, unchanged {Unchanged}, removed {Removed}, failed {Failed} in {Seconds:0.00}s")]
    public static partial void RunCommitted(ILogger logger, string region, string runId, int found, int registered, int unchanged, int removed, int failed, double seconds);

    [LoggerMessage(3, LogLevel.Error, "Sync {Region} run {RunId} failed; previous generation stays live: {Message}")]
    public static partial void RunFailed(ILogger logger, string region, string runId, string message);

    [LoggerMessage(4, LogLevel.Warning, "Sync {Region}: skipping unreadable dataset {Path}: {Message}")]
    public static partial void DatasetFailed(ILogger logger, string region, string path, string message);
}
