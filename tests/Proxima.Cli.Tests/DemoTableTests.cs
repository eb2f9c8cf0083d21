using System.Text.Json;
using Proxima.Cli.Commands;

namespace Proxima.Cli.Tests;

public sealed class DemoTableTests
{
    [Fact]
    public void Area_mean_weights_rows_by_cos_latitude_and_skips_nan_cells()
    {
        // Latitudes 0 and 60 weigh 1 and 0.5: ((1 + 3) * 1 + 4 * 0.5) / (2 * 1 + 1 * 0.5) = 6 / 2.5; the null cell is skipped.
        using var doc = JsonDocument.Parse("""
            { "dims": ["lat", "lon"], "shape": [2, 2], "coords": { "lat": [0, 60], "lon": [10, 20] },
              "data": { "mean": [1, 3, 4, null] } }
            """);
        var result = doc.RootElement;
        Assert.Equal(2.4, DemoCommand.AreaMean(result, result.GetProperty("data").GetProperty("mean")), 12);
    }

    [Fact]
    public void Area_mean_without_a_latitude_dim_is_the_plain_mean()
    {
        using var doc = JsonDocument.Parse("""{ "dims": ["time"], "shape": [3], "coords": { "time": [0, 1, 2] }, "data": { "max": [1, 2, 6] } }""");
        var result = doc.RootElement;
        Assert.Equal(3.0, DemoCommand.AreaMean(result, result.GetProperty("data").GetProperty("max")), 12);
    }
}
