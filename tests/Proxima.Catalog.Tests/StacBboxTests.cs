using System.Text.Json;
using Proxima.Catalog.Search;

namespace Proxima.Catalog.Tests;

public sealed class StacBboxTests
{
    [Theory]
    [InlineData(0, 360, -180, 180)]
    [InlineData(-180, 180, -180, 180)]
    [InlineData(110, 180, 110, 180)]
    [InlineData(200, 300, -160, -60)]
    [InlineData(170, 190, 170, -170)]
    public void Stac_bbox_is_in_minus_180_to_180_and_a_global_grid_stays_global(double west, double east, double expectedWest, double expectedEast)
    {
        var document = new DatasetDocument
        {
            Id = "d",
            Region = "r",
            Uri = "d.zarr",
            Format = DatasetFormat.ZarrV2,
            Fingerprint = "f",
            Bbox = new BoundingBox(west, -90, east, 90),
        };
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            StacWriter.WriteItem(writer, [document], new Uri("http://localhost/v1/datasets"));
        }

        using var doc = JsonDocument.Parse(buffer.ToArray());
        var bbox = doc.RootElement.GetProperty("bbox").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal([expectedWest, -90, expectedEast, 90], bbox);
    }
}
