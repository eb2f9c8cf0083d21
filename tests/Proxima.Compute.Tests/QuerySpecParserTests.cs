using Proxima.Compute.Query;

namespace Proxima.Compute.Tests;

public sealed class QuerySpecParserTests
{
    private const string DesignExample = """
        {
          "datasets": ["reanalysis/era5/t2m"],
          "variable": "t2m",
          "select": { "time": ["2000-01-01", "2000-12-31T23:00:00"], "lat": [-50, 0], "lon": [110, 180], "level": [850] },
          "transform": { "scale": 1.0, "offset": -273.15, "units": "degC" },
          "reduce": { "dims": ["time"], "ops": ["mean", "std", "min", "max", "sum", "count"], "groupby": "time.month" },
          "output": { "format": "json" },
          "allow_partial": false,
          "deadline_ms": 60000
        }
        """;

    [Fact]
    public void Parses_the_design_example()
    {
        var q = QuerySpecParser.Parse(DesignExample);
        Assert.Equal(["reanalysis/era5/t2m"], q.Datasets);
        Assert.Equal("t2m", q.Variable);
        Assert.Equal(4, q.Select.Count);
        Assert.True(q.Select[0].IsRange);
        Assert.Equal("2000-12-31T23:00:00", q.Select[0].Stop!.Value.Text);
        Assert.Equal(-50, q.Select[1].Start!.Value.Number);
        Assert.False(q.Select[3].IsRange);
        Assert.Equal(850, q.Select[3].Values![0].Number);
        Assert.Equal(-273.15, q.Transform!.Offset);
        Assert.Equal("degC", q.Transform.Units);
        Assert.Equal([ReduceOp.Mean, ReduceOp.Std, ReduceOp.Min, ReduceOp.Max, ReduceOp.Sum, ReduceOp.Count], q.Reduce!.Ops);
        Assert.Equal(TimeGrouping.Month, q.Reduce.GroupBy);
        Assert.Equal(60000, q.DeadlineMs);
    }

    [Fact]
    public void Writer_round_trips_every_field()
    {
        const string json = """
            {"datasets":["a","b"],"variable":"v","select":{"time":[null,"2001-02"],"level":[1000,850,500]},
             "points":[{"name":"x","lat":1.5,"lon":-3}],"reduce":{"dims":["time"],"ops":["var","count"],"resample":"1MS"},
             "output":{"format":"csv"},"allow_partial":true}
            """;
        var q = QuerySpecParser.Parse(json);
        var again = QuerySpecParser.Parse(QuerySpecWriter.ToUtf8(q));
        Assert.Equal(QuerySpecWriter.ToJson(q), QuerySpecWriter.ToJson(again));
        Assert.Equal(ResampleFrequency.MonthStart, again.Reduce!.Resample);
        Assert.Null(again.Select[0].Start);
        Assert.Equal(OutputFormat.Csv, again.Output.Format);
        Assert.True(again.AllowPartial);

        var twoValues = QuerySpecParser.Parse("""{"datasets":["a"],"variable":"v","select":{"level":{"values":[850,500]},"lon":[170,-170]}}""");
        var back = QuerySpecParser.Parse(QuerySpecWriter.ToJson(twoValues));
        Assert.False(back.Select[0].IsRange);
        Assert.Equal(2, back.Select[0].Values!.Count);
    }

