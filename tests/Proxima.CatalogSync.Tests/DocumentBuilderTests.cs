using Proxima.Arrays.Cf;
using Proxima.CatalogSync.Discovery;

namespace Proxima.CatalogSync.Tests;

public sealed class DocumentBuilderTests
{
    [Fact]
    public void Longitude_axis_that_wraps_at_the_antimeridian_gives_west_greater_than_east()
    {
        var (w, e) = DocumentBuilder.LongitudeEdges([170, 175, 180, -175, -170], 5);
        Assert.Equal((167.5, -167.5), (w, e));
        var bbox = DocumentBuilder.MakeBbox(w, -10, e, 10);
        Assert.Equal([(167.5, 180.0), (-180.0, -167.5)], bbox.LongitudeSegments());
    }

    [Fact]
    public void Grids_spanning_360_degrees_are_global_in_their_own_convention()
    {
        Assert.Equal(new Catalog.BoundingBox(0, -90, 360, 90), DocumentBuilder.MakeBbox(-0.125, -90, 359.875, 90));
        Assert.Equal(new Catalog.BoundingBox(-180, -90, 180, 90), DocumentBuilder.MakeBbox(-180.5, -90, 179.5, 90));
        Assert.Equal(new Catalog.BoundingBox(179.5, 0, -170, 10), DocumentBuilder.MakeBbox(-180.5, 0, -170, 10));
    }

    [Theory]
    [InlineData(new[] { 0.0, 0.25, 0.5, 0.75 }, 0.25)]
    [InlineData(new[] { 90.0, 80.0, 70.0 }, -10.0)]
    [InlineData(new[] { 0.0, 1.0, 3.0 }, null)]
    [InlineData(new[] { 5.0 }, null)]
    public void Regular_step_is_detected_in_either_direction(double[] values, double? step) => Assert.Equal(step, DocumentBuilder.RegularStep(values));

    [Fact]
    public void Time_steps_are_calendar_aware_iso_durations()
    {
        CfDateTime D(int y, int m, int d, int h = 0, CfCalendar c = CfCalendar.Standard) => new(y, m, d, h, calendar: c);
        Assert.Equal("PT6H", DocumentBuilder.TimeStep([D(2000, 1, 1), D(2000, 1, 1, 6), D(2000, 1, 1, 12)]));
        Assert.Equal("P1D", DocumentBuilder.TimeStep([D(2001, 2, 28, 0, CfCalendar.NoLeap), D(2001, 3, 1, 0, CfCalendar.NoLeap)]));
        Assert.Equal("P1M", DocumentBuilder.TimeStep([D(2000, 1, 15), D(2000, 2, 15), D(2000, 3, 15)]));
        Assert.Equal("P1M", DocumentBuilder.TimeStep([D(2000, 1, 30, 0, CfCalendar.Day360), D(2000, 2, 30, 0, CfCalendar.Day360)]));
        Assert.Equal("P1Y", DocumentBuilder.TimeStep([D(2000, 7, 1), D(2001, 7, 1), D(2002, 7, 1)]));
        Assert.Null(DocumentBuilder.TimeStep([D(2000, 1, 1), D(2000, 1, 2), D(2000, 1, 5)]));
    }

    [Theory]
    [InlineData("reanalysis/era5/t2m.zarr", "reanalysis/era5/t2m")]
    [InlineData("era/msl.kerchunk.json", "era/msl")]
    [InlineData("obs/sst_daily", "obs/sst_daily")]
    [InlineData("a/b.zarr3", "a/b")]
    public void Dataset_id_is_the_path_without_store_extension(string path, string id) => Assert.Equal(id, DocumentBuilder.IdFromPath(path));
}
