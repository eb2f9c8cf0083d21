using System.Text.Json;

namespace Proxima.Client.Tests;

public sealed class QueryBuilderTests
{
    [Fact]
    public void Fluent_builder_writes_the_QuerySpec_v1_json_of_design_section_4()
    {
        var query = new ProximaQuery().Dataset("reanalysis/era5/t2m").Variable("t2m")
            .Time("2000-01-01", "2000-12-31T23:00:00").BBox(110, -50, 180, 0)
            .Select("level", 850)
            .Points(new GeoPoint("Sydney", -33.87, 151.21))
            .ToCelsius().Mean("time").Std("time").GroupBy("time.month")
            .AllowPartial().Deadline(TimeSpan.FromSeconds(60));

        using var actual = JsonDocument.Parse(query.ToJson());
        using var expected = JsonDocument.Parse("""
            {
              "datasets": ["reanalysis/era5/t2m"],
              "variable": "t2m",
              "select": { "time": ["2000-01-01", "2000-12-31T23:00:00"], "lat": [-50, 0], "lon": [110, 180], "level": { "values": [850] } },
              "points": [ { "name": "Sydney", "lat": -33.87, "lon": 151.21 } ],
              "transform": { "scale": 1.0, "offset": -273.15, "units": "degC" },
              "reduce": { "dims": ["time"], "ops": ["mean", "std"], "groupby": "time.month" },
              "allow_partial": true,
              "deadline_ms": 60000
            }
            """);
        Assert.True(JsonElement.DeepEquals(expected.RootElement, actual.RootElement), query.ToJson());
    }

    [Fact]
    public void Builder_and_protobuf_message_carry_the_same_query()
    {
        var query = new ProximaQuery().Datasets("a/b", "c/d").Variable("tas").Time("2090-01-01", "2100-12-30")
            .Select("lat", 10, -10).Transform(2, 1, "x").Max("time", "lon").Resample("1D");
        var proto = query.ToProto();
        Assert.Equal(["a/b", "c/d"], proto.Datasets);
        Assert.Equal("2090-01-01", proto.Select["time"].Range.Start);
        Assert.Equal("2100-12-30", proto.Select["time"].Range.End);
        Assert.Equal("10", proto.Select["lat"].Range.Start);
        Assert.Equal("-10", proto.Select["lat"].Range.End);
        Assert.True(proto.Transform.Present);
        Assert.Equal((2.0, 1.0, "x"), (proto.Transform.Scale, proto.Transform.Offset, proto.Transform.Units));
        Assert.Equal(["time", "lon"], proto.Reduce.Dims);
        Assert.Equal(["max"], proto.Reduce.Ops);
        Assert.Equal("1D", proto.Reduce.Resample);
    }

    [Fact]
    public async Task Incomplete_queries_say_what_is_missing()
    {
        Assert.Contains("no dataset", Assert.Throws<InvalidOperationException>(() => new ProximaQuery().Variable("t2m").ToJson()).Message);
        Assert.Contains("no variable", Assert.Throws<InvalidOperationException>(() => new ProximaQuery().Dataset("x").ToJson()).Message);
        Assert.Contains("reduction", Assert.Throws<InvalidOperationException>(() => new ProximaQuery().Dataset("x").Variable("v").GroupBy("time.month").ToJson()).Message);
        Assert.Throws<ArgumentException>(() => new ProximaQuery().BBox(0, 10, 5, -10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new ProximaQuery().Select("lat", double.NaN, 1));
        Assert.Contains("not bound", (await Assert.ThrowsAsync<InvalidOperationException>(() => new ProximaQuery().Dataset("x").Variable("v").ExecuteAsync())).Message);
    }

    [Fact]
    public void Catalog_search_builds_the_stac_query_string()
    {
        var search = new CatalogSearch().BBox(150, -35, 152.5, -33).Time("2000-01-01", "2000-12-31").Variable("air_temperature").Text("era 5").Limit(20);
        Assert.Equal("bbox=150,-35,152.5,-33&datetime=2000-01-01/2000-12-31&q=era%205&variable=air_temperature&limit=20", search.ToQueryString());
    }
}

public sealed class QuerySpecJsonRoundTripTests
{
    [Theory]
    [InlineData("""{"datasets":["a"],"variable":"t2m"}""")]
    [InlineData("""{"datasets":["a","b"],"variable":"air_temperature","select":{"time":["2090-01-01","2100-12-30"],"lat":[-45,-10],"level":{"values":[850,500]}},"points":[{"name":"Sydney","lat":-33.87,"lon":151.21}],"transform":{"scale":1,"offset":-273.15,"units":"degC"},"reduce":{"dims":["time"],"ops":["mean","max"],"resample":"1D"},"output":{"format":"csv"},"allow_partial":true,"deadline_ms":5000}""")]
    public void QuerySpec_json_round_trips_through_the_builder(string json)
    {
        var once = ProximaQuery.FromJson(json).ToJson();
        using var expected = System.Text.Json.JsonDocument.Parse(json);
        using var actual = System.Text.Json.JsonDocument.Parse(once);
        Assert.True(System.Text.Json.JsonElement.DeepEquals(expected.RootElement, actual.RootElement), once);
        Assert.Equal(once, ProximaQuery.FromJson(once).ToJson());
    }

    [Fact]
    public void Unknown_fields_are_named_in_the_error() =>
        Assert.Contains("'selct'", Assert.Throws<FormatException>(() => ProximaQuery.FromJson("""{"datasets":["a"],"variable":"v","selct":{}}""")).Message);
}
