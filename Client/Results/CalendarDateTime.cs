using System.Globalization;

namespace Proxima.Client;

/// <summary>
/// A date-time label in a CF calendar (<c>standard</c>, <c>proleptic_gregorian</c>, <c>noleap</c>,
/// <c>360_day</c>, <c>all_leap</c>, <c>julian</c>, ...), as the router sends time coordinates: ISO-8601
/// text in the dataset's own calendar. <c>2090-02-30</c> is a valid 360_day date that no
/// <see cref="DateTime"/> can hold, so results keep the fields; <see cref="ToDateTime"/> converts
/// when the calendar is Gregorian.
/// </summary>
/// <param name="Year">Year (astronomical numbering in the calendar).</param>
/// <param name="Month">Month, 1..12.</param>
/// <param name="Day">Day of month, 1..31 (1..30 in <c>360_day</c>, where February has 30 days).</param>
/// <param name="Hour">Hour, 0..23.</param>
/// <param name="Minute">Minute, 0..59.</param>
/// <param name="Second">Seconds with fraction.</param>
/// <param name="Calendar">The CF calendar name.</param>
public readonly record struct CalendarDateTime(int Year, int Month, int Day, int Hour, int Minute, double Second, string Calendar)
    : IComparable<CalendarDateTime>
{
    /// <summary>True for calendars whose dates are ordinary <see cref="DateTime"/> values
    /// (<c>standard</c>, <c>gregorian</c>, <c>proleptic_gregorian</c>, or none given).</summary>
    public bool IsGregorian => IsGregorianCalendar(Calendar);

    /// <summary>Parses an ISO-8601 label (<c>2015-01-16</c>, <c>2015-01-16T00:00:00</c>, optional
    /// fraction and <c>Z</c>) in <paramref name="calendar"/>.</summary>
    /// <exception cref="FormatException">The text is not an ISO-8601 date-time.</exception>
    public static CalendarDateTime Parse(string text, string calendar)
    {
        if (!TryParse(text, calendar, out var value))
        {
            throw new FormatException($"'{text}' is not an ISO-8601 date-time (YYYY-MM-DD[THH:MM[:SS[.fff]]]).");
        }

        return value;
    }

    /// <summary>Tries to parse an ISO-8601 label in <paramref name="calendar"/>.</summary>
    public static bool TryParse(string? text, string calendar, out CalendarDateTime value)
    {
        value = default;
        if (text is null)
        {
            return false;
        }

        var s = text.AsSpan().Trim();
        if (s.EndsWith("Z"))
        {
            s = s[..^1];
        }

        var negative = s.Length > 0 && s[0] == '-';
        var body = negative ? s[1..] : s;
        var dash1 = body.IndexOf('-');
        if (dash1 < 1)
        {
            return false;
        }

        var rest = body[(dash1 + 1)..];
        if (rest.Length < 5 || rest[2] != '-'
            || !int.TryParse(body[..dash1], NumberStyles.None, CultureInfo.InvariantCulture, out var year)
            || !int.TryParse(rest[..2], NumberStyles.None, CultureInfo.InvariantCulture, out var month)
            || !int.TryParse(rest.Slice(3, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var day))
        {
            return false;
        }

        int hour = 0, minute = 0;
        double second = 0;
        var time = rest[5..];
        if (time.Length > 0)
        {
            if (time[0] is not ('T' or ' ') || time.Length < 6 || time[3] != ':'
                || !int.TryParse(time.Slice(1, 2), NumberStyles.None, CultureInfo.InvariantCulture, out hour)
                || !int.TryParse(time.Slice(4, 2), NumberStyles.None, CultureInfo.InvariantCulture, out minute))
            {
                return false;
            }

            if (time.Length > 6)
            {
                if (time[6] != ':' || !double.TryParse(time[7..], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out second))
                {
                    return false;
                }
            }
        }

        if (month is < 1 or > 12 || day is < 1 or > 31 || hour > 23 || minute > 59 || second >= 61)
        {
            return false;
        }

        value = new CalendarDateTime(negative ? -year : year, month, day, hour, minute, second, calendar);
        return true;
    }

    /// <summary>The label as a <see cref="DateTime"/> (UTC).</summary>
    /// <exception cref="InvalidOperationException">The calendar is not Gregorian, or the date does not exist in it (Feb 30).</exception>
    public DateTime ToDateTime()
    {
        if (!IsGregorian)
        {
            throw new InvalidOperationException($"{this} is a {Calendar} date; only standard/gregorian/proleptic_gregorian dates convert to DateTime.");
        }

        if (Year is < 1 or > 9999 || Day > DateTime.DaysInMonth(Year, Month))
        {
            throw new InvalidOperationException($"{this} is outside DateTime's range.");
        }

        var whole = (int)Math.Floor(Second);
        return new DateTime(Year, Month, Day, Hour, Minute, whole, DateTimeKind.Utc).AddTicks((long)Math.Round((Second - whole) * TimeSpan.TicksPerSecond));
    }

    /// <summary>Years as a fraction, using the calendar's year length (360 days for <c>360_day</c>, 365 for
    /// <c>noleap</c>, ...): a plotting axis that works for every calendar.</summary>
    public double ToDecimalYear()
    {
        int daysInYear;
        int dayOfYear;
        switch (Calendar)
        {
            case "360_day":
                daysInYear = 360;
                dayOfYear = ((Month - 1) * 30) + Day - 1;
                break;
            default:
                var leap = Calendar switch
                {
                    "noleap" or "365_day" => false,
                    "all_leap" or "366_day" => true,
                    "julian" => Year % 4 == 0,
                    _ => DateTime.IsLeapYear(Math.Clamp(Year, 1, 9999)),
                };
                daysInYear = leap ? 366 : 365;
                dayOfYear = Day - 1;
                for (var m = 1; m < Month; m++)
                {
                    dayOfYear += m == 2 ? (leap ? 29 : 28) : m is 4 or 6 or 9 or 11 ? 30 : 31;
                }

                break;
        }

        return Year + ((dayOfYear + ((Hour + ((Minute + (Second / 60.0)) / 60.0)) / 24.0)) / daysInYear);
    }

    /// <inheritdoc />
    public int CompareTo(CalendarDateTime other)
    {
        var c = Year.CompareTo(other.Year);
        if (c == 0) { c = Month.CompareTo(other.Month); }
        if (c == 0) { c = Day.CompareTo(other.Day); }
        if (c == 0) { c = Hour.CompareTo(other.Hour); }
        if (c == 0) { c = Minute.CompareTo(other.Minute); }
        return c != 0 ? c : Second.CompareTo(other.Second);
    }

    /// <summary>ISO-8601 text without a zone, as the router writes it.</summary>
    public override string ToString()
    {
        var whole = (int)Math.Floor(Second);
        var text = string.Create(CultureInfo.InvariantCulture, $"{Year:0000}-{Month:00}-{Day:00}T{Hour:00}:{Minute:00}:{whole:00}");
        var fraction = Second - whole;
        return fraction > 0 ? text + fraction.ToString(".######", CultureInfo.InvariantCulture) : text;
    }

    /// <summary>Compares two labels.</summary>
    public static bool operator <(CalendarDateTime left, CalendarDateTime right) => left.CompareTo(right) < 0;

    /// <summary>Compares two labels.</summary>
    public static bool operator >(CalendarDateTime left, CalendarDateTime right) => left.CompareTo(right) > 0;

    /// <summary>Compares two labels.</summary>
    public static bool operator <=(CalendarDateTime left, CalendarDateTime right) => left.CompareTo(right) <= 0;

    /// <summary>Compares two labels.</summary>
    public static bool operator >=(CalendarDateTime left, CalendarDateTime right) => left.CompareTo(right) >= 0;

    internal static bool IsGregorianCalendar(string? calendar) =>
        string.IsNullOrEmpty(calendar) || calendar is "standard" or "gregorian" or "proleptic_gregorian";
}
