using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Proxima.Catalog;
using Quartz;

namespace Proxima.CatalogSync.Scheduling;

/// <summary>Options for <see cref="SyncScheduler"/>.</summary>
public sealed record SyncScheduleOptions
{
    /// <summary>Quartz cron expression, evaluated in UTC. Default: every day at 00:00:00 UTC.</summary>
    public string Cron { get; init; } = "0 0 0 * * ?";

    /// <summary>One entry per region; each run syncs all of them (in parallel).</summary>
    public required IReadOnlyList<SyncOptions> Regions { get; init; }

    /// <summary>Run once at start-up regardless of history (what <c>proxima up</c> does, as the AWS deployment does at deploy time).</summary>
    public bool RunAtStart { get; init; }

    /// <summary>Clock for the cron trigger, the catch-up decision and the runs.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>How long <see cref="SyncScheduler.StopAsync"/> lets a running sync finish before cancelling it.</summary>
    public TimeSpan ShutdownGrace { get; init; } = TimeSpan.FromSeconds(30);

    internal void Validate()
    {
        if (Regions.Count == 0)
        {
            throw new ArgumentException("SyncScheduleOptions.Regions must name at least one region");
        }

        try
        {
            _ = new CronExpression(Cron, TimeZoneInfo.Utc);
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"SyncScheduleOptions.Cron '{Cron}' is not a Quartz cron expression: {e.Message}", e);
        }
    }
}

/// <summary>
/// The nightly catalog sync (Quartz): a cron trigger in UTC on a <see cref="DisallowConcurrentExecutionAttribute"/> job,
/// misfire policy "fire once now", and at start-up exactly one catch-up run when the last run of any region started
/// before the most recent scheduled time (a scheduler that was down over one or many midnights runs once, not once per
/// missed night). Triggers that arrive while a run is in progress join that run (<see cref="TriggerNowAsync"/>).
/// Stopping waits for the running sync up to <see cref="SyncScheduleOptions.ShutdownGrace"/>, then cancels it
/// (the generation is aborted; the previous one stays live).
/// </summary>
public sealed class SyncScheduler : IHostedService, IAsyncDisposable
{
    internal static readonly JobKey JobKey = new("catalog-sync", "proxima");
    internal static readonly TriggerKey NightlyKey = new("nightly", "proxima");
    private readonly SyncScheduleOptions _options;
    private readonly IProgress<SyncProgress>? _progress;
    private readonly ILogger _logger;
    private readonly Func<SyncOptions, CancellationToken, Task<SyncReport>> _runOne;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private Task<IReadOnlyList<SyncReport>>? _current;
    private IScheduler? _scheduler;
    private int _runsStarted;
    private bool _stopped;
    private int _joined;

    /// <summary>Triggers that joined a run in progress instead of starting one.</summary>
    internal int TriggersJoined => Volatile.Read(ref _joined);

    /// <summary>Raised when a trigger joins a run in progress (tests).</summary>
    internal event Action? TriggerJoined;

    public SyncScheduler(SyncScheduleOptions options, IProgress<SyncProgress>? progress = null, ILogger? logger = null)
        : this(options, progress, logger, null)
    {
    }

