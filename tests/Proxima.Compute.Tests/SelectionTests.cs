using Proxima.Compute.Planning;

namespace Proxima.Compute.Tests;

public sealed class SelectionTests
{
    private static readonly double[] Lon360 = Enumerable.Range(0, 36).Select(i => i * 10.0).ToArray();
    private static readonly double[] Lon180 = Enumerable.Range(0, 36).Select(i => -180 + (i * 10.0)).ToArray();

    [Fact]
    public void Range_on_descending_coordinate_keeps_storage_order()
    {
        double[] lat = [90, 60, 30, 0, -30, -60, -90];
        Assert.Equal([3, 4], CoordinateSelection.Range(lat, -50, 0));
        Assert.Equal([0, 1], CoordinateSelection.Range(lat, 60, double.NaN));
    }

    [Theory]
    [InlineData(-30, 30, new[] { -30.0, -20, -10, 0, 10, 20, 30 })]
    [InlineData(330, 30, new[] { 330.0, 340, 350, 360, 370, 380, 390 })]
    [InlineData(170, -170, new[] { 170.0, 180, 190 })]
    [InlineData(-60, -40, new[] { -60.0, -50, -40 })]
    public void Longitude_ranges_work_on_both_storage_conventions(double west, double east, double[] expected)
    {
        foreach (var grid in new[] { Lon360, Lon180 })
        {
            var idx = CoordinateSelection.LongitudeRange(grid, west, east, out var coord);
            Assert.Equal(expected, coord);
            for (var k = 0; k < idx.Length; k++)
            {
                Assert.Equal(0, CoordinateSelection.Mod360(grid[idx[k]] - coord[k]), 9);
            }
        }
    }

    [Fact]
    public void Full_circle_selects_every_cell_once_from_west()
    {
        var idx = CoordinateSelection.LongitudeRange(Lon360, -180, 180, out var coord);
        Assert.Equal(36, idx.Length);
        Assert.Equal(-180, coord[0]);
        Assert.Equal(170, coord[^1]);
    }

    [Fact]
    public void Nearest_longitude_wraps_across_the_seam()
    {
        Assert.Equal(0, CoordinateSelection.Nearest(Lon360, 358, longitude: true));
        Assert.Equal(0, CoordinateSelection.Nearest(Lon360, -1, longitude: true));
        Assert.Equal(0, CoordinateSelection.Nearest(Lon180, 177, longitude: true));
        Assert.Equal(35, CoordinateSelection.Nearest(Lon360, -12, longitude: true));
    }

    [Fact]
    public void Exact_values_tolerate_float32_coordinates()
    {
        double[] lat = [(float)33.3, (float)33.4];
        Assert.Equal([1, 0], CoordinateSelection.Exact(lat, [33.4, 33.3], longitude: false));
        Assert.Equal([-1], CoordinateSelection.Exact(lat, [33.35], longitude: false));
        Assert.Equal([35], CoordinateSelection.Exact(Lon360, [-10], longitude: true));
    }

    [Fact]
    public void Partial_time_strings_select_whole_periods_in_any_calendar()
    {
        var t = new List<CalendarDate>();
        var d = new CalendarDate(2000, 2, 28, 0, 0, 0, 0);
        for (var i = 0; i < 5; i++)
        {
            t.Add(d);
            t.Add(d with { Hour = 12 });
            d = CfCalendars.NextDay(CalendarKind.Day360, d);
        }

        var idx = CoordinateSelection.TimeRange(t.ToArray(), Query.CoordValue.Of("2000-02-29"), Query.CoordValue.Of("2000-02-30"));
        Assert.Equal([2, 3, 4, 5], idx);
        Assert.Equal(10, CoordinateSelection.TimeRange(t.ToArray(), Query.CoordValue.Of("2000"), null).Length);
    }

    [Fact]
    public void Calendars_count_days_like_cftime()
    {
        Assert.Equal(360, CfCalendars.DayOfYear(CalendarKind.Day360, new CalendarDate(2000, 12, 30, 0, 0, 0, 0)));
        Assert.Equal(60, CfCalendars.DayOfYear(CalendarKind.NoLeap, new CalendarDate(2000, 3, 1, 0, 0, 0, 0)));
        Assert.Equal(61, CfCalendars.DayOfYear(CalendarKind.AllLeap, new CalendarDate(2001, 3, 1, 0, 0, 0, 0)));
        Assert.Equal(61, CfCalendars.DayOfYear(CalendarKind.Julian, new CalendarDate(1900, 3, 1, 0, 0, 0, 0)));
        Assert.Equal(60, CfCalendars.DayOfYear(CalendarKind.ProlepticGregorian, new CalendarDate(1900, 3, 1, 0, 0, 0, 0)));
        Assert.Equal(new CalendarDate(1582, 10, 15, 0, 0, 0, 0), CfCalendars.NextDay(CalendarKind.Standard, new CalendarDate(1582, 10, 4, 0, 0, 0, 0)));
    }
}
