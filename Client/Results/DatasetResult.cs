using System.Data;
using System.Globalization;
using System.Text;

namespace Proxima.Client;

/// <summary>
/// One dataset's answer: arrays per op with named dims, the coordinate vectors, the variable's
/// attributes (units after the transform, calendar), and whether regions were missing.
/// </summary>
public sealed class DatasetResult
{
    private readonly Dictionary<string, LabeledArray> _data;
    private readonly Dictionary<string, ResultCoordinate> _coords;

    internal DatasetResult(string dataset, string variable, string[] dims, int[] shape, IReadOnlyList<ResultCoordinate> coords,
        Dictionary<string, LabeledArray> data, IReadOnlyDictionary<string, string> attrs, bool partial, IReadOnlyList<string> missing)
    {
        Dataset = dataset;
        Variable = variable;
        Dims = dims;
        Shape = shape;
        Coordinates = coords;
        _coords = new Dictionary<string, ResultCoordinate>(StringComparer.Ordinal);
        foreach (var c in coords)
        {
            _coords[c.Name] = c;
        }

        _data = data;
        Attrs = attrs;
        Partial = partial;
        Missing = missing;
    }

    /// <summary>The dataset id.</summary>
    public string Dataset { get; }

    /// <summary>The variable's name in the dataset.</summary>
    public string Variable { get; }

    /// <summary>Result dimensions, outermost first (<c>["lat", "lon"]</c>, <c>["point", "time"]</c>, ...).</summary>
    public IReadOnlyList<string> Dims { get; }

    /// <summary>Length of each dimension.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>All coordinates: one per dimension (in <see cref="Dims"/> order), then non-dimension ones.</summary>
    public IReadOnlyList<ResultCoordinate> Coordinates { get; }

    /// <summary>The ops present (<c>mean</c>, <c>std</c>, ... or <c>values</c>).</summary>
    public IReadOnlyCollection<string> Ops => _data.Keys;

    /// <summary>The variable's attributes: <c>units</c> (after the transform), <c>long_name</c>, <c>standard_name</c>, <c>calendar</c>.</summary>
    public IReadOnlyDictionary<string, string> Attrs { get; }

    /// <summary>Units of the values, if known.</summary>
    public string? Units => Attrs.TryGetValue("units", out var u) ? u : null;

    /// <summary>The dataset's calendar (for time coordinates), if known.</summary>
    public string? Calendar => Attrs.TryGetValue("calendar", out var c) ? c : null;

    /// <summary>True when regions were unavailable and the query allowed a partial answer.</summary>
    public bool Partial { get; }

    /// <summary>The regions whose part is missing from a partial answer.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>The array of op <paramref name="op"/>.</summary>
    /// <exception cref="KeyNotFoundException">The result has no such op.</exception>
    public LabeledArray this[string op] => _data.TryGetValue(op, out var a) ? a
        : throw new KeyNotFoundException($"The result for '{Dataset}' has no '{op}' (it has: {string.Join(", ", _data.Keys)}).");

    /// <summary>The coordinate called <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such coordinate.</exception>
    public ResultCoordinate Coord(string name) => _coords.TryGetValue(name, out var c) ? c
        : throw new KeyNotFoundException($"The result for '{Dataset}' has no coordinate '{name}' (it has: {string.Join(", ", _coords.Keys)}).");

    /// <summary>Tries to get the coordinate called <paramref name="name"/>.</summary>
    public bool TryGetCoord(string name, out ResultCoordinate? coordinate) => _coords.TryGetValue(name, out coordinate);

    /// <summary>
    /// A tidy table, one row per cell (like xarray's <c>to_dataframe()</c>): a column per dimension
    /// (<see cref="DateTime"/> for Gregorian times, text labels in other calendars, doubles for numbers),
    /// a column per non-dimension coordinate, then one <see cref="double"/> column per op (NaN kept).
    /// </summary>
    public DataTable ToTable()
    {
        var table = new DataTable(Dataset) { Locale = CultureInfo.InvariantCulture };
        var layout = Layout();
        foreach (var c in layout.Columns)
        {
            table.Columns.Add(c.Name, c.ColumnType);
        }

        foreach (var op in _data.Keys)
        {
            table.Columns.Add(Unique(table, op), typeof(double));
        }

        table.BeginLoadData();
        var row = new object[table.Columns.Count];
        var cells = CellCount();
        var index = new int[Dims.Count];
        for (var cell = 0; cell < cells; cell++)
        {
            layout.Fill(index, row, text: false);
            var k = layout.Columns.Count;
            foreach (var a in _data.Values)
            {
                row[k++] = a.Span[cell];
            }

            table.Rows.Add(row);
            Advance(index);
        }

        table.EndLoadData();
        return table;
    }

