using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Proxima.Shared;

/// <summary>
/// A small Prometheus registry (text exposition format 0.0.4): counters with one optional label and
/// latency histograms. Linked as source into the router and the worker; lock-free on the hot path.
/// </summary>
internal sealed class MetricsRegistry
{
    private readonly ConcurrentDictionary<string, Metric> _metrics = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    public Counter Counter(string name, string help, string? label = null) =>
        (Counter)Add(name, () => new Counter(name, help, label));

    public Histogram Histogram(string name, string help, double[] bucketsSeconds) =>
        (Histogram)Add(name, () => new Histogram(name, help, bucketsSeconds));

    private Metric Add(string name, Func<Metric> create)
    {
        lock (_order)
        {
            if (_metrics.TryGetValue(name, out var existing))
            {
                return existing;
            }

            var metric = create();
            _metrics[name] = metric;
            _order.Add(name);
            return metric;
        }
    }

    /// <summary>The whole registry in Prometheus text format.</summary>
    public string Render()
    {
        var text = new StringBuilder();
        List<string> names;
        lock (_order)
        {
            names = [.. _order];
        }

        foreach (var name in names)
        {
            _metrics[name].Render(text);
        }

        return text.ToString();
    }
}

internal abstract class Metric(string name, string help)
{
    public string Name { get; } = name;

    public string Help { get; } = help;

    public abstract void Render(StringBuilder text);

    protected static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    protected static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>A monotonically increasing count, optionally split by one label.</summary>
internal sealed class Counter(string name, string help, string? label) : Metric(name, help)
{
    private readonly ConcurrentDictionary<string, StrongBox> _values = new(StringComparer.Ordinal);
    private long _value;

    public void Add(long n = 1) => Interlocked.Add(ref _value, n);

    public void Add(string labelValue, long n = 1) => Interlocked.Add(ref _values.GetOrAdd(labelValue, static _ => new StrongBox()).Value, n);

    public long Value => Interlocked.Read(ref _value);

    public long Get(string labelValue) => _values.TryGetValue(labelValue, out var box) ? Interlocked.Read(ref box.Value) : 0;

    public override void Render(StringBuilder text)
    {
        text.Append("# HELP ").Append(Name).Append(' ').Append(Help).Append('\n');
        text.Append("# TYPE ").Append(Name).Append(" counter\n");
        if (label is null)
        {
            text.Append(Name).Append(' ').Append(Value.ToString(CultureInfo.InvariantCulture)).Append('\n');
            return;
        }

        foreach (var (key, box) in _values)
        {
            text.Append(Name).Append('{').Append(label).Append("=\"").Append(Escape(key)).Append("\"} ")
                .Append(Interlocked.Read(ref box.Value).ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
    }

    private sealed class StrongBox
    {
        public long Value;
    }
}

/// <summary>A latency histogram in seconds (cumulative buckets, sum, count).</summary>
internal sealed class Histogram(string name, string help, double[] buckets) : Metric(name, help)
{
    private readonly long[] _counts = new long[buckets.Length + 1];
    private long _sumMicros;

    public static double[] LatencyBuckets { get; } = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    public void Observe(TimeSpan elapsed)
    {
        var seconds = elapsed.TotalSeconds;
        var i = 0;
        while (i < buckets.Length && seconds > buckets[i])
        {
            i++;
        }

        Interlocked.Increment(ref _counts[i]);
        Interlocked.Add(ref _sumMicros, (long)(elapsed.TotalMilliseconds * 1000));
    }

    public long Count
    {
        get
        {
            long n = 0;
            for (var i = 0; i < _counts.Length; i++)
            {
                n += Interlocked.Read(ref _counts[i]);
            }

            return n;
        }
    }

    public override void Render(StringBuilder text)
    {
        text.Append("# HELP ").Append(Name).Append(' ').Append(Help).Append('\n');
        text.Append("# TYPE ").Append(Name).Append(" histogram\n");
        long cumulative = 0;
        for (var i = 0; i < buckets.Length; i++)
        {
            cumulative += Interlocked.Read(ref _counts[i]);
            text.Append(Name).Append("_bucket{le=\"").Append(Number(buckets[i])).Append("\"} ").Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        cumulative += Interlocked.Read(ref _counts[buckets.Length]);
        text.Append(Name).Append("_bucket{le=\"+Inf\"} ").Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
        text.Append(Name).Append("_sum ").Append(Number(Interlocked.Read(ref _sumMicros) / 1e6)).Append('\n');
        text.Append(Name).Append("_count ").Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
    }
}
