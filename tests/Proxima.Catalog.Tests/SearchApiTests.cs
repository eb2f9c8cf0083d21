using System.Text.Json;
using Proxima.Catalog.Search;

namespace Proxima.Catalog.Tests;

public sealed class SearchApiTests
{
    [Theory]
    [InlineData("2000-02-30T12:00:00", "2000-02-29T12:00:00.000Z")] // 360_day day 30 of February clamps to the Gregorian month end
    [InlineData("2001-02-29", "2001-02-28T00:00:00.000Z")]
    [InlineData("1850-01-01T00:00:00Z", "1850-01-01T00:00:00.000Z")]
    [InlineData("0001-01-01", "0001-01-01T00:00:00.000Z")]
    [InlineData("2000-01-01T06:30:15.250", "2000-01-01T06:30:15.250Z")]
    public void Time_keys_clamp_calendar_days_and_round_trip(string iso, string gregorian) =>
        Assert.Equal(gregorian, TimeKey.Format(TimeKey.Parse(iso, TimeKey.Bound.Start)));

    [Fact]
    public void Time_keys_are_monotone_within_360_day_months_and_partial_dates_cover_their_span()
    {
        long d29 = TimeKey.Parse("2000-02-29", TimeKey.Bound.Start), d30 = TimeKey.Parse("2000-02-30", TimeKey.Bound.Start), m3 = TimeKey.Parse("2000-03-01", TimeKey.Bound.Start);
        Assert.True(d29 <= d30 && d30 < m3);
        Assert.Equal(TimeKey.Parse("2000-12-31T23:59:59.999", TimeKey.Bound.Start), TimeKey.Parse("2000", TimeKey.Bound.End));
        Assert.Equal(TimeKey.Parse("2000-02-29T23:59:59.999", TimeKey.Bound.Start), TimeKey.Parse("2000-02", TimeKey.Bound.End));
        Assert.Equal(946684800000L, TimeKey.Parse("2000-01-01T00:00:00Z", TimeKey.Bound.Start)); // Unix ms, as `date -d 2000-01-01Z +%s`
        Assert.Throws<FormatException>(() => TimeKey.Parse("2000-13-01", TimeKey.Bound.Start));
        Assert.Throws<FormatException>(() => TimeKey.Parse("2000-01-01T00:00:00+02:00", TimeKey.Bound.Start));
    }

    [Fact]
    public void Bbox_segments_normalize_0_360_and_antimeridian_boxes()
    {
        Assert.Equal([(170.0, 180.0), (-180.0, -170.0)], new BoundingBox(170, 0, 190, 10).LongitudeSegments());
        Assert.Equal([(170.0, 180.0), (-180.0, -170.0)], new BoundingBox(170, 0, -170, 10).LongitudeSegments());
        Assert.Equal([(-180.0, 180.0)], new BoundingBox(0, -90, 360, 90).LongitudeSegments());
        Assert.Equal([(-60.0, -30.0)], new BoundingBox(300, 0, 330, 10).LongitudeSegments());
        Assert.True(new BoundingBox(300, 0, 330, 10).Intersects(new BoundingBox(-50, 5, -40, 6)));
        Assert.Throws<ArgumentException>(() => new BoundingBox(0, 10, 10, 0));
    }

