using System.Globalization;
using Proxima.Arrays.Cf;

namespace Proxima.Arrays;

/// <summary>What a catalog needs to know about one variable.</summary>
public sealed record VariableSummary(
    string Name,
    IReadOnlyList<string> Dims,
    IReadOnlyList<long> Shape,
    IReadOnlyList<int> Chunks,
    string Dtype,
    string DecodedDtype,
    string? Units,
    string? StandardName,
    string? LongName,
    CoordinateRole Role,
    bool IsCoordinate);

/// <summary>Time extent: first and last decoded times, calendar, and the step when regular (ISO-8601 duration).</summary>
public sealed record TimeSummary(CfDateTime Start, CfDateTime End, CfCalendar Calendar, string? Step, long Count);

/// <summary>A dataset's catalog facts: variables, bounding box of cell centres [west, south, east, north], time extent, chunk count.</summary>
public sealed record DatasetSummary(
    string Location,
    DatasetFormat Format,
    IReadOnlyList<VariableSummary> Variables,
    double[]? BoundingBox,
    TimeSummary? Time,
    long ChunkCount);

public sealed partial class GridDataset
{
    /// <summary>
    /// Reads the coordinates (not the data) and summarises the dataset for a catalog. Longitudes are
    /// reported in the dataset's own convention (0..360 or -180..180).
    /// </summary>
    public async Task<DatasetSummary> SummarizeAsync(CancellationToken cancellationToken = default)
    {
        var vars = new List<VariableSummary>(Variables.Count);
        long chunks = 0;
        foreach (GridVariable v in Variables)
        {
            bool isCoord = CoordinateNames.Contains(v.Name) || v.Role != CoordinateRole.None;
            vars.Add(new VariableSummary(v.Name, v.Dims, v.Shape, v.ChunkShape, v.StoredType.NumpyName(), v.DecodedType.NumpyName(), v.Units, v.StandardName, v.LongName, v.Role, isCoord));
            if (!isCoord)
            {
                long n = 1;
                foreach (long g in v.ChunkGrid)
                {
                    n *= g;
                }

                chunks += n;
            }
        }

        double[]? bbox = null;
        GridVariable? lat = FindCoordinate(CoordinateRole.Latitude);
        GridVariable? lon = FindCoordinate(CoordinateRole.Longitude);
        if (lat is { IsNumeric: true } && lon is { IsNumeric: true })
        {
            (double s, double n) = MinMax(await lat.ReadAllAsync<double>(cancellationToken).ConfigureAwait(false));
            (double w, double e) = MinMax(await lon.ReadAllAsync<double>(cancellationToken).ConfigureAwait(false));
            if (!double.IsNaN(s) && !double.IsNaN(w))
            {
                bbox = [w, s, e, n];
            }
        }

        TimeSummary? time = null;
        GridVariable? t = FindCoordinate(CoordinateRole.Time);
        if (t is { IsNumeric: true, TimeUnits: not null } && t.Dims.Length == 1 && t.Shape[0] > 0)
        {
            CfDateTime[] times = await t.ReadTimesAsync(cancellationToken).ConfigureAwait(false);
            CfDateTime first = default, last = default;
            foreach (CfDateTime d in times)
            {
                if (d.IsNaT)
                {
                    continue;
                }

                if (first.IsNaT || d < first)
                {
                    first = d;
                }

                if (last.IsNaT || d > last)
                {
                    last = d;
                }
            }

            if (!first.IsNaT)
            {
                time = new TimeSummary(first, last, t.TimeUnits.Calendar, RegularStep(times), times.Length);
            }
        }

        return new DatasetSummary(Location, Format, vars, bbox, time, chunks);
    }

    private static (double Min, double Max) MinMax(double[] values)
    {
        double min = double.NaN, max = double.NaN;
        foreach (double x in values)
        {
            if (double.IsNaN(x))
            {
                continue;
            }

            if (double.IsNaN(min) || x < min)
            {
                min = x;
            }

            if (double.IsNaN(max) || x > max)
            {
                max = x;
            }
        }

        return (min, max);
    }

    /// <summary>ISO-8601 duration of a regular axis ("PT1H", "P1D", "P1M", "P1Y"), or null when irregular.</summary>
    internal static string? RegularStep(CfDateTime[] times)
    {
        if (times.Length < 2 || times[0].IsNaT)
        {
            return null;
        }

        // Calendar months or years: same day and time, whole months apart.
        int months = ((times[1].Year - times[0].Year) * 12) + (times[1].Month - times[0].Month);
        bool monthly = months > 0;
        for (int i = 1; i < times.Length && monthly; i++)
        {
            monthly = !times[i].IsNaT && times[i] == times[i - 1].AddMonths(months);
        }

        if (monthly)
        {
            return months % 12 == 0 ? string.Create(CultureInfo.InvariantCulture, $"P{months / 12}Y") : string.Create(CultureInfo.InvariantCulture, $"P{months}M");
        }

        long step = times[1].TotalMicroseconds - times[0].TotalMicroseconds;
        bool fixedStep = step > 0;
        for (int i = 2; i < times.Length && fixedStep; i++)
        {
            fixedStep = !times[i].IsNaT && times[i].TotalMicroseconds - times[i - 1].TotalMicroseconds == step;
        }

        if (fixedStep)
        {
            const long Second = 1_000_000, Minute = 60 * Second, Hour = 60 * Minute, Day = 24 * Hour;
            return step % Day == 0 ? string.Create(CultureInfo.InvariantCulture, $"P{step / Day}D")
                : step % Hour == 0 ? string.Create(CultureInfo.InvariantCulture, $"PT{step / Hour}H")
                : step % Minute == 0 ? string.Create(CultureInfo.InvariantCulture, $"PT{step / Minute}M")
                : step % Second == 0 ? string.Create(CultureInfo.InvariantCulture, $"PT{step / Second}S")
                : null;
        }

        return null;
    }
}
