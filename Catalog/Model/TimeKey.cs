using System.Globalization;

namespace Proxima.Catalog;

/// <summary>
/// Sortable numeric keys for ISO-8601 times written in any CF calendar. The key is milliseconds since
/// 1970-01-01 on the proleptic Gregorian calendar after clamping the day to the month's Gregorian length
/// (so <c>2000-02-30</c> of a <c>360_day</c> calendar keys as 2000-02-29 with its time of day). The
/// mapping is monotone within every calendar and comparable across calendars, which is what indexing
/// and interval search need; it is not a duration.
/// </summary>
public static class TimeKey
{
    /// <summary>Which end of a partial date (<c>2000</c>, <c>2000-05</c>, <c>2000-05-01</c>) to key.</summary>
    public enum Bound
    {
        /// <summary>Earliest instant of the partial date.</summary>
        Start,
        /// <summary>Last millisecond of the partial date (inclusive interval end).</summary>
        End,
    }

    /// <summary>Parses <c>[±]YYYY[-MM[-DD[(T| )hh:mm[:ss[.fff]]]]][Z|±00:00]</c> into a key.</summary>
    /// <exception cref="FormatException">The text is not such a time; the message names the text.</exception>
    public static long Parse(string text, Bound bound)
    {
        if (!TryParse(text, bound, out long key))
        {
            throw new FormatException($"'{text}' is not an ISO-8601 date/time (expected YYYY[-MM[-DD[Thh:mm[:ss[.fff]]]]][Z])");
        }

        return key;
    }

    public static bool TryParse(ReadOnlySpan<char> s, Bound bound, out long key)
    {
        key = 0;
        s = s.Trim();
        int i = 0;
        bool negative = false;
        if (i < s.Length && (s[i] == '-' || s[i] == '+'))
        {
            negative = s[i] == '-';
            i++;
        }

        int ys = i;
        while (i < s.Length && char.IsAsciiDigit(s[i]))
        {
            i++;
        }

        if (i - ys < 4 || i - ys > 6)
        {
            return false;
        }

        long year = long.Parse(s[ys..i], NumberStyles.None, CultureInfo.InvariantCulture);
        if (negative)
        {
            year = -year;
        }

        int month = 1, day = 1, hour = 0, minute = 0, second = 0, millis = 0;
        int precision = 0; // 0 year, 1 month, 2 day, 3 minute, 4 second, 5 fraction
        if (i < s.Length && s[i] == '-')
        {
            if (!Two(s, i + 1, out month) || month < 1 || month > 12)
            {
                return false;
            }

            i += 3;
            precision = 1;
            if (i < s.Length && s[i] == '-')
            {
                if (!Two(s, i + 1, out day) || day < 1 || day > 31)
                {
                    return false;
                }

                i += 3;
                precision = 2;
                if (i < s.Length && (s[i] == 'T' || s[i] == 't' || s[i] == ' '))
                {
                    if (!Two(s, i + 1, out hour) || hour > 24 || i + 3 >= s.Length || s[i + 3] != ':' || !Two(s, i + 4, out minute) || minute > 59)
                    {
                        return false;
                    }

                    i += 6;
                    precision = 3;
                    if (i < s.Length && s[i] == ':')
                    {
                        if (!Two(s, i + 1, out second) || second > 60)
                        {
                            return false;
                        }

                        i += 3;
                        precision = 4;
                        if (i < s.Length && (s[i] == '.' || s[i] == ','))
                        {
                            i++;
                            int fs = i;
                            int scale = 100;
                            while (i < s.Length && char.IsAsciiDigit(s[i]))
                            {
                                millis += (s[i] - '0') * scale;
                                scale /= 10;
                                i++;
                            }

                            if (i == fs)
                            {
                                return false;
                            }

                            precision = 5;
                        }
                    }
                }
            }
        }

        // Accept a UTC designator only (catalog times are UTC / calendar-naive).
        if (i < s.Length)
        {
            var rest = s[i..];
            if (!(rest is "Z" or "z" or "+00:00" or "+0000" or "-00:00"))
            {
                return false;
            }
        }

        int dim = DaysInGregorianMonth(year, month);
        if (day > dim)
        {
            day = dim;
        }

        long days = DaysFromCivil(year, month, day);
        key = (days * 86_400L + hour * 3600L + minute * 60L + second) * 1000L + millis;
        if (bound == Bound.End)
        {
            key += precision switch
            {
                0 => (DaysFromCivil(year + 1, 1, 1) - days) * 86_400_000L - 1,
                1 => (long)dim * 86_400_000L - 1,
                2 => 86_400_000L - 1,
                3 => 60_000L - 1,
                4 => 999,
                _ => 0,
            };
        }

        return true;
    }

    /// <summary>Formats a key back to <c>YYYY-MM-DDThh:mm:ssZ</c> (Gregorian), for backends that need real dates.</summary>
    public static string Format(long key)
    {
        long ms = key % 86_400_000L;
        long days = key / 86_400_000L;
        if (ms < 0)
        {
            ms += 86_400_000L;
            days--;
        }

        CivilFromDays(days, out long y, out int m, out int d);
        long sec = ms / 1000;
        return string.Create(CultureInfo.InvariantCulture,
            $"{y:0000}-{m:00}-{d:00}T{sec / 3600:00}:{sec / 60 % 60:00}:{sec % 60:00}.{ms % 1000:000}Z");
    }

    private static bool Two(ReadOnlySpan<char> s, int at, out int value)
    {
        value = 0;
        if (at + 1 >= s.Length || !char.IsAsciiDigit(s[at]) || !char.IsAsciiDigit(s[at + 1]))
        {
            return false;
        }

        value = (s[at] - '0') * 10 + (s[at + 1] - '0');
        return true;
    }

    private static int DaysInGregorianMonth(long y, int m) => m switch
    {
        2 => (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28,
        4 or 6 or 9 or 11 => 30,
        _ => 31,
    };

    // Howard Hinnant's days_from_civil: valid for any year, proleptic Gregorian.
    private static long DaysFromCivil(long y, int m, int d)
    {
        y -= m <= 2 ? 1 : 0;
        long era = (y >= 0 ? y : y - 399) / 400;
        long yoe = y - era * 400;
        long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
    }

    private static void CivilFromDays(long z, out long y, out int m, out int d)
    {
        z += 719468;
        long era = (z >= 0 ? z : z - 146096) / 146097;
        long doe = z - era * 146097;
        long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        y = yoe + era * 400;
        long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        long mp = (5 * doy + 2) / 153;
        d = (int)(doy - (153 * mp + 2) / 5 + 1);
        m = (int)(mp < 10 ? mp + 3 : mp - 9);
        if (m <= 2)
        {
            y++;
        }
    }
}