    [Theory]
    [InlineData("{", "bad_request", null)]
    [InlineData("[]", "invalid_type", null)]
    [InlineData("""{"variable":"v"}""", "missing_field", "datasets")]
    [InlineData("""{"datasets":["a"]}""", "missing_field", "variable")]
    [InlineData("""{"datasets":[],"variable":"v"}""", "invalid_value", "datasets")]
    [InlineData("""{"datasets":["a"],"variable":"v","colour":"red"}""", "unknown_field", "colour")]
    [InlineData("""{"datasets":["a"],"variable":"v","reduce":{"dims":["time"],"ops":["mean"],"by":"x"}}""", "unknown_field", "reduce.by")]
    [InlineData("""{"datasets":["a"],"variable":"v","datasets":["b"]}""", "bad_request", "datasets")]
    [InlineData("""{"datasets":"a","variable":"v"}""", "invalid_type", "datasets")]
    [InlineData("""{"datasets":["a"],"variable":7}""", "invalid_type", "variable")]
    [InlineData("""{"datasets":["a"],"variable":"v","select":{"lat":["a","b"]}}""", "invalid_type", "select.lat[0]")]
    [InlineData("""{"datasets":["a"],"variable":"v","select":{"lat":[10,-10]}}""", "invalid_range", "select.lat")]
    [InlineData("""{"datasets":["a"],"variable":"v","select":{"lat":[-100,0]}}""", "invalid_range", "select.lat[0]")]
    [InlineData("""{"datasets":["a"],"variable":"v","select":{"lat":[]}}""", "invalid_range", "select.lat")]
    [InlineData("""{"datasets":["a"],"variable":"v","select":{"lon":[10,null]}}""", "invalid_range", "select.lon")]
    [InlineData("""{"datasets":["a"],"variable":"v","select":{"lon":[10,400]}}""", "invalid_range", "select.lon[1]")]
    [InlineData("""{"datasets":["a"],"variable":"v","select":{"time":["2001-01-01","2000-01-01"]}}""", "invalid_range", "select.time")]
    [InlineData("""{"datasets":["a"],"variable":"v","select":{"time":["2001-13-01",null]}}""", "invalid_value", "select.time[0]")]
    [InlineData("""{"datasets":["a"],"variable":"v","select":{"time":[2000,2001]}}""", "invalid_type", "select.time[0]")]
    [InlineData("""{"datasets":["a"],"variable":"v","select":{"lat":{"start":1,"values":[2]}}}""", "invalid_range", "select.lat")]
    [InlineData("""{"datasets":["a"],"variable":"v","select":{"lat":true}}""", "invalid_type", "select.lat")]
    [InlineData("""{"datasets":["a"],"variable":"v","reduce":{"dims":["time"],"ops":["median"]}}""", "unknown_op", "reduce.ops[0]")]
    [InlineData("""{"datasets":["a"],"variable":"v","reduce":{"dims":["time"],"ops":[]}}""", "missing_field", "reduce.ops")]
    [InlineData("""{"datasets":["a"],"variable":"v","reduce":{"dims":["time"],"ops":["mean","mean"]}}""", "invalid_value", "reduce.ops[1]")]
    [InlineData("""{"datasets":["a"],"variable":"v","reduce":{"ops":["mean"]}}""", "missing_field", "reduce.dims")]
    [InlineData("""{"datasets":["a"],"variable":"v","reduce":{"dims":["time"],"ops":["mean"],"groupby":"time.week"}}""", "unknown_groupby", "reduce.groupby")]
    [InlineData("""{"datasets":["a"],"variable":"v","reduce":{"dims":["time"],"ops":["mean"],"resample":"2W"}}""", "unknown_resample", "reduce.resample")]
    [InlineData("""{"datasets":["a"],"variable":"v","reduce":{"dims":["lat"],"ops":["mean"],"groupby":"time.month"}}""", "invalid_value", "reduce.dims")]
    [InlineData("""{"datasets":["a"],"variable":"v","output":{"format":"xlsx"}}""", "unknown_format", "output.format")]
    [InlineData("""{"datasets":["a"],"variable":"v","deadline_ms":-5}""", "invalid_value", "deadline_ms")]
    [InlineData("""{"datasets":["a"],"variable":"v","allow_partial":"yes"}""", "invalid_type", "allow_partial")]
    [InlineData("""{"datasets":["a"],"variable":"v","points":[{"lat":1}]}""", "missing_field", "points[0].lon")]
    [InlineData("""{"datasets":["a"],"variable":"v","points":[{"lat":91,"lon":0}]}""", "invalid_value", "points[0].lat")]
    [InlineData("""{"datasets":["a"],"variable":"v","points":[{"lat":1,"lon":0,"alt":3}]}""", "unknown_field", "points[0].alt")]
    [InlineData("""{"datasets":["a"],"variable":"v","points":[{"lat":1,"lon":0}],"select":{"lat":[0,1]}}""", "invalid_value", "select.lat")]
    [InlineData("""{"datasets":["a"],"variable":"v","transform":{"scale":"2"}}""", "invalid_type", "transform.scale")]
    public void Rejects_bad_queries_with_code_and_field(string json, string code, string? field)
    {
        var ex = Assert.Throws<QueryValidationException>(() => QuerySpecParser.Parse(json));
        Assert.Equal(code, ex.Code);
        Assert.Equal(field, ex.Field);
        Assert.False(string.IsNullOrWhiteSpace(ex.Message));
    }

    [Fact]
    public void Groupby_without_dims_reduces_time()
    {
        var q = QuerySpecParser.Parse("""{"datasets":["a"],"variable":"v","reduce":{"ops":["mean"],"groupby":"time.season"}}""");
        Assert.Equal(["time"], q.Reduce!.Dims);
        Assert.Equal(TimeGrouping.Season, q.Reduce.GroupBy);
    }

    [Fact]
    public void Deeply_nested_input_is_a_bad_request_not_a_crash()
    {
        var json = "{\"datasets\":[\"a\"],\"variable\":\"v\",\"select\":{\"x\":" + new string('[', 5000) + new string(']', 5000) + "}}";
        var ex = Assert.Throws<QueryValidationException>(() => QuerySpecParser.Parse(json));
        Assert.Equal("bad_request", ex.Code);
    }
}
