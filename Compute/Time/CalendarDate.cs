using System.Globalization;

namespace Proxima.Compute;

/// <summary>CF calendars (CF conventions §4.4.1).</summary>
internal enum CalendarKind
{
    Standard,
    ProlepticGregorian,
    NoLeap,
    AllLeap,
    Day360,
    Julian,
}

/// <summary>Resolution of an ISO text: "2000" is a year, "2000-01-01T06" an hour.</summary>
internal enum DateResolution
{
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

/// <summary>
/// A date in some CF calendar as fields (the calendar lives beside it). Ordering is field order, which is
/// the time order in every calendar, so comparisons need no calendar.
/// </summary>
internal readonly record struct CalendarDate(int Year, int Month, int Day, int Hour, int Minute, int Second, int Microsecond)
    : IComparable<CalendarDate>
{
    public int CompareTo(CalendarDate other)
    {
        var c = Year.CompareTo(other.Year);
        if (c != 0) { return c; }
        c = Month.CompareTo(other.Month);
        if (c != 0) { return c; }
        c = Day.CompareTo(other.Day);
        if (c != 0) { return c; }
        c = Hour.CompareTo(other.Hour);
        if (c != 0) { return c; }
        c = Minute.CompareTo(other.Minute);
        if (c != 0) { return c; }
        c = Second.CompareTo(other.Second);
        return c != 0 ? c : Microsecond.CompareTo(other.Microsecond);
    }

    public static bool operator <(CalendarDate a, CalendarDate b) => a.CompareTo(b) < 0;

    public static bool operator >(CalendarDate a, CalendarDate b) => a.CompareTo(b) > 0;

    public static bool operator <=(CalendarDate a, CalendarDate b) => a.CompareTo(b) <= 0;

    public static bool operator >=(CalendarDate a, CalendarDate b) => a.CompareTo(b) >= 0;

    /// <summary>A monotone numeric key (exact in double for years within ±400000), microseconds ignored.</summary>
    public double SortKey => ((((((double)Year * 13 + Month) * 32) + Day) * 24 + Hour) * 60 + Minute) * 60 + Second;

    /// <summary>This date with every field finer than <paramref name="res"/> reset to its smallest value.</summary>
    public CalendarDate Truncate(DateResolution res) => res switch
    {
        DateResolution.Year => new(Year, 1, 1, 0, 0, 0, 0),
        DateResolution.Month => new(Year, Month, 1, 0, 0, 0, 0),
        DateResolution.Day => new(Year, Month, Day, 0, 0, 0, 0),
        DateResolution.Hour => new(Year, Month, Day, Hour, 0, 0, 0),
        DateResolution.Minute => new(Year, Month, Day, Hour, Minute, 0, 0),
        _ => new(Year, Month, Day, Hour, Minute, Second, 0),
    };

    /// <summary>ISO-8601 text, <c>YYYY-MM-DDTHH:MM:SS</c> (plus <c>.ffffff</c> when there are microseconds).</summary>
    public string ToIso()
    {
        var s = string.Create(CultureInfo.InvariantCulture, $"{Year:0000}-{Month:00}-{Day:00}T{Hour:00}:{Minute:00}:{Second:00}");
        return Microsecond == 0 ? s : s + "." + Microsecond.ToString("000000", CultureInfo.InvariantCulture);
    }

    public override string ToString() => ToIso();

    /// <summary>Parses <c>YYYY[-MM[-DD[(T| )HH[:MM[:SS[.f]]]]]][Z]</c>; fields are range-checked, not calendar-checked.</summary>
    public static bool TryParseIso(string s, out CalendarDate date, out DateResolution resolution)
    {
        date = default;
        resolution = DateResolution.Year;
        var span = s.AsSpan().Trim();
        if (span.EndsWith("Z"))
        {
            span = span[..^1];
        }

        var pos = 0;
        var neg = false;
        if (pos < span.Length && span[pos] == '-')
        {
            neg = true;
            pos++;
        }

        if (!ReadInt(span, ref pos, 4, 6, out var year))
        {
            return false;
        }

        year = neg ? -year : year;
        int month = 1, day = 1, hour = 0, minute = 0, second = 0, micro = 0;
        if (pos < span.Length)
        {
            if (span[pos++] != '-' || !ReadInt(span, ref pos, 2, 2, out month) || month is < 1 or > 12)
            {
                return false;
            }

            resolution = DateResolution.Month;
            if (pos < span.Length)
            {
                if (span[pos++] != '-' || !ReadInt(span, ref pos, 2, 2, out day) || day is < 1 or > 31)
                {
                    return false;
                }

                resolution = DateResolution.Day;
                if (pos < span.Length)
                {
                    if ((span[pos] != 'T' && span[pos] != ' ') || !ReadInt(span, ref Advance(ref pos), 2, 2, out hour) || hour > 23)
                    {
                        return false;
                    }

                    resolution = DateResolution.Hour;
                    if (pos < span.Length)
                    {
                        if (span[pos++] != ':' || !ReadInt(span, ref pos, 2, 2, out minute) || minute > 59)
                        {
                            return false;
                        }

                        resolution = DateResolution.Minute;
                        if (pos < span.Length)
                        {
                            if (span[pos++] != ':' || !ReadInt(span, ref pos, 2, 2, out second) || second > 60)
                            {
                                return false;
                            }

                            resolution = DateResolution.Second;
                            if (pos < span.Length)
                            {
                                if (span[pos++] != '.')
                                {
                                    return false;
                                }

                                var start = pos;
                                if (!ReadInt(span, ref pos, 1, 9, out var frac))
                                {
                                    return false;
                                }

                                var digits = pos - start;
                                micro = digits <= 6 ? frac * Pow10(6 - digits) : frac / Pow10(digits - 6);
                            }
                        }
                    }
                }
            }
        }

        if (pos != span.Length)
        {
            return false;
        }

        date = new CalendarDate(year, month, day, hour, minute, second, micro);
        return true;
    }

    private static ref int Advance(ref int pos)
    {
        pos++;
        return ref pos;
    }

    private static int Pow10(int n)
    {
        var r = 1;
        for (var i = 0; i < n; i++)
        {
            r *= 10;
        }

        return r;
    }

    private static bool ReadInt(ReadOnlySpan<char> s, ref int pos, int minDigits, int maxDigits, out int value)
    {
        value = 0;
        var start = pos;
        while (pos < s.Length && pos - start < maxDigits && char.IsAsciiDigit(s[pos]))
        {
            value = value * 10 + (s[pos] - '0');
            pos++;
        }

        return pos - start >= minDigits;
    }
}

/// <summary>Calendar arithmetic for grouping and resampling (CF calendars).</summary>
internal static class CfCalendars
{
    public static CalendarKind Parse(string? name) => (name ?? "standard").Trim().ToLowerInvariant() switch
    {
        "standard" or "gregorian" or "" => CalendarKind.Standard,
        "proleptic_gregorian" => CalendarKind.ProlepticGregorian,
        "noleap" or "365_day" => CalendarKind.NoLeap,
        "all_leap" or "366_day" => CalendarKind.AllLeap,
        "360_day" => CalendarKind.Day360,
        "julian" => CalendarKind.Julian,
        var other => throw new NotSupportedException($"Unknown CF calendar '{other}'."),
    };

