using System.Text.Json;
using Proxima.Arrays.Cf;
using Proxima.Arrays.Tests.Infrastructure;
using Xunit;

namespace Proxima.Arrays.Tests;

public sealed class CftimeTable
{
    public CftimeTable()
    {
        using JsonDocument doc = JsonDocument.Parse(Python.Run("make_cftime_table.py"));
        Rows = doc.RootElement.EnumerateArray().Select(e => (
            Calendar: e.GetProperty("calendar").GetString()!,
            Units: e.GetProperty("units").GetString()!,
            Value: e.GetProperty("value").GetDouble(),
            Iso: e.GetProperty("iso").GetString()!,
            Back: e.GetProperty("back").GetDouble(),
            DayOfYear: e.GetProperty("doy").GetInt32())).ToList();
    }

    public List<(string Calendar, string Units, double Value, string Iso, double Back, int DayOfYear)> Rows { get; }
}

public sealed class CfTimeTests : IClassFixture<CftimeTable>
{
    private readonly CftimeTable _table;

    public CfTimeTests(CftimeTable table)
    {
        _table = table;
    }

    [Fact]
    public void Decoding_matches_cftime_num2date_for_every_calendar_and_unit()
    {
        Assert.True(_table.Rows.Count > 500, $"only {_table.Rows.Count} reference rows");
        var failures = new List<string>();
        foreach (var r in _table.Rows)
        {
            CfDateTime d = CfTimeUnits.Parse(r.Units, r.Calendar).Decode(r.Value);
            if (d.ToString() != r.Iso || d.DayOfYear != r.DayOfYear)
            {
                failures.Add($"{r.Value} {r.Units} ({r.Calendar}): got {d} doy {d.DayOfYear}, cftime {r.Iso} doy {r.DayOfYear}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
    }

    [Fact]
    public void Encoding_matches_cftime_date2num()
    {
        var failures = new List<string>();
        foreach (var r in _table.Rows)
        {
            CfTimeUnits u = CfTimeUnits.Parse(r.Units, r.Calendar);
            CfDateTime d = CfDateTime.Parse(r.Iso, u.Calendar);
            double back = u.Encode(d);
            if (Math.Abs(back - r.Back) > 1e-9 * Math.Max(1, Math.Abs(r.Back)))
            {
                failures.Add($"{r.Iso} in {r.Units} ({r.Calendar}): got {back:R}, cftime {r.Back:R}");
            }
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures.Take(20)));
    }

    [Fact]
    public void Day360_holds_february_30_and_standard_calendars_do_not()
    {
        var d = new CfDateTime(2095, 2, 30, calendar: CfCalendar.Day360);
        Assert.Equal("2095-02-30T00:00:00", d.ToString());
        Assert.Equal(60, d.DayOfYear);
        Assert.Equal("DJF", d.Season);
        Assert.Equal(new CfDateTime(2095, 3, 1, calendar: CfCalendar.Day360), d.AddDays(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CfDateTime(2095, 2, 30, calendar: CfCalendar.NoLeap));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CfDateTime(2001, 2, 29, calendar: CfCalendar.ProlepticGregorian));
        Assert.Equal(new CfDateTime(2001, 2, 29, calendar: CfCalendar.AllLeap).AddDays(1), new CfDateTime(2001, 3, 1, calendar: CfCalendar.AllLeap));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CfDateTime(1582, 10, 10, calendar: CfCalendar.Standard));
        Assert.Equal(new CfDateTime(1582, 10, 15), new CfDateTime(1582, 10, 4).AddDays(1));
    }

    [Theory]
    [InlineData("2000-01-01", "2000-01-01T00:00:00")]
    [InlineData("2000-1-1 6:00", "2000-01-01T06:00:00")]
    [InlineData("1900-01-01 00:00:0.0", "1900-01-01T00:00:00")]
    [InlineData("2000-01-01T00:00:00Z", "2000-01-01T00:00:00")]
    [InlineData("2000-01-01T12:00:00+02:00", "2000-01-01T10:00:00")]
    [InlineData("2000-01-01 00:00:00 UTC", "2000-01-01T00:00:00")]
    [InlineData("2000-01-01T00:00:00.25", "2000-01-01T00:00:00.250000")]
    [InlineData("0001-01-01", "0001-01-01T00:00:00")]
    public void Parses_the_reference_date_forms_found_in_real_files(string text, string iso)
    {
        Assert.Equal(iso, CfDateTime.Parse(text).ToString());
    }

    [Fact]
    public void Ordering_accessors_and_month_arithmetic()
    {
        var a = new CfDateTime(2000, 1, 31, 6, calendar: CfCalendar.NoLeap);
        var b = a.AddMonths(1);
        Assert.Equal("2000-02-28T06:00:00", b.ToString());
        Assert.True(a < b);
        Assert.True(CfDateTime.NaT < a);
        Assert.Equal(6, a.Hour);
        Assert.Equal(31, a.DayOfYear);
        Assert.Equal("MAM", new CfDateTime(2000, 4, 1).Season);
        Assert.False(CfDateTime.TryParse("2000-13-01", CfCalendar.Standard, out _));
        Assert.True(CfTimeUnits.Parse("days since 2000-01-01", "360_day").Decode(double.NaN).IsNaT);
        Assert.Throws<FormatException>(() => CfTimeUnits.Parse("fortnights since 2000-01-01", "standard"));
        Assert.Throws<FormatException>(() => CfTimeUnits.Parse("days since 2000-01-01", "martian"));
    }
}
