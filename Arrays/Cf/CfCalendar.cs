namespace Proxima.Arrays.Cf;

/// <summary>CF calendars (CF conventions §4.4.1), as cftime implements them.</summary>
public enum CfCalendar
{
    /// <summary>"standard"/"gregorian": Julian before 1582-10-15, Gregorian from then on (cftime's mixed calendar).</summary>
    Standard,

    /// <summary>"proleptic_gregorian": Gregorian rules extended to all years.</summary>
    ProlepticGregorian,

    /// <summary>"julian": a leap year every 4 years.</summary>
    Julian,

    /// <summary>"noleap"/"365_day".</summary>
    NoLeap,

    /// <summary>"all_leap"/"366_day".</summary>
    AllLeap,

    /// <summary>"360_day": twelve 30-day months.</summary>
    Day360,
}

/// <summary>Parsing, naming and day arithmetic of <see cref="CfCalendar"/>.</summary>
public static class CfCalendars
{
    private static readonly int[] CumDays = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365];
    private static readonly int[] CumDaysLeap = [0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366];

    /// <summary>Julian day number of Gregorian 1582-10-15, the first day of the Gregorian calendar in <see cref="CfCalendar.Standard"/>.</summary>
    private const long GregorianStartJdn = 2299161;

    /// <summary>Parses a CF calendar attribute (case-insensitive; null or empty means standard).</summary>
    public static bool TryParse(string? name, out CfCalendar calendar)
    {
        calendar = CfCalendar.Standard;
        if (string.IsNullOrWhiteSpace(name))
        {
            return true;
        }

        switch (name.Trim().ToLowerInvariant())
        {
            case "standard":
            case "gregorian":
                calendar = CfCalendar.Standard;
                return true;
            case "proleptic_gregorian":
                calendar = CfCalendar.ProlepticGregorian;
                return true;
            case "julian":
                calendar = CfCalendar.Julian;
                return true;
            case "noleap":
            case "365_day":
                calendar = CfCalendar.NoLeap;
                return true;
            case "all_leap":
            case "366_day":
                calendar = CfCalendar.AllLeap;
                return true;
            case "360_day":
                calendar = CfCalendar.Day360;
                return true;
            default:
                return false;
        }
    }

    /// <summary>Parses a CF calendar attribute or throws <see cref="FormatException"/>.</summary>
    public static CfCalendar Parse(string? name) =>
        TryParse(name, out CfCalendar c) ? c : throw new FormatException($"unsupported CF calendar '{name}'");

    /// <summary>The canonical CF name ("standard", "noleap", "360_day"...).</summary>
    public static string ToCfName(this CfCalendar calendar) => calendar switch
    {
        CfCalendar.Standard => "standard",
        CfCalendar.ProlepticGregorian => "proleptic_gregorian",
        CfCalendar.Julian => "julian",
        CfCalendar.NoLeap => "noleap",
        CfCalendar.AllLeap => "all_leap",
        CfCalendar.Day360 => "360_day",
        _ => "standard",
    };

    /// <summary>
    /// True for calendars without a year 0 (cftime's default for standard/gregorian/julian: year -1 precedes year 1).
    /// </summary>
    public static bool HasYearZero(this CfCalendar calendar) => calendar is not (CfCalendar.Standard or CfCalendar.Julian);

    /// <summary>Labelled year to astronomical year (which has a year 0).</summary>
    internal static long ToAstronomical(CfCalendar calendar, long year) => !calendar.HasYearZero() && year < 0 ? year + 1 : year;

    /// <summary>Astronomical year to labelled year.</summary>
    internal static long FromAstronomical(CfCalendar calendar, long year) => !calendar.HasYearZero() && year <= 0 ? year - 1 : year;

    /// <summary>True when <paramref name="year"/> has a leap day in <paramref name="calendar"/>.</summary>
    public static bool IsLeapYear(this CfCalendar calendar, int year) => AstronomicalLeap(calendar, ToAstronomical(calendar, year));

    private static bool AstronomicalLeap(CfCalendar calendar, long year) => calendar switch
    {
        CfCalendar.ProlepticGregorian => GregorianLeap(year),
        CfCalendar.Standard => year < 1583 ? JulianLeap(year) : GregorianLeap(year),
        CfCalendar.Julian => JulianLeap(year),
        CfCalendar.AllLeap => true,
        _ => false,
    };

    /// <summary>Days in a month of a year.</summary>
    public static int DaysInMonth(this CfCalendar calendar, int year, int month)
    {
        if (calendar == CfCalendar.Day360)
        {
            return 30;
        }

        int[] cum = calendar.IsLeapYear(year) ? CumDaysLeap : CumDays;
        return cum[month] - cum[month - 1];
    }

    /// <summary>Days in a year.</summary>
    public static int DaysInYear(this CfCalendar calendar, int year)
    {
        if (calendar == CfCalendar.Day360)
        {
            return 360;
        }

        if (calendar == CfCalendar.Standard && year == 1582)
        {
            return 355;
        }

        if (year == 0 && !calendar.HasYearZero())
        {
            return 0;
        }

        return calendar.IsLeapYear(year) ? 366 : 365;
    }

    /// <summary>Day of year (1-based) of a valid date.</summary>
    internal static int DayOfYear(CfCalendar calendar, int year, int month, int day)
    {
        if (calendar == CfCalendar.Day360)
        {
            return ((month - 1) * 30) + day;
        }

        int[] cum = calendar.IsLeapYear(year) ? CumDaysLeap : CumDays;
        return cum[month - 1] + day;
    }

    /// <summary>A monotonic day count for a date in a calendar (Julian day number for the real-world calendars).</summary>
    internal static long DayNumber(CfCalendar calendar, long year, int month, int day)
    {
        year = ToAstronomical(calendar, year);
        switch (calendar)
        {
            case CfCalendar.ProlepticGregorian:
                return GregorianJdn(year, month, day);
            case CfCalendar.Julian:
                return JulianJdn(year, month, day);
            case CfCalendar.Standard:
                return year < 1582 || (year == 1582 && (month < 10 || (month == 10 && day < 15)))
                    ? JulianJdn(year, month, day)
                    : GregorianJdn(year, month, day);
            case CfCalendar.NoLeap:
                return (year * 365) + CumDays[month - 1] + day - 1;
            case CfCalendar.AllLeap:
                return (year * 366) + CumDaysLeap[month - 1] + day - 1;
            default:
                return (year * 360) + ((month - 1) * 30) + day - 1;
        }
    }

    /// <summary>Inverse of <see cref="DayNumber"/>.</summary>
    internal static (long Year, int Month, int Day) FromDayNumber(CfCalendar calendar, long n)
    {
        (long y, int m, int d) = FromDayNumberAstronomical(calendar, n);
        return (FromAstronomical(calendar, y), m, d);
    }

    private static (long Year, int Month, int Day) FromDayNumberAstronomical(CfCalendar calendar, long n)
    {
        switch (calendar)
        {
            case CfCalendar.ProlepticGregorian:
                return GregorianFromJdn(n);
            case CfCalendar.Julian:
                return JulianFromJdn(n);
            case CfCalendar.Standard:
                return n < GregorianStartJdn ? JulianFromJdn(n) : GregorianFromJdn(n);
            case CfCalendar.NoLeap:
                return FromFixedYear(n, 365, CumDays);
            case CfCalendar.AllLeap:
                return FromFixedYear(n, 366, CumDaysLeap);
            default:
                {
                    long y = FloorDiv(n, 360);
                    int doy = (int)(n - (y * 360));
                    return (y, (doy / 30) + 1, (doy % 30) + 1);
                }
        }
    }

    private static (long, int, int) FromFixedYear(long n, int yearLength, int[] cum)
    {
        long y = FloorDiv(n, yearLength);
        int doy = (int)(n - (y * yearLength));
        int m = 1;
        while (m < 12 && cum[m] <= doy)
        {
            m++;
        }

        return (y, m, doy - cum[m - 1] + 1);
    }

    private static bool GregorianLeap(long y) => (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    private static bool JulianLeap(long y) => y % 4 == 0;

    internal static long FloorDiv(long a, long b) => a >= 0 ? a / b : -(((-a) + b - 1) / b);

    // Howard Hinnant's days_from_civil, shifted to Julian day numbers (Gregorian 0000-03-01 = JDN 1721120).
    private static long GregorianJdn(long y, int m, int d)
    {
        y -= m <= 2 ? 1 : 0;
        long era = FloorDiv(y, 400);
        long yoe = y - (era * 400);
        long doy = ((153 * (m > 2 ? m - 3 : m + 9)) + 2) / 5 + d - 1;
        long doe = (yoe * 365) + (yoe / 4) - (yoe / 100) + doy;
        return (era * 146097) + doe + 1721120;
    }

    private static (long, int, int) GregorianFromJdn(long jdn)
    {
        long z = jdn - 1721120;
        long era = FloorDiv(z, 146097);
        long doe = z - (era * 146097);
        long yoe = (doe - (doe / 1460) + (doe / 36524) - (doe / 146096)) / 365;
        long y = yoe + (era * 400);
        long doy = doe - ((365 * yoe) + (yoe / 4) - (yoe / 100));
        long mp = ((5 * doy) + 2) / 153;
        int d = (int)(doy - (((153 * mp) + 2) / 5) + 1);
        int m = (int)(mp < 10 ? mp + 3 : mp - 9);
        return (y + (m <= 2 ? 1 : 0), m, d);
    }

    // The same scheme with 4-year cycles (Julian 0000-03-01 = JDN 1721118).
    private static long JulianJdn(long y, int m, int d)
    {
        y -= m <= 2 ? 1 : 0;
        long era = FloorDiv(y, 4);
        long yoe = y - (era * 4);
        long doy = ((153 * (m > 2 ? m - 3 : m + 9)) + 2) / 5 + d - 1;
        long doe = (yoe * 365) + doy;
        return (era * 1461) + doe + 1721118;
    }

    private static (long, int, int) JulianFromJdn(long jdn)
    {
        long z = jdn - 1721118;
        long era = FloorDiv(z, 1461);
        long doe = z - (era * 1461);
        long yoe = (doe - (doe / 1460)) / 365;
        long y = yoe + (era * 4);
        long doy = doe - (365 * yoe);
        long mp = ((5 * doy) + 2) / 153;
        int d = (int)(doy - (((153 * mp) + 2) / 5) + 1);
        int m = (int)(mp < 10 ? mp + 3 : mp - 9);
        return (y + (m <= 2 ? 1 : 0), m, d);
    }
}
