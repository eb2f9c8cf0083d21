using System.Globalization;

namespace Proxima.Catalog.Search;

/// <summary>
/// Parses the router's <c>GET /v1/datasets</c> query string (DESIGN.md §3) into a <see cref="DatasetQuery"/>:
/// <c>bbox=w,s,e,n</c> (west &gt; east crosses the antimeridian; -180..180 or 0..360),
/// <c>datetime=</c> an instant or <c>start/end</c> with <c>..</c> or empty for an open end,
/// <c>q=</c> free text, <c>variable=</c> name or standard_name, <c>region=</c>, <c>limit=</c> (1..10000, default 10)
/// and <c>token=</c> (paging). Errors throw <see cref="CatalogQueryException"/> naming the parameter.
/// </summary>
public static class SearchParameters
{
    /// <summary>Parameter names this parser accepts.</summary>
    public static readonly IReadOnlyList<string> Names = ["bbox", "datetime", "q", "variable", "region", "limit", "token"];

    /// <summary>Parses a raw query string (with or without the leading <c>?</c>), URL-decoding names and values.</summary>
    public static DatasetQuery Parse(string? queryString)
    {
        var pairs = new List<KeyValuePair<string, string?>>();
        if (!string.IsNullOrEmpty(queryString))
        {
            foreach (string part in queryString.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = part.IndexOf('=', StringComparison.Ordinal);
                string name = Uri.UnescapeDataString((eq < 0 ? part : part[..eq]).Replace('+', ' '));
                string? value = eq < 0 ? null : Uri.UnescapeDataString(part[(eq + 1)..].Replace('+', ' '));
                pairs.Add(new(name, value));
            }
        }

        return Parse(pairs);
    }

    /// <summary>Parses already-decoded name/value pairs (e.g. ASP.NET Core's <c>Request.Query</c>).</summary>
    public static DatasetQuery Parse(IEnumerable<KeyValuePair<string, string?>> parameters)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var query = new DatasetQuery();
        foreach (var (name, raw) in parameters)
        {
            if (!seen.Add(name))
            {
                throw new CatalogQueryException(name, $"parameter '{name}' is given more than once");
            }

            string value = raw?.Trim() ?? "";
            switch (name)
            {
                case "bbox":
                    query = query with { Bbox = ParseBbox(value) };
                    break;
                case "datetime":
                    var (start, end) = ParseDatetime(value);
                    query = query with { TimeStartKey = start, TimeEndKey = end };
                    break;
                case "q":
                    if (value.Length == 0 || value.Length > 500)
                    {
                        throw new CatalogQueryException("q", "q must be 1..500 characters");
                    }

                    _ = Sqlite.SqliteCatalog.FtsQuery(value); // validates: at least one word
                    query = query with { Text = value };
                    break;
                case "variable":
                    if (value.Length == 0 || value.Length > 256)
                    {
                        throw new CatalogQueryException("variable", "variable must be a variable name or CF standard_name (1..256 characters)");
                    }

                    query = query with { Variable = value };
                    break;
                case "region":
                    try
                    {
                        Sqlite.SqliteCatalog.ValidateRegion(value);
                    }
                    catch (ArgumentException e)
                    {
                        throw new CatalogQueryException("region", e.Message.Split(" (Parameter", 2)[0]);
                    }

                    query = query with { Region = value };
                    break;
                case "limit":
                    if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int limit) || limit < 1 || limit > DatasetQuery.MaxLimit)
                    {
                        throw new CatalogQueryException("limit", $"limit must be an integer 1..{DatasetQuery.MaxLimit} (got '{value}')");
                    }

                    query = query with { Limit = limit };
                    break;
                case "token":
                    _ = Sqlite.PageToken.Decode(value);
                    query = query with { PageToken = value };
                    break;
                default:
                    throw new CatalogQueryException(name, $"unknown parameter '{name}' (expected one of: {string.Join(", ", Names)})");
            }
        }

        return query;
    }

    /// <summary>Parses <c>w,s,e,n</c>.</summary>
    public static BoundingBox ParseBbox(string value)
    {
        string[] parts = value.Split(',');
        if (parts.Length != 4)
        {
            throw new CatalogQueryException("bbox", $"bbox must be 4 comma-separated numbers west,south,east,north (got '{value}')");
        }

        Span<double> v = stackalloc double[4];
        for (int i = 0; i < 4; i++)
        {
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out v[i]) || !double.IsFinite(v[i]))
            {
                throw new CatalogQueryException("bbox", $"bbox value {i + 1} ('{parts[i]}') is not a number");
            }
        }

        try
        {
            return new BoundingBox(v[0], v[1], v[2], v[3]);
        }
        catch (ArgumentException e)
        {
            throw new CatalogQueryException("bbox", e.Message);
        }
    }

    /// <summary>Parses an RFC 3339 instant or interval (<c>a/b</c>, <c>../b</c>, <c>a/..</c>) into inclusive <see cref="TimeKey"/> bounds.</summary>
    public static (long? Start, long? End) ParseDatetime(string value)
    {
        if (value.Length == 0)
        {
            throw new CatalogQueryException("datetime", "datetime must be an instant or an interval start/end");
        }

        int slash = value.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return (Key(value, TimeKey.Bound.Start), Key(value, TimeKey.Bound.End));
        }

        string a = value[..slash].Trim(), b = value[(slash + 1)..].Trim();
        long? start = a is "" or ".." ? null : Key(a, TimeKey.Bound.Start);
        long? end = b is "" or ".." ? null : Key(b, TimeKey.Bound.End);
        if (start is null && end is null)
        {
            throw new CatalogQueryException("datetime", "datetime interval must have at least one closed end");
        }

        if (start > end)
        {
            throw new CatalogQueryException("datetime", $"datetime interval start '{a}' is after its end '{b}'");
        }

        return (start, end);
    }

    private static long Key(string s, TimeKey.Bound bound)
    {
        if (!TimeKey.TryParse(s, bound, out long key))
        {
            throw new CatalogQueryException("datetime", $"'{s}' is not an RFC 3339 date-time (e.g. 2000-01-01T00:00:00Z)");
        }

        return key;
    }
}