    /// <summary>Test seam: replace the per-region run.</summary>
    internal SyncScheduler(SyncScheduleOptions options, IProgress<SyncProgress>? progress, ILogger? logger, Func<SyncOptions, CancellationToken, Task<SyncReport>>? runOne)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _progress = progress;
        _logger = logger ?? NullLogger.Instance;
        _runOne = runOne ?? ((o, ct) => SyncRunner.RunAsync(o with { TimeProvider = options.TimeProvider }, _progress, _logger, ct));
    }

    /// <summary>Number of runs started (a joined trigger does not start one).</summary>
    public int RunsStarted => Volatile.Read(ref _runsStarted);

    /// <summary>The Quartz scheduler (after <see cref="StartAsync"/>).</summary>
    internal IScheduler? Scheduler => _scheduler;

    /// <summary>Task of the catch-up/start-up run started by <see cref="StartAsync"/>, if any.</summary>
    public Task<IReadOnlyList<SyncReport>>? StartupRun { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var time = _options.TimeProvider;
        _scheduler = await QuartzSchedulerBuilder.Create(q =>
        {
            q.UseTimeProvider(time);
            q.UseInMemoryStore(_ => { });
            q.UseDefaultThreadPool(1);
        }).BuildScheduler(cancellationToken).ConfigureAwait(false);
        _scheduler.Context[nameof(SyncScheduler)] = this;

        var job = JobBuilder.Create<NightlySyncJob>().WithIdentity(JobKey).StoreDurably().Build();
        var trigger = TriggerBuilder.Create(time)
            .WithIdentity(NightlyKey)
            .ForJob(JobKey)
            .WithSchedule(CronScheduleBuilder.Create(_options.Cron).InTimeZone(TimeZoneInfo.Utc).WithMisfireInstruction(CronTriggerMisfireInstruction.FireAndProceed))
            .Build();
        await _scheduler.ScheduleJob(job, trigger, new ScheduleJobOptions(), cancellationToken).ConfigureAwait(false);

        if (_options.RunAtStart || await NeedsCatchUpAsync(cancellationToken).ConfigureAwait(false))
        {
            SyncSchedulerLog.CatchUp(_logger, _options.RunAtStart ? "start-up run" : "missed scheduled run");
            StartupRun = TriggerNowAsync(cancellationToken);
        }

        await _scheduler.Start(cancellationToken).ConfigureAwait(false);
        var next = (await _scheduler.GetTrigger(NightlyKey, cancellationToken).ConfigureAwait(false))?.NextFireTimeUtc;
        SyncSchedulerLog.Scheduled(_logger, _options.Cron, next?.ToString("O") ?? "never");
    }

    /// <summary>
    /// True when some region's last run started before the most recent scheduled fire time (or never ran): the
    /// scheduler was down when it should have fired. One catch-up covers any number of missed nights.
    /// </summary>
    internal async Task<bool> NeedsCatchUpAsync(CancellationToken ct)
    {
        var now = _options.TimeProvider.GetUtcNow();
        var previous = PreviousFireTime(_options.Cron, now);
        if (previous is null)
        {
            return false;
        }

        foreach (var region in _options.Regions)
        {
            var last = await region.Catalog.GetLastReportAsync(region.Region, ct).ConfigureAwait(false);
            if (last is null || last.StartedUtc < previous.Value)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The latest fire time of <paramref name="cron"/> (UTC) at or before <paramref name="now"/>, looking back up to 400 days.</summary>
    internal static DateTimeOffset? PreviousFireTime(string cron, DateTimeOffset now)
    {
        var expr = new CronExpression(cron, TimeZoneInfo.Utc);
        DateTimeOffset? best = null;
        // Walk forward from a day back, widening the window until a fire time is found.
        foreach (var back in new[] { TimeSpan.FromDays(1.01), TimeSpan.FromDays(8), TimeSpan.FromDays(32), TimeSpan.FromDays(400) })
        {
            var t = expr.GetNextValidTimeAfter(now - back);
            while (t is { } ft && ft <= now)
            {
                best = ft;
                t = expr.GetNextValidTimeAfter(ft);
            }

            if (best is not null)
            {
                return best;
            }
        }

        return null;
    }

    /// <summary>Runs a sync of every region now, or joins the one already running. Returns the reports.</summary>
    public Task<IReadOnlyList<SyncReport>> TriggerNowAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_current is { IsCompleted: false })
            {
                SyncSchedulerLog.Joined(_logger);
                Interlocked.Increment(ref _joined);
                TriggerJoined?.Invoke();
                return _current;
            }

            Interlocked.Increment(ref _runsStarted);
            _current = RunAllAsync();
            return _current;
        }
    }

    private async Task<IReadOnlyList<SyncReport>> RunAllAsync()
    {
        await Task.Yield();
        var ct = _stopping.Token;
        var tasks = new List<Task<SyncReport>>(_options.Regions.Count);
        foreach (var region in _options.Regions)
        {
            tasks.Add(_runOne(region, ct));
        }

        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_scheduler is not null)
        {
            await _scheduler.Standby(cancellationToken).ConfigureAwait(false);
        }

        Task? current;
        lock (_gate)
        {
            current = _current;
        }

        if (current is { IsCompleted: false })
        {
            // Let the running sync finish within the grace period, then cancel it (its generation is aborted).
            var grace = Task.Delay(_options.ShutdownGrace, _options.TimeProvider, cancellationToken);
            if (await Task.WhenAny(current, grace).ConfigureAwait(false) != current)
            {
                SyncSchedulerLog.Cancelling(_logger);
                await _stopping.CancelAsync().ConfigureAwait(false);
            }

            try
            {
                await current.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        if (_scheduler is not null)
        {
            await _scheduler.Shutdown(true, CancellationToken.None).ConfigureAwait(false);
        }

        _stopped = true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_scheduler is not null && !_stopped)
        {
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
        }

        _stopping.Dispose();
    }
}

/// <summary>The Quartz job: one at a time; joins a run already started by another trigger.</summary>
[DisallowConcurrentExecution]
internal sealed class NightlySyncJob : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var scheduler = context.Scheduler.Context.Get<SyncScheduler>(nameof(SyncScheduler))!;
        await scheduler.TriggerNowAsync(cancellationToken).ConfigureAwait(false);
    }
}

internal static partial class SyncSchedulerLog
{
    [LoggerMessage(1, LogLevel.Information, "Catalog sync scheduled with cron '{Cron}' (UTC); next run {Next}")]
    public static partial void Scheduled(ILogger logger, string cron, string next);

    [LoggerMessage(2, LogLevel.Information, "Catalog sync catch-up at start-up: {Reason}")]
    public static partial void CatchUp(ILogger logger, string reason);

    [LoggerMessage(3, LogLevel.Information, "Catalog sync trigger joined the run already in progress")]
    public static partial void Joined(ILogger logger);

    [LoggerMessage(4, LogLevel.Warning, "Catalog sync did not finish within the shutdown grace period; cancelling it")]
    public static partial void Cancelling(ILogger logger);
}
