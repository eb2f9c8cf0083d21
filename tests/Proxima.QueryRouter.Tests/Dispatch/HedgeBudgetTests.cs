using Proxima.Shared;

namespace Proxima.QueryRouter.Tests.Dispatch;

public sealed class HedgeBudgetTests
{
    [Fact]
    public void A_full_bucket_allows_its_burst_in_a_row_then_one_hedge_per_1_over_ratio_units()
    {
        var budget = new HedgeBudget(ratio: 0.05, burst: 3);
        Assert.True(budget.TryWithdraw());
        Assert.True(budget.TryWithdraw());
        Assert.True(budget.TryWithdraw());
        Assert.False(budget.TryWithdraw());
        for (var i = 0; i < 19; i++)
        {
            budget.Deposit();
            Assert.False(budget.TryWithdraw());
        }

        budget.Deposit();
        Assert.True(budget.TryWithdraw());
        Assert.False(budget.TryWithdraw());
    }

    [Fact]
    public void Over_any_run_of_units_hedges_stay_within_ratio_times_units_plus_burst()
    {
        var budget = new HedgeBudget(ratio: 0.05, burst: 10);
        var hedges = 0;
        for (var unit = 1; unit <= 10_000; unit++)
        {
            budget.Deposit();
            // Every unit straggles: the worst case, a machine slow for a long time.
            if (budget.TryWithdraw())
            {
                hedges++;
            }

            Assert.True(hedges <= (unit / 20) + 10, $"{hedges} hedges after {unit} units");
        }

        Assert.InRange(hedges, 505, 510); // 10 in a row, then one per 20 units (the first deposit overflows the full bucket)
    }

    [Fact]
    public void Quiet_time_refills_no_more_than_the_burst()
    {
        var budget = new HedgeBudget(ratio: 0.5, burst: 2);
        for (var i = 0; i < 100; i++)
        {
            budget.Deposit();
        }

        Assert.True(budget.TryWithdraw());
        Assert.True(budget.TryWithdraw());
        Assert.False(budget.TryWithdraw());
    }
}
