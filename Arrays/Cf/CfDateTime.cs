using System.Globalization;

namespace Proxima.Arrays.Cf;

/// <summary>
/// A date and time in a CF calendar, to the microsecond (cftime's resolution). Unlike
/// <see cref="DateTime"/> it can hold 2095-02-30 in <see cref="CfCalendar.Day360"/> or year 0.
/// <c>default</c> is "NaT" (<see cref="IsNaT"/>), the decoded form of a missing time value.
/// Ordering is chronological within a calendar (NaT sorts first).
/// </summary>
public readonly struct CfDateTime : IEquatable<CfDateTime>, IComparable<CfDateTime>, IComparable
{
    private const long MicrosPerDay = 86_400_000_000L;

    private readonly long _dayNumber;
    private readonly long _microOfDay;
    private readonly int _year;
    private readonly byte _month;
    private readonly byte _day;

    private CfDateTime(CfCalendar calendar, int year, int month, int day, long dayNumber, long microOfDay)
    {
        Calendar = calendar;
        _year = year;
        _month = (byte)month;
        _day = (byte)day;
        _dayNumber = dayNumber;
        _microOfDay = microOfDay;
    }

    /// <summary>Creates a date, validating it against the calendar (so 2095-02-30 is valid only in 360_day).</summary>
    public CfDateTime(int year, int month, int day, int hour = 0, int minute = 0, int second = 0, int microsecond = 0, CfCalendar calendar = CfCalendar.Standard)
    {
        if (!IsValidDate(calendar, year, month, day))
        {
            throw new ArgumentOutOfRangeException(nameof(day), $"{year:D4}-{month:D2}-{day:D2} is not a date in the {calendar.ToCfName()} calendar");
        }

        if ((uint)hour > 23 || (uint)minute > 59 || (uint)second > 59 || (uint)microsecond > 999_999)
        {
            throw new ArgumentOutOfRangeException(nameof(hour), "time of day out of range");
        }

        Calendar = calendar;
        _year = year;
        _month = (byte)month;
        _day = (byte)day;
        _dayNumber = CfCalendars.DayNumber(calendar, year, month, day);
        _microOfDay = (((((hour * 60L) + minute) * 60L) + second) * 1_000_000L) + microsecond;
    }

    /// <summary>The missing time value.</summary>
    public static CfDateTime NaT => default;

    /// <summary>True for the missing time value (decoded NaN or fill value).</summary>
    public bool IsNaT => _month == 0;

    public CfCalendar Calendar { get; }

    public int Year => _year;

    public int Month => _month;

    public int Day => _day;

    public int Hour => (int)(_microOfDay / 3_600_000_000L);

    public int Minute => (int)(_microOfDay / 60_000_000L % 60);

    public int Second => (int)(_microOfDay / 1_000_000L % 60);

    public int Microsecond => (int)(_microOfDay % 1_000_000L);

    /// <summary>1-based day of the year in this calendar (1..360 in 360_day).</summary>
    public int DayOfYear => CfCalendars.DayOfYear(Calendar, _year, _month, _day);

    /// <summary>Meteorological season as xarray names it: "DJF", "MAM", "JJA", "SON".</summary>
    public string Season => _month switch
    {
        12 or 1 or 2 => "DJF",
        3 or 4 or 5 => "MAM",
        6 or 7 or 8 => "JJA",
        _ => "SON",
    };

    /// <summary>Microseconds since this calendar's day 0 (a linear time axis; differences are durations).</summary>
    public long TotalMicroseconds => (_dayNumber * MicrosPerDay) + _microOfDay;

    /// <summary>True when the date exists in the calendar.</summary>
    public static bool IsValidDate(CfCalendar calendar, int year, int month, int day)
    {
        if (month is < 1 or > 12 || day < 1 || (year == 0 && !calendar.HasYearZero()))
        {
            return false;
        }

        if (day > calendar.DaysInMonth(year, month))
        {
            return false;
        }

        // The ten days the Gregorian reform removed do not exist in the mixed calendar.
        return !(calendar == CfCalendar.Standard && year == 1582 && month == 10 && day is > 4 and < 15);
    }

    /// <summary>The date at <paramref name="totalMicroseconds"/> on a calendar's linear axis (inverse of <see cref="TotalMicroseconds"/>).</summary>
    public static CfDateTime FromTotalMicroseconds(CfCalendar calendar, long totalMicroseconds)
    {
        long dayNumber = CfCalendars.FloorDiv(totalMicroseconds, MicrosPerDay);
        long micro = totalMicroseconds - (dayNumber * MicrosPerDay);
        (long y, int m, int d) = CfCalendars.FromDayNumber(calendar, dayNumber);
        if (y is > int.MaxValue or < int.MinValue)
        {
            throw new OverflowException("date out of range");
        }

        return new CfDateTime(calendar, (int)y, m, d, dayNumber, micro);
    }

    /// <summary>Adds a duration in microseconds.</summary>
    public CfDateTime AddMicroseconds(long microseconds) => FromTotalMicroseconds(Calendar, checked(TotalMicroseconds + microseconds));

    /// <summary>Adds whole days.</summary>
    public CfDateTime AddDays(long days) => AddMicroseconds(checked(days * MicrosPerDay));

    /// <summary>Adds calendar months, clamping the day to the target month's length (like pandas/cftime offsets).</summary>
    public CfDateTime AddMonths(int months)
    {
        long m0 = (CfCalendars.ToAstronomical(Calendar, _year) * 12) + (_month - 1) + months;
        long ya = CfCalendars.FloorDiv(m0, 12);
        int m = (int)(m0 - (ya * 12)) + 1;
        int y = (int)CfCalendars.FromAstronomical(Calendar, ya);
        int d = Math.Min(_day, Calendar.DaysInMonth(y, m));
        if (!IsValidDate(Calendar, y, m, d))
        {
            d = 15;
        }

        var date = new CfDateTime(y, m, d, 0, 0, 0, 0, Calendar);
        return new CfDateTime(Calendar, y, m, d, date._dayNumber, _microOfDay);
    }

    /// <summary>Adds calendar years (Feb 29 becomes Feb 28 where needed).</summary>
    public CfDateTime AddYears(int years) => AddMonths(checked(years * 12));

    /// <summary>The same instant on another calendar's axis is not defined; this re-labels the fields, validating them.</summary>
    public CfDateTime WithCalendar(CfCalendar calendar) =>
        new(_year, _month, _day, Hour, Minute, Second, Microsecond, calendar);

    /// <summary>ISO-8601 "YYYY-MM-DDTHH:MM:SS" (with ".ffffff" when there are microseconds); "NaT" when missing.</summary>
    public override string ToString()
    {
        if (IsNaT)
        {
            return "NaT";
        }

        string year = _year is >= 0 and <= 9999 ? _year.ToString("D4", CultureInfo.InvariantCulture)
            : _year < 0 ? "-" + (-(long)_year).ToString("D4", CultureInfo.InvariantCulture)
            : "+" + _year.ToString(CultureInfo.InvariantCulture);
        string s = string.Create(CultureInfo.InvariantCulture, $"{year}-{_month:D2}-{_day:D2}T{Hour:D2}:{Minute:D2}:{Second:D2}");
        int us = Microsecond;
        return us == 0 ? s : s + "." + us.ToString("D6", CultureInfo.InvariantCulture);
    }

    /// <summary>Parses ISO-8601-like text ("2000-01-01", "2000-1-1 6:00", "2095-02-30T00:00:00Z", "2000-01-01T00:00:00.5+02:00").</summary>
    public static CfDateTime Parse(string text, CfCalendar calendar = CfCalendar.Standard) =>
        TryParse(text, calendar, out CfDateTime value, out string? error) ? value : throw new FormatException($"'{text}' is not a date/time: {error}");

    /// <summary>Non-throwing <see cref="Parse"/>.</summary>
    public static bool TryParse(string? text, CfCalendar calendar, out CfDateTime value) => TryParse(text, calendar, out value, out _);

    internal static bool TryParse(string? text, CfCalendar calendar, out CfDateTime value, out string? error)
    {
        value = default;
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "empty";
            return false;
        }

        ReadOnlySpan<char> s = text.AsSpan().Trim();
        if (s.Equals("NaT", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        // Date: [sign]Y+-M+-D+
        int pos = 0;
        int sign = 1;
        if (s[0] is '-' or '+')
        {
            sign = s[0] == '-' ? -1 : 1;
            pos = 1;
        }

        if (!ReadInt(s, ref pos, out long year) || pos >= s.Length || s[pos] != '-')
        {
            error = "expected YYYY-MM-DD";
            return false;
        }

        pos++;
        if (!ReadInt(s, ref pos, out long month))
        {
            error = "expected a month";
            return false;
        }

        long day = 1;
        if (pos < s.Length && s[pos] == '-')
        {
            pos++;
            if (!ReadInt(s, ref pos, out day))
            {
                error = "expected a day";
                return false;
            }
        }

        long hour = 0, minute = 0, second = 0, micro = 0, offsetMinutes = 0;
        if (pos < s.Length && (s[pos] == 'T' || s[pos] == ' '))
        {
            while (pos < s.Length && (s[pos] == 'T' || s[pos] == ' '))
            {
                pos++;
            }

            if (pos < s.Length && char.IsAsciiDigit(s[pos]))
            {
                if (!ReadInt(s, ref pos, out hour))
                {
                    error = "bad hour";
                    return false;
                }

                if (pos < s.Length && s[pos] == ':')
                {
                    pos++;
                    if (!ReadInt(s, ref pos, out minute))
                    {
                        error = "bad minute";
                        return false;
                    }

                    if (pos < s.Length && s[pos] == ':')
                    {
                        pos++;
                        if (!ReadInt(s, ref pos, out second))
                        {
                            error = "bad second";
                            return false;
                        }

                        if (pos < s.Length && s[pos] == '.')
                        {
                            pos++;
                            int start = pos;
                            long frac = 0;
                            int digits = 0;
                            while (pos < s.Length && char.IsAsciiDigit(s[pos]))
                            {
                                if (digits < 6)
                                {
                                    frac = (frac * 10) + (s[pos] - '0');
                                    digits++;
                                }

                                pos++;
                            }

                            if (pos == start)
                            {
                                error = "bad fraction";
                                return false;
                            }

                            while (digits < 6)
                            {
                                frac *= 10;
                                digits++;
                            }

                            micro = frac;
                        }
                    }
                }
            }
        }

        // Time zone: Z, UTC, GMT, +hh, +hh:mm, +hhmm (possibly after a space).
        while (pos < s.Length && s[pos] == ' ')
        {
            pos++;
        }

        if (pos < s.Length)
        {
            ReadOnlySpan<char> tz = s[pos..];
            if (tz is "Z" or "UTC" or "GMT" or "z" or "utc")
            {
                pos = s.Length;
            }
            else if (tz[0] is '+' or '-')
            {
                int tzSign = tz[0] == '-' ? -1 : 1;
                ReadOnlySpan<char> digitsPart = tz[1..];
                int colon = digitsPart.IndexOf(':');
                long hh, mm = 0;
                if (colon >= 0)
                {
                    if (!long.TryParse(digitsPart[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out hh)
                        || !long.TryParse(digitsPart[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out mm))
                    {
                        error = "bad time zone";
                        return false;
                    }
                }
                else if (digitsPart.Length == 4)
                {
                    hh = long.Parse(digitsPart[..2], NumberStyles.None, CultureInfo.InvariantCulture);
                    mm = long.Parse(digitsPart[2..], NumberStyles.None, CultureInfo.InvariantCulture);
                }
                else if (!long.TryParse(digitsPart, NumberStyles.None, CultureInfo.InvariantCulture, out hh))
                {
                    error = "bad time zone";
                    return false;
                }

                offsetMinutes = tzSign * ((hh * 60) + mm);
                pos = s.Length;
            }
            else
            {
                error = $"unexpected text '{tz.ToString()}'";
                return false;
            }
        }

        year *= sign;
        if (year is > int.MaxValue or < int.MinValue || !IsValidDate(calendar, (int)year, (int)month, (int)day)
            || hour > 24 || minute > 59 || second > 60)
        {
            error = $"not a valid date/time in the {calendar.ToCfName()} calendar";
            return false;
        }

        var date = new CfDateTime((int)year, (int)month, (int)day, 0, 0, 0, 0, calendar);
        long extra = ((((hour * 60) + minute - offsetMinutes) * 60) + second) * 1_000_000L + micro;
        value = extra == 0 ? date : date.AddMicroseconds(extra);
        return true;
    }

    private static bool ReadInt(ReadOnlySpan<char> s, ref int pos, out long value)
    {
        value = 0;
        int start = pos;
        while (pos < s.Length && char.IsAsciiDigit(s[pos]) && pos - start < 12)
        {
            value = (value * 10) + (s[pos] - '0');
            pos++;
        }

        return pos > start;
    }

    public int CompareTo(CfDateTime other)
    {
        if (IsNaT || other.IsNaT)
        {
            return IsNaT ? (other.IsNaT ? 0 : -1) : 1;
        }

        int c = _dayNumber.CompareTo(other._dayNumber);
        return c != 0 ? c : _microOfDay.CompareTo(other._microOfDay);
    }

    public int CompareTo(object? obj) => obj is CfDateTime d ? CompareTo(d) : 1;

    public bool Equals(CfDateTime other) =>
        Calendar == other.Calendar && _dayNumber == other._dayNumber && _microOfDay == other._microOfDay && _month == other._month;

    public override bool Equals(object? obj) => obj is CfDateTime d && Equals(d);

    public override int GetHashCode() => HashCode.Combine(Calendar, _dayNumber, _microOfDay);

    public static bool operator ==(CfDateTime left, CfDateTime right) => left.Equals(right);

    public static bool operator !=(CfDateTime left, CfDateTime right) => !left.Equals(right);

    public static bool operator <(CfDateTime left, CfDateTime right) => left.CompareTo(right) < 0;

    public static bool operator >(CfDateTime left, CfDateTime right) => left.CompareTo(right) > 0;

    public static bool operator <=(CfDateTime left, CfDateTime right) => left.CompareTo(right) <= 0;

    public static bool operator >=(CfDateTime left, CfDateTime right) => left.CompareTo(right) >= 0;
}
