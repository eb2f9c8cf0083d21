namespace Proxima.Client;

/// <summary>
/// One coordinate vector of a result: numeric values (<c>lat</c>, <c>lon</c>), text labels (point
/// names, <c>season</c>) or calendar-aware times. Dimension coordinates have <see cref="Dim"/> equal to
/// <see cref="Name"/>; the grid cell chosen for each requested point comes as non-dimension coordinates
/// (<c>latitude</c>, <c>longitude</c>) along <c>point</c>.
/// </summary>
public sealed class ResultCoordinate
{
    internal ResultCoordinate(string name, string dim, double[]? values, string[]? labels, string? calendar)
    {
        Name = name;
        Dim = dim;
        Values = values;
        Labels = labels;
        Calendar = calendar;
        if (labels is { Length: > 0 } && (name == "time" || AllTimes(labels)))
        {
            var times = new CalendarDateTime[labels.Length];
            for (var i = 0; i < labels.Length; i++)
            {
                times[i] = CalendarDateTime.Parse(labels[i], calendar ?? "standard");
            }

            Times = times;
        }
    }

    /// <summary>The coordinate's name.</summary>
    public string Name { get; }

    /// <summary>The dimension it runs along.</summary>
    public string Dim { get; }

    /// <summary>Numeric values, or null for a labelled coordinate.</summary>
    public IReadOnlyList<double>? Values { get; }

    /// <summary>Text labels (ISO-8601 times in the dataset's calendar, point names, seasons), or null for numeric coordinates.</summary>
    public IReadOnlyList<string>? Labels { get; }

    /// <summary>The labels as calendar-aware times when this is a time coordinate, else null.</summary>
    public IReadOnlyList<CalendarDateTime>? Times { get; }

    /// <summary>The dataset's CF calendar for time coordinates (<c>proleptic_gregorian</c>, <c>360_day</c>, ...).</summary>
    public string? Calendar { get; }

    /// <summary>True when <see cref="Times"/> holds the values.</summary>
    public bool IsTime => Times is not null;

    /// <summary>Number of entries.</summary>
    public int Length => Values?.Count ?? Labels?.Count ?? 0;

    /// <summary>Entry <paramref name="index"/> as an object: a <see cref="double"/>, a <see cref="DateTime"/> for
    /// Gregorian times, a <see cref="CalendarDateTime"/> for other calendars, or a string.</summary>
    public object GetValue(int index)
    {
        if (Times is { } times)
        {
            var t = times[index];
            return t.IsGregorian ? t.ToDateTime() : t;
        }

        return Values is { } v ? v[index] : Labels![index];
    }

    /// <summary>Entry <paramref name="index"/> as text (invariant culture; times in ISO-8601).</summary>
    public string GetText(int index) =>
        Values is { } v ? v[index].ToString("R", System.Globalization.CultureInfo.InvariantCulture) : Labels![index];

    /// <inheritdoc />
    public override string ToString() => $"{Name}({Dim}) [{Length}]{(Calendar is null || !IsTime ? "" : " " + Calendar)}";

    private static bool AllTimes(string[] labels)
    {
        foreach (var l in labels)
        {
            if (!CalendarDateTime.TryParse(l, "standard", out _))
            {
                return false;
            }
        }

        return true;
    }
}
