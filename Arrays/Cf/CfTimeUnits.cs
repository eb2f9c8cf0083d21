using System.Globalization;

namespace Proxima.Arrays.Cf;

/// <summary>
/// Parsed CF time units ("hours since 1900-01-01 00:00:0.0") plus a calendar: decodes numbers to
/// <see cref="CfDateTime"/> the way cftime/xarray do, and encodes dates back to numbers.
/// </summary>
public sealed class CfTimeUnits
{
    private readonly long _referenceMicros;

    private CfTimeUnits(string units, string unitName, double microsPerUnit, int monthsPerUnit, CfDateTime reference, CfCalendar calendar)
    {
        Units = units;
        UnitName = unitName;
        MicrosecondsPerUnit = microsPerUnit;
        MonthsPerUnit = monthsPerUnit;
        Reference = reference;
        Calendar = calendar;
        _referenceMicros = reference.TotalMicroseconds;
    }

    /// <summary>The units text as given.</summary>
    public string Units { get; }

    /// <summary>Canonical unit name: days, hours, minutes, seconds, milliseconds, microseconds, nanoseconds, months, years.</summary>
    public string UnitName { get; }

    /// <summary>Length of one unit in microseconds (0 for calendar months/years outside 360_day).</summary>
    public double MicrosecondsPerUnit { get; }

    /// <summary>For "months since"/"years since" outside 360_day: calendar months per unit (1 or 12); otherwise 0.</summary>
    public int MonthsPerUnit { get; }

    /// <summary>The reference date ("since ...").</summary>
    public CfDateTime Reference { get; }

    public CfCalendar Calendar { get; }

    /// <summary>True when <paramref name="units"/> looks like CF time units ("X since Y").</summary>
    public static bool IsTimeUnits(string? units) =>
        units is not null && units.Contains(" since ", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses units and a calendar attribute (null = standard). Throws <see cref="FormatException"/>.</summary>
    public static CfTimeUnits Parse(string units, string? calendar) => Parse(units, CfCalendars.Parse(calendar));

    /// <summary>Parses units in a calendar. Throws <see cref="FormatException"/>.</summary>
    public static CfTimeUnits Parse(string units, CfCalendar calendar)
    {
        ArgumentNullException.ThrowIfNull(units);
        int since = units.IndexOf(" since ", StringComparison.OrdinalIgnoreCase);
        if (since < 0)
        {
            throw new FormatException($"time units '{units}' lack 'since'");
        }

        string unit = units[..since].Trim().ToLowerInvariant();
        string refText = units[(since + 7)..].Trim();
        (string name, double micros, int months) = unit switch
        {
            "days" or "day" or "d" => ("days", 86_400_000_000d, 0),
            "hours" or "hour" or "hrs" or "hr" or "h" => ("hours", 3_600_000_000d, 0),
            "minutes" or "minute" or "mins" or "min" => ("minutes", 60_000_000d, 0),
            "seconds" or "second" or "secs" or "sec" or "s" => ("seconds", 1_000_000d, 0),
            "milliseconds" or "millisecond" or "msecs" or "msec" or "ms" => ("milliseconds", 1_000d, 0),
            "microseconds" or "microsecond" or "usecs" or "usec" or "us" => ("microseconds", 1d, 0),
            "nanoseconds" or "nanosecond" or "nsecs" or "nsec" or "ns" => ("nanoseconds", 0.001d, 0),
            "weeks" or "week" => ("weeks", 7 * 86_400_000_000d, 0),
            "months" or "month" => calendar == CfCalendar.Day360 ? ("months", 30 * 86_400_000_000d, 0) : ("months", 0d, 1),
            "years" or "year" => calendar == CfCalendar.Day360 ? ("years", 360 * 86_400_000_000d, 0) : ("years", 0d, 12),
            _ => throw new FormatException($"unknown time unit '{unit}' in '{units}'"),
        };

        if (!CfDateTime.TryParse(refText, calendar, out CfDateTime reference, out string? error) || reference.IsNaT)
        {
            throw new FormatException($"bad reference date '{refText}' in time units '{units}': {error}");
        }

        return new CfTimeUnits(units, name, micros, months, reference, calendar);
    }

    /// <summary>Decodes one value; NaN gives <see cref="CfDateTime.NaT"/>. Rounds to the microsecond.</summary>
    public CfDateTime Decode(double value)
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
        {
            return CfDateTime.NaT;
        }

        if (MonthsPerUnit != 0)
        {
            double whole = Math.Round(value);
            if (Math.Abs(value - whole) > 1e-9)
            {
                throw new FormatException($"fractional '{UnitName} since' values are undefined in the {Calendar.ToCfName()} calendar");
            }

            return Reference.AddMonths(checked((int)whole * MonthsPerUnit));
        }

        double micros = Math.Round(value * MicrosecondsPerUnit, MidpointRounding.ToEven);
        if (micros is > 9.2e18 or < -9.2e18)
        {
            throw new FormatException($"time value {value} {Units} is out of range");
        }

        return CfDateTime.FromTotalMicroseconds(Calendar, checked(_referenceMicros + (long)micros));
    }

    /// <summary>Decodes an integer value exactly (no floating-point rounding for large counts).</summary>
    public CfDateTime Decode(long value)
    {
        if (MonthsPerUnit != 0)
        {
            return Reference.AddMonths(checked((int)value * MonthsPerUnit));
        }

        long micros = MicrosecondsPerUnit >= 1
            ? checked(value * (long)MicrosecondsPerUnit)
            : (long)Math.Round(value * MicrosecondsPerUnit, MidpointRounding.ToEven);
        return CfDateTime.FromTotalMicroseconds(Calendar, checked(_referenceMicros + micros));
    }

    /// <summary>Decodes many values into <paramref name="destination"/>.</summary>
    public void Decode(ReadOnlySpan<double> values, Span<CfDateTime> destination)
    {
        if (destination.Length < values.Length)
        {
            throw new ArgumentException("destination too short", nameof(destination));
        }

        for (int i = 0; i < values.Length; i++)
        {
            destination[i] = Decode(values[i]);
        }
    }

    /// <summary>Decodes many values.</summary>
    public CfDateTime[] Decode(ReadOnlySpan<double> values)
    {
        var result = new CfDateTime[values.Length];
        Decode(values, result);
        return result;
    }

    /// <summary>The number of units from the reference to <paramref name="date"/> (NaT gives NaN).</summary>
    public double Encode(CfDateTime date)
    {
        if (date.IsNaT)
        {
            return double.NaN;
        }

        if (date.Calendar != Calendar)
        {
            date = date.WithCalendar(Calendar);
        }

        if (MonthsPerUnit != 0)
        {
            long years = CfCalendars.ToAstronomical(Calendar, date.Year) - CfCalendars.ToAstronomical(Calendar, Reference.Year);
            long months = (years * 12) + (date.Month - Reference.Month);
            return (double)months / MonthsPerUnit;
        }

        long delta = date.TotalMicroseconds - _referenceMicros;
        return delta / MicrosecondsPerUnit;
    }

    /// <summary>Encodes many dates.</summary>
    public double[] Encode(ReadOnlySpan<CfDateTime> dates)
    {
        var result = new double[dates.Length];
        for (int i = 0; i < dates.Length; i++)
        {
            result[i] = Encode(dates[i]);
        }

        return result;
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Units} ({Calendar.ToCfName()})");
}
