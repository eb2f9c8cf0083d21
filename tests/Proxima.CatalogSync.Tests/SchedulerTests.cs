using Proxima.Catalog;
using Proxima.CatalogSync.Scheduling;

namespace Proxima.CatalogSync.Tests;

public sealed class SchedulerTests
{
    private static readonly DateTimeOffset Jan5At10 = new(2026, 1, 5, 10, 0, 0, TimeSpan.Zero);

    private sealed class Harness : IAsyncDisposable
    {
        private readonly TempDir _dir = new();
        public ICatalog Catalog = null!;
        public int Runs;
        public TaskCompletionSource Release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public bool Block;

        public static async Task<Harness> CreateAsync()
        {
            var h = new Harness();
            h.Catalog = await Sync.OpenAsync(h._dir.Path);
            return h;
        }

        public SyncScheduler Scheduler(TimeProvider time, bool runAtStart = false, TimeSpan? grace = null) => new(
            new SyncScheduleOptions
            {
                Regions = [new SyncOptions { Region = "r1", RegionRoot = _dir.Path, Catalog = Catalog }],
                TimeProvider = time,
                RunAtStart = runAtStart,
                ShutdownGrace = grace ?? TimeSpan.FromSeconds(30),
            }, null, null, RunOne);

        private async Task<SyncReport> RunOne(SyncOptions o, CancellationToken ct)
        {
            Interlocked.Increment(ref Runs);
            Started.TrySetResult();
            if (Block)
            {
                await Release.Task.WaitAsync(ct);
            }

            return new SyncReport { Region = o.Region, RunId = "x", Status = "unchanged" };
        }

        public Task LastRunStartedAt(DateTimeOffset t) => Catalog.RecordReportAsync(new SyncReport { Region = "r1", RunId = "old", Status = "committed", StartedUtc = t, FinishedUtc = t.AddMinutes(1) });

        public async ValueTask DisposeAsync()
        {
            await Catalog.DisposeAsync();
            _dir.Dispose();
        }
    }

    [Fact]
    public void Previous_fire_time_of_the_nightly_cron_is_the_last_utc_midnight()
    {
        Assert.Equal(new DateTimeOffset(2026, 1, 5, 0, 0, 0, TimeSpan.Zero), SyncScheduler.PreviousFireTime("0 0 0 * * ?", Jan5At10));
        Assert.Equal(new DateTimeOffset(2026, 1, 5, 0, 0, 0, TimeSpan.Zero), SyncScheduler.PreviousFireTime("0 0 0 * * ?", new DateTimeOffset(2026, 1, 5, 0, 0, 0, TimeSpan.Zero)));
        Assert.Equal(new DateTimeOffset(2026, 1, 4, 0, 0, 0, TimeSpan.Zero), SyncScheduler.PreviousFireTime("0 0 0 * * ?", new DateTimeOffset(2026, 1, 4, 23, 59, 59, TimeSpan.Zero)));
        Assert.Throws<ArgumentException>(() => new SyncScheduleOptions { Cron = "every night", Regions = [new SyncOptions { Region = "r", RegionRoot = "/", Catalog = null! }] }.Validate());
    }

    [Fact]
    public async Task Scheduler_down_over_three_midnights_runs_exactly_one_catch_up()
    {
        await using var h = await Harness.CreateAsync();
        await h.LastRunStartedAt(Jan5At10.AddDays(-3));
        var time = new ManualTimeProvider(Jan5At10);
        await using var s = h.Scheduler(time);
        await s.StartAsync(CancellationToken.None);
        Assert.NotNull(s.StartupRun);
        await s.StartupRun!.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, s.RunsStarted);
        Assert.Equal(1, h.Runs);
        var next = (await s.Scheduler!.GetTrigger(SyncScheduler.NightlyKey, CancellationToken.None))!.NextFireTimeUtc;
        Assert.Equal(new DateTimeOffset(2026, 1, 6, 0, 0, 0, TimeSpan.Zero), next);
        await s.StopAsync(CancellationToken.None);
        Assert.Equal(1, h.Runs);
    }

    [Fact]
    public async Task No_catch_up_when_the_last_run_started_after_the_last_midnight()
    {
        await using var h = await Harness.CreateAsync();
        await h.LastRunStartedAt(new DateTimeOffset(2026, 1, 5, 0, 0, 1, TimeSpan.Zero));
        await using var s = h.Scheduler(new ManualTimeProvider(Jan5At10));
        await s.StartAsync(CancellationToken.None);
        Assert.Null(s.StartupRun);
        await s.StopAsync(CancellationToken.None);
        Assert.Equal(0, h.Runs);
    }

    [Fact]
    public async Task Cron_trigger_fires_once_when_the_controlled_clock_passes_midnight_utc()
    {
        await using var h = await Harness.CreateAsync();
        var justBefore = new DateTimeOffset(2026, 1, 5, 23, 59, 50, TimeSpan.Zero);
        await h.LastRunStartedAt(justBefore.AddHours(-23));
        var time = new ManualTimeProvider(justBefore);
        await using var s = h.Scheduler(time);
        await s.StartAsync(CancellationToken.None);
        Assert.Null(s.StartupRun);
        Assert.Equal(0, h.Runs);
        time.Advance(TimeSpan.FromSeconds(20));
        await h.Started.Task.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(1, s.RunsStarted);
        await s.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Two_triggers_at_once_make_one_run()
    {
        await using var h = await Harness.CreateAsync();
        await h.LastRunStartedAt(Jan5At10);
        h.Block = true;
        await using var s = h.Scheduler(new ManualTimeProvider(Jan5At10));
        var joinedTwice = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        s.TriggerJoined += () =>
        {
            if (s.TriggersJoined == 2)
            {
                joinedTwice.TrySetResult();
            }
        };
        await s.StartAsync(CancellationToken.None);
        var a = s.TriggerNowAsync();
        var b = s.TriggerNowAsync();
        await s.Scheduler!.TriggerJob(SyncScheduler.JobKey, new Quartz.JobDataMap(), CancellationToken.None); // a Quartz-side trigger joins too
        await h.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Same(a, b);
        await joinedTwice.Task.WaitAsync(TimeSpan.FromSeconds(10)); // the Quartz firing joined the running sync
        h.Release.SetResult();
        await a.WaitAsync(TimeSpan.FromSeconds(10));
        await s.StopAsync(CancellationToken.None);
        Assert.Equal(1, h.Runs);
        Assert.Equal(1, s.RunsStarted);
    }

    [Fact]
    public async Task Stop_cancels_a_sync_that_outlives_the_grace_period()
    {
        await using var h = await Harness.CreateAsync();
        await h.LastRunStartedAt(Jan5At10);
        h.Block = true;
        await using var s = h.Scheduler(TimeProvider.System, grace: TimeSpan.FromMilliseconds(50));
        await s.StartAsync(CancellationToken.None);
        var run = s.TriggerNowAsync();
        await h.Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await s.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(run.IsCanceled);
    }
}