    [Fact]
    public void Search_parameters_parse_and_errors_name_the_parameter()
    {
        var q = SearchParameters.Parse("?bbox=170,-10,-170,10&datetime=2000-01-01T00:00:00Z/..&q=era5%20t2m&variable=air_temperature&limit=50&region=us-east-1");
        Assert.Equal(new BoundingBox(170, -10, -170, 10), q.Bbox);
        Assert.Equal(TimeKey.Parse("2000-01-01", TimeKey.Bound.Start), q.TimeStartKey);
        Assert.Null(q.TimeEndKey);
        Assert.Equal(("era5 t2m", "air_temperature", 50, "us-east-1"), (q.Text, q.Variable, q.Limit, q.Region));
        var instant = SearchParameters.Parse("datetime=2000-06-15");
        Assert.Equal(TimeKey.Parse("2000-06-15T23:59:59.999", TimeKey.Bound.Start), instant.TimeEndKey);

        foreach (var (qs, param, fragment) in new[]
        {
            ("bbox=1,2,3", "bbox", "4 comma-separated"),
            ("bbox=0,10,20,5", "bbox", "south <= north"),
            ("bbox=a,0,1,1", "bbox", "value 1 ('a')"),
            ("datetime=2001-01-01/2000-01-01", "datetime", "after its end"),
            ("datetime=../..", "datetime", "closed end"),
            ("datetime=yesterday", "datetime", "'yesterday'"),
            ("limit=0", "limit", "1..10000"),
            ("limit=abc", "limit", "1..10000"),
            ("q=%20%2B%2B", "q", "letter or digit"),
            ("token=!!", "token", "paging token"),
            ("colour=red", "colour", "unknown parameter"),
            ("limit=1&limit=2", "limit", "more than once"),
            ("region=US", "region", "lowercase"),
        })
        {
            var e = Assert.Throws<CatalogQueryException>(() => SearchParameters.Parse(qs));
            Assert.Equal(param, e.Parameter);
            Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Stac_item_collection_has_features_datacube_fields_and_next_link()
    {
        var a = Docs.Make("reanalysis/era5/t2m", "us-east-1", new BoundingBox(170, -10, 190, 10), start: "2000-01-01T00:00:00", end: "2000-02-30T00:00:00", calendar: "360_day");
        var page = new SearchPage(42, [a], "tok123");
        byte[] json = StacWriter.ItemCollectionToUtf8(page, new Uri("http://router:8080/v1/datasets?bbox=0,0,1,1&token=old&limit=1"));
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal("FeatureCollection", root.GetProperty("type").GetString());
        Assert.Equal(42, root.GetProperty("numberMatched").GetInt64());
        Assert.Equal(1, root.GetProperty("numberReturned").GetInt32());
        var links = root.GetProperty("links").EnumerateArray().ToDictionary(l => l.GetProperty("rel").GetString()!, l => l.GetProperty("href").GetString()!);
        Assert.Equal("http://router:8080/v1/datasets?bbox=0,0,1,1&limit=1&token=tok123", links["next"]);

        var f = root.GetProperty("features")[0];
        Assert.Equal("reanalysis/era5/t2m", f.GetProperty("id").GetString());
        Assert.Equal("MultiPolygon", f.GetProperty("geometry").GetProperty("type").GetString());
        Assert.Equal("[170,-10,-170,10]", f.GetProperty("bbox").GetRawText());
        var p = f.GetProperty("properties");
        Assert.Equal(JsonValueKind.Null, p.GetProperty("datetime").ValueKind);
        Assert.Equal("2000-01-01T00:00:00.000Z", p.GetProperty("start_datetime").GetString());
        Assert.Equal("2000-02-29T00:00:00.000Z", p.GetProperty("end_datetime").GetString());
        Assert.Equal("us-east-1", p.GetProperty("proxima:region").GetString());
        Assert.Equal("360_day", p.GetProperty("proxima:calendar").GetString());
        Assert.Equal("[\"2000-01-01T00:00:00\",\"2000-02-30T00:00:00\"]", p.GetProperty("cube:dimensions").GetProperty("time").GetProperty("extent").GetRawText());
        Assert.Equal("spatial", p.GetProperty("cube:dimensions").GetProperty("lat").GetProperty("type").GetString());
        Assert.Equal("[-90,90]", p.GetProperty("cube:dimensions").GetProperty("lat").GetProperty("extent").GetRawText());
        var v = p.GetProperty("cube:variables").GetProperty("t2m");
        Assert.Equal("[\"time\",\"lat\",\"lon\"]", v.GetProperty("dimensions").GetRawText());
        Assert.Equal("air_temperature", v.GetProperty("proxima:standard_name").GetString());
        Assert.Equal("http://router:8080/v1/datasets/reanalysis/era5/t2m", f.GetProperty("links")[0].GetProperty("href").GetString());
    }

    [Fact]
    public void Stac_item_for_a_split_dataset_lists_its_parts_and_spans_all_times()
    {
        var p1 = Docs.Make("cmip6/tas", "us-west-2", start: "2015-01-30T00:00:00", end: "2016-12-30T00:00:00", calendar: "360_day") with { Part = "a" };
        var p2 = Docs.Make("cmip6/tas", "eu-west-1", start: "2017-01-30T00:00:00", end: "2018-12-30T00:00:00", calendar: "360_day") with { Part = "b" };
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            StacWriter.WriteItem(w, [p1, p2], new Uri("http://r/v1/datasets/cmip6/tas"));
        }

        using var doc = JsonDocument.Parse(ms.ToArray());
        var props = doc.RootElement.GetProperty("properties");
        Assert.Equal("2018-12-30T00:00:00.000Z", props.GetProperty("end_datetime").GetString());
        Assert.Equal(["us-west-2", "eu-west-1"], props.GetProperty("proxima:parts").EnumerateArray().Select(x => x.GetProperty("region").GetString()));
        Assert.Equal("[\"2015-01-30T00:00:00\",\"2018-12-30T00:00:00\"]", props.GetProperty("cube:dimensions").GetProperty("time").GetProperty("extent").GetRawText());
    }
}

public sealed class CatalogFactoryTests
{
    [Fact]
    public async Task Factory_opens_sqlite_and_rejects_bad_options_naming_the_field()
    {
        using var dir = new TempDir();
        await using (var c = await CatalogFactory.OpenAsync(new CatalogOptions { SqlitePath = Path.Combine(dir.Path, "x", "catalog.db") }))
        {
            Assert.Equal("sqlite", c.Backend);
        }

        Assert.Contains("CatalogOptions.SqlitePath", (await Assert.ThrowsAsync<ArgumentException>(() => CatalogFactory.OpenAsync(new CatalogOptions()))).Message, StringComparison.Ordinal);
        Assert.Contains("CatalogOptions.Backend", (await Assert.ThrowsAsync<ArgumentException>(() => CatalogFactory.OpenAsync(new CatalogOptions { Backend = "mongo" }))).Message, StringComparison.Ordinal);
        Assert.Contains("IndexPrefix", Assert.Throws<ArgumentException>(() => new OpenSearch.OpenSearchCatalog(new OpenSearch.OpenSearchCatalogOptions { Endpoint = new Uri("http://x"), IndexPrefix = "Bad Prefix" })).Message, StringComparison.Ordinal);
    }
}