    /// <summary>The same tidy table as <see cref="ToTable"/> as CSV text (invariant culture, NaN as an empty field).</summary>
    public string ToCsv()
    {
        using var writer = new StringWriter(CultureInfo.InvariantCulture);
        WriteCsv(writer);
        return writer.ToString();
    }

    /// <summary>Writes <see cref="ToCsv"/> to <paramref name="path"/>.</summary>
    public void SaveCsv(string path)
    {
        using var writer = new StreamWriter(path, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        WriteCsv(writer);
    }

    /// <summary>Writes the tidy table as CSV.</summary>
    public void WriteCsv(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var layout = Layout();
        var header = new List<string>();
        foreach (var c in layout.Columns)
        {
            header.Add(Quote(c.Name));
        }

        foreach (var op in _data.Keys)
        {
            header.Add(Quote(op));
        }

        writer.Write(string.Join(',', header));
        writer.Write('\n');
        var row = new object[layout.Columns.Count];
        var cells = CellCount();
        var index = new int[Dims.Count];
        for (var cell = 0; cell < cells; cell++)
        {
            layout.Fill(index, row, text: true);
            for (var k = 0; k < row.Length; k++)
            {
                writer.Write(Quote((string)row[k]));
                writer.Write(',');
            }

            var first = true;
            foreach (var a in _data.Values)
            {
                if (!first)
                {
                    writer.Write(',');
                }

                first = false;
                var v = a.Span[cell];
                if (!double.IsNaN(v))
                {
                    writer.Write(v.ToString("R", CultureInfo.InvariantCulture));
                }
            }

            writer.Write('\n');
            Advance(index);
        }
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Dataset}:{Variable} ({string.Join(", ", Dims)}) shape [{string.Join(", ", Shape)}] ops [{string.Join(", ", _data.Keys)}]{(Units is null ? "" : " " + Units)}";

    private int CellCount()
    {
        var n = 1;
        foreach (var s in Shape)
        {
            n *= s;
        }

        return n;
    }

    private void Advance(int[] index)
    {
        for (var d = index.Length - 1; d >= 0; d--)
        {
            if (++index[d] < Shape[d])
            {
                return;
            }

            index[d] = 0;
        }
    }

    private TableLayout Layout()
    {
        var columns = new List<TableColumn>();
        for (var d = 0; d < Dims.Count; d++)
        {
            _coords.TryGetValue(Dims[d], out var coord);
            columns.Add(new TableColumn(Dims[d], d, coord));
        }

        foreach (var c in Coordinates)
        {
            if (c.Name != c.Dim)
            {
                var axis = -1;
                for (var d = 0; d < Dims.Count; d++)
                {
                    if (Dims[d] == c.Dim)
                    {
                        axis = d;
                    }
                }

                if (axis >= 0)
                {
                    columns.Add(new TableColumn(c.Name, axis, c));
                }
            }
        }

        return new TableLayout(columns);
    }

    private static string Unique(DataTable table, string name) => table.Columns.Contains(name) ? Unique(table, name + "_") : name;

    private static string Quote(string s) =>
        s.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;

    private sealed record TableColumn(string Name, int Axis, ResultCoordinate? Coord)
    {
        public Type ColumnType => Coord switch
        {
            null => typeof(int),
            { IsTime: true } c when CalendarDateTime.IsGregorianCalendar(c.Calendar) => typeof(DateTime),
            { Values: not null } => typeof(double),
            _ => typeof(string),
        };

        public object Get(int i, bool text)
        {
            if (Coord is null)
            {
                return text ? i.ToString(CultureInfo.InvariantCulture) : i;
            }

            if (text)
            {
                return Coord.GetText(i);
            }

            var v = Coord.GetValue(i);
            return v is CalendarDateTime t ? t.ToString() : v;
        }
    }

    private sealed record TableLayout(List<TableColumn> Columns)
    {
        public void Fill(int[] index, object[] row, bool text)
        {
            for (var k = 0; k < Columns.Count; k++)
            {
                row[k] = Columns[k].Get(index[Columns[k].Axis], text);
            }
        }
    }
}
