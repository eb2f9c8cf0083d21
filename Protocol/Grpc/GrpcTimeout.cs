using System.Globalization;

namespace Proxima.Protocol.Grpc;

/// <summary>The <c>grpc-timeout</c> header: <c>TimeoutValue TimeoutUnit</c>, value a positive integer
/// of at most 8 ASCII digits, unit one of <c>H M S m u n</c>.</summary>
internal static class GrpcTimeout
{
    private const long MaxValue = 99_999_999;

    /// <summary>Parses a header value; false for anything malformed (callers then use no deadline).</summary>
    public static bool TryParse(ReadOnlySpan<char> value, out TimeSpan timeout)
    {
        timeout = default;
        if (value.Length is < 2 or > 9)
        {
            return false;
        }

        long n = 0;
        var digits = value[..^1];
        foreach (var c in digits)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            n = (n * 10) + (c - '0');
        }

        var ticks = value[^1] switch
        {
            'H' => n * TimeSpan.TicksPerHour,
            'M' => n * TimeSpan.TicksPerMinute,
            'S' => n * TimeSpan.TicksPerSecond,
            'm' => n * TimeSpan.TicksPerMillisecond,
            'u' => n * TimeSpan.TicksPerMicrosecond,
            'n' => n / TimeSpan.NanosecondsPerTick,
            _ => -1,
        };
        if (ticks < 0)
        {
            return false;
        }

        timeout = TimeSpan.FromTicks(ticks);
        return true;
    }

    /// <summary>Formats a timeout, rounding up to the finest unit whose value fits in 8 digits
    /// (so the server never sees a shorter deadline than the client's). Non-positive → <c>1n</c>.</summary>
    public static string Format(TimeSpan timeout)
    {
        var ticks = timeout.Ticks;
        if (ticks <= 0)
        {
            return "1n";
        }

        // Nanoseconds fit only for < 0.1 s; then microseconds (< 100 s), milliseconds (< ~27.7 h) ...
        if (ticks <= MaxValue / TimeSpan.NanosecondsPerTick)
        {
            return Fmt(ticks * TimeSpan.NanosecondsPerTick, 'n');
        }

        var v = CeilDiv(ticks, TimeSpan.TicksPerMicrosecond);
        if (v <= MaxValue)
        {
            return Fmt(v, 'u');
        }

        v = CeilDiv(ticks, TimeSpan.TicksPerMillisecond);
        if (v <= MaxValue)
        {
            return Fmt(v, 'm');
        }

        v = CeilDiv(ticks, TimeSpan.TicksPerSecond);
        if (v <= MaxValue)
        {
            return Fmt(v, 'S');
        }

        v = CeilDiv(ticks, TimeSpan.TicksPerMinute);
        if (v <= MaxValue)
        {
            return Fmt(v, 'M');
        }

        return Fmt(Math.Min(CeilDiv(ticks, TimeSpan.TicksPerHour), MaxValue), 'H');
    }

    private static long CeilDiv(long a, long b) => (a + b - 1) / b;

    private static string Fmt(long value, char unit) =>
        string.Create(CultureInfo.InvariantCulture, $"{value}{unit}");
}
