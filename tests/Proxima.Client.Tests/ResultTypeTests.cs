using Proxima.Client.Internal;

namespace Proxima.Client.Tests;

public sealed class ResultTypeTests
{
    private const string Answer = """
        { "results": [ { "dataset": "cmip6/x", "variable": "tas", "dims": ["time", "lat"],
            "coords": { "time": ["2090-02-29T00:00:00", "2090-02-30T00:00:00", "2090-03-01T00:00:00"], "lat": [-10, 10] },
            "shape": [3, 2], "data": { "mean": [1, 2, 3, null, 5, 6] },
            "attrs": { "units": "degC", "calendar": "360_day" }, "partial": false, "missing": [] },
          { "dataset": "era5/p", "variable": "t2m", "dims": ["point", "time"],
            "coords": { "point": ["Sydney", "Perth, WA"], "time": ["2000-01-01T00:00:00", "2000-01-01T01:00:00"], "latitude": [-35, -30], "longitude": [150, 115] },
            "shape": [2, 2], "data": { "values": [1.5, 2.5, 3.5, 4.5] },
            "attrs": { "units": "K", "calendar": "proleptic_gregorian" }, "partial": true, "missing": ["us-west-2"] } ],
          "stats": { "bytes_cross_region": 123, "regions": { "us-east-1": { "chunks": 2, "bytes_read": 1000, "ms": 5.5 } } } }
        """;

    [Fact]
    public void Time_coordinates_keep_dates_of_non_gregorian_calendars()
    {
        var r = ResultReaders.FromJson(System.Text.Encoding.UTF8.GetBytes(Answer))["cmip6/x"];
        var time = r.Coord("time");
        Assert.True(time.IsTime);
        Assert.Equal("360_day", time.Calendar);
        Assert.Equal(new CalendarDateTime(2090, 2, 30, 0, 0, 0, "360_day"), time.Times![1]);
        Assert.IsType<CalendarDateTime>(time.GetValue(1));
        Assert.Throws<InvalidOperationException>(() => time.Times[1].ToDateTime());
        Assert.Equal(2090 + (59.0 / 360), time.Times[1].ToDecimalYear(), 12);
        Assert.True(time.Times[0] < time.Times[1] && time.Times[1] < time.Times[2]);
    }

    [Fact]
    public void Arrays_are_row_major_with_named_dims_and_nan_for_null()
    {
        var results = ResultReaders.FromJson(System.Text.Encoding.UTF8.GetBytes(Answer));
        var mean = results[0]["mean"];
        Assert.Equal(["time", "lat"], mean.Dims);
        Assert.Equal([3, 2], mean.Shape);
        Assert.Equal(5, mean[2, 0]);
        Assert.True(double.IsNaN(mean[1, 1]));
        Assert.Equal([2.0, double.NaN, 6.0], mean.Isel("lat", 1).ToArray());
        Assert.Equal(new double[,] { { 1, 2 }, { 3, double.NaN }, { 5, 6 } }, mean.ToArray2D());
        Assert.Equal(123, results.Statistics.BytesCrossRegion);
        Assert.Equal(new RegionStatistics(2, 1000, 5.5), results.Statistics.Regions["us-east-1"]);
        Assert.Throws<KeyNotFoundException>(() => results[0]["std"]);
    }

    [Fact]
    public void Point_results_become_a_tidy_table_and_csv_with_the_chosen_grid_cells()
    {
        var points = ResultReaders.FromJson(System.Text.Encoding.UTF8.GetBytes(Answer))["era5/p"];
        Assert.True(points.Partial);
        Assert.Equal(["us-west-2"], points.Missing);
        Assert.Equal("point", points.Coord("latitude").Dim);
        var table = points.ToTable();
        Assert.Equal(["point", "time", "latitude", "longitude", "values"], table.Columns.Cast<System.Data.DataColumn>().Select(c => c.ColumnName));
        Assert.Equal(4, table.Rows.Count);
        Assert.Equal("Perth, WA", table.Rows[3]["point"]);
        Assert.Equal(new DateTime(2000, 1, 1, 1, 0, 0, DateTimeKind.Utc), table.Rows[3]["time"]);
        Assert.Equal(115.0, table.Rows[3]["longitude"]);
        Assert.Equal(4.5, table.Rows[3]["values"]);

        var csv = points.ToCsv().Split('\n');
        Assert.Equal("point,time,latitude,longitude,values", csv[0]);
        Assert.Equal("\"Perth, WA\",2000-01-01T01:00:00,-30,115,4.5", csv[4]);
    }

