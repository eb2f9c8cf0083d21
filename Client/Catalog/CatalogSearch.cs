using System.Globalization;
using System.Text;

namespace Proxima.Client;

/// <summary>
/// A catalog search (<c>GET /v1/datasets</c>, DESIGN.md §3), built fluently:
/// <code>var items = await client.SearchAsync(new CatalogSearch().BBox(150, -35, 152, -33).Time("2000-01-01", "2000-12-31"));</code>
/// </summary>
public sealed class CatalogSearch
{
    private string? _bbox;
    private string? _datetime;
    private string? _text;
    private string? _variable;
    private string? _region;
    private int? _limit;

    /// <summary>An empty search (every dataset, up to the router's default limit).</summary>
    public CatalogSearch()
    {
    }

    /// <summary>Datasets whose bounding box intersects (west, south, east, north) in degrees.</summary>
    public CatalogSearch BBox(double west, double south, double east, double north)
    {
        _bbox = string.Create(CultureInfo.InvariantCulture, $"{west:R},{south:R},{east:R},{north:R}");
        return this;
    }

    /// <summary>Datasets whose time range intersects [start, end] (ISO-8601; either may be <c>..</c> for open).</summary>
    public CatalogSearch Time(string start, string end)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(start);
        ArgumentException.ThrowIfNullOrWhiteSpace(end);
        _datetime = start + "/" + end;
        return this;
    }

    /// <summary>Datasets whose time range intersects [start, end].</summary>
    public CatalogSearch Time(DateTime start, DateTime end) =>
        Time(start.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture), end.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));

    /// <summary>Free text over ids, titles and variable descriptions.</summary>
    public CatalogSearch Text(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        _text = text;
        return this;
    }

    /// <summary>Datasets with a variable of this name or CF standard_name.</summary>
    public CatalogSearch Variable(string nameOrStandardName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrStandardName);
        _variable = nameOrStandardName;
        return this;
    }

    /// <summary>Datasets held in this region.</summary>
    public CatalogSearch Region(string region)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(region);
        _region = region;
        return this;
    }

    /// <summary>At most this many items (the router's default is 10).</summary>
    public CatalogSearch Limit(int limit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        _limit = limit;
        return this;
    }

    /// <summary>The query string of <c>GET /v1/datasets</c> (without <c>?</c>).</summary>
    public string ToQueryString()
    {
        var sb = new StringBuilder();
        Add(sb, "bbox", _bbox);
        Add(sb, "datetime", _datetime);
        Add(sb, "q", _text);
        Add(sb, "variable", _variable);
        Add(sb, "region", _region);
        Add(sb, "limit", _limit?.ToString(CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    /// <inheritdoc />
    public override string ToString() => ToQueryString();

    private static void Add(StringBuilder sb, string name, string? value)
    {
        if (value is null)
        {
            return;
        }

        if (sb.Length > 0)
        {
            sb.Append('&');
        }

        sb.Append(name).Append('=').Append(Uri.EscapeDataString(value).Replace("%2C", ",", StringComparison.Ordinal).Replace("%2F", "/", StringComparison.Ordinal));
    }
}