    public static bool IsLeap(CalendarKind cal, int year) => cal switch
    {
        CalendarKind.NoLeap or CalendarKind.Day360 => false,
        CalendarKind.AllLeap => true,
        CalendarKind.Julian => year % 4 == 0,
        CalendarKind.Standard when year < 1583 => year % 4 == 0,
        _ => (year % 4 == 0 && year % 100 != 0) || year % 400 == 0,
    };

    public static int DaysInMonth(CalendarKind cal, int year, int month)
    {
        if (cal == CalendarKind.Day360)
        {
            return 30;
        }

        return month switch
        {
            2 => IsLeap(cal, year) ? 29 : 28,
            4 or 6 or 9 or 11 => 30,
            _ => 31,
        };
    }

    /// <summary>Day of year, 1-based, as cftime's <c>dayofyr</c> (1..360 in 360_day).</summary>
    public static int DayOfYear(CalendarKind cal, CalendarDate d)
    {
        if (cal == CalendarKind.Day360)
        {
            return (d.Month - 1) * 30 + d.Day;
        }

        var doy = d.Day;
        for (var m = 1; m < d.Month; m++)
        {
            doy += DaysInMonth(cal, d.Year, m);
        }

        // The Gregorian switch removed 1582-10-05..14 from the standard calendar.
        if (cal == CalendarKind.Standard && d.Year == 1582 && (d.Month > 10 || (d.Month == 10 && d.Day >= 15)))
        {
            doy -= 10;
        }

        return doy;
    }

    public static CalendarDate NextDay(CalendarKind cal, CalendarDate d)
    {
        if (cal == CalendarKind.Standard && d.Year == 1582 && d.Month == 10 && d.Day == 4)
        {
            return new CalendarDate(1582, 10, 15, 0, 0, 0, 0);
        }

        if (d.Day < DaysInMonth(cal, d.Year, d.Month))
        {
            return new CalendarDate(d.Year, d.Month, d.Day + 1, 0, 0, 0, 0);
        }

        return d.Month < 12 ? new CalendarDate(d.Year, d.Month + 1, 1, 0, 0, 0, 0) : new CalendarDate(d.Year + 1, 1, 1, 0, 0, 0, 0);
    }

    /// <summary>xarray's season label for a month.</summary>
    public static string Season(int month) => month switch
    {
        12 or 1 or 2 => "DJF",
        3 or 4 or 5 => "MAM",
        6 or 7 or 8 => "JJA",
        _ => "SON",
    };

    /// <summary>Index of a season in xarray's (sorted) group order: DJF, JJA, MAM, SON.</summary>
    public static int SeasonOrder(int month) => month switch
    {
        12 or 1 or 2 => 0,
        6 or 7 or 8 => 1,
        3 or 4 or 5 => 2,
        _ => 3,
    };

    public static readonly string[] SeasonLabels = ["DJF", "JJA", "MAM", "SON"];

    public static string Name(CalendarKind cal) => cal switch
    {
        CalendarKind.Standard => "standard",
        CalendarKind.ProlepticGregorian => "proleptic_gregorian",
        CalendarKind.NoLeap => "noleap",
        CalendarKind.AllLeap => "all_leap",
        CalendarKind.Day360 => "360_day",
        _ => "julian",
    };
}