    [Fact]
    public void Csv_of_a_map_has_one_row_per_cell_and_empty_fields_for_nan()
    {
        var r = ResultReaders.FromJson(System.Text.Encoding.UTF8.GetBytes(Answer))[0];
        var path = Path.Combine(Path.GetTempPath(), "proxima-client-" + Guid.NewGuid().ToString("N") + ".csv");
        try
        {
            r.SaveCsv(path);
            var lines = File.ReadAllLines(path);
            Assert.Equal(["time,lat,mean", "2090-02-29T00:00:00,-10,1", "2090-02-29T00:00:00,10,2", "2090-02-30T00:00:00,-10,3", "2090-02-30T00:00:00,10,", "2090-03-01T00:00:00,-10,5", "2090-03-01T00:00:00,10,6"], lines);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("2015-01-16", 2015, 1, 16, 0, 0, 0)]
    [InlineData("2015-01-16T06:30:15.5Z", 2015, 1, 16, 6, 30, 15.5)]
    [InlineData("0001-12-31T23:59:00", 1, 12, 31, 23, 59, 0)]
    public void Iso_labels_parse_in_any_calendar(string text, int y, int mo, int d, int h, int mi, double s)
    {
        var t = CalendarDateTime.Parse(text, "noleap");
        Assert.Equal(new CalendarDateTime(y, mo, d, h, mi, s, "noleap"), t);
        Assert.Equal(text.TrimEnd('Z').Length >= 19 ? text.TrimEnd('Z') : text + "T00:00:00", t.ToString());
    }

    [Fact]
    public void Size_0_dims_give_empty_arrays_tables_and_csv()
    {
        // An empty selection answered with an empty result: time has no labels, lat keeps its two cells.
        var empty = ResultReaders.FromJson(System.Text.Encoding.UTF8.GetBytes("""
            { "results": [ { "dataset": "era5/x", "variable": "t2m", "dims": ["time", "lat"],
                "coords": { "time": [], "lat": [-10, 10] }, "shape": [0, 2], "data": { "mean": [] },
                "attrs": { "units": "K", "calendar": "standard" }, "partial": false, "missing": [] } ],
              "stats": { "bytes_cross_region": 0, "regions": {} } }
            """))["era5/x"];
        var mean = empty["mean"];
        Assert.Equal([0, 2], mean.Shape);
        Assert.Empty(mean.ToArray());
        Assert.Equal(0, mean.ToArray2D().GetLength(0));
        Assert.Equal(0, empty.Coord("time").Length);
        Assert.Equal(0, empty.ToTable().Rows.Count);
        Assert.Equal("mean(time, lat) shape [0, 2]", mean.ToString());
        var csv = Path.Combine(Path.GetTempPath(), $"proxima-empty-{Environment.ProcessId}.csv");
        try
        {
            empty.SaveCsv(csv);
            Assert.Equal(["time,lat,mean"], File.ReadAllLines(csv));
        }
        finally
        {
            File.Delete(csv);
        }
    }

    [Theory]
    [InlineData("2015-13-01")]
    [InlineData("hello")]
    [InlineData("2015-01-01T25:00")]
    public void Bad_labels_are_a_format_error(string text) =>
        Assert.Throws<FormatException>(() => CalendarDateTime.Parse(text, "standard"));
}
