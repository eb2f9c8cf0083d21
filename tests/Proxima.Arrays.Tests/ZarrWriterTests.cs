using Proxima.Arrays.Cf;
using Proxima.Arrays.Storage;
using Proxima.Arrays.Tests.Infrastructure;
using Proxima.Arrays.Zarr;
using Xunit;

namespace Proxima.Arrays.Tests;

public sealed class ZarrWriterTests
{
    private static async Task<(float[] Data, double[] Lat, double[] Hours)> WriteEra5LikeAsync(IWritableStorage storage, string path, ZarrWriterOptions options, ZarrCompression compression)
    {
        const int nt = 10, ny = 7, nx = 9;
        var data = new float[nt * ny * nx];
        var rng = new Random(1);
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (float)(250 + (rng.NextDouble() * 40));
        }

        data[5] = float.NaN;
        double[] lat = Enumerable.Range(0, ny).Select(i => 60.0 - (i * 20)).ToArray();
        double[] lon = Enumerable.Range(0, nx).Select(i => i * 40.0).ToArray();
        var units = CfTimeUnits.Parse("hours since 2095-02-01", "360_day");
        double[] hours = Enumerable.Range(0, nt).Select(i => units.Encode(new CfDateTime(2095, 2, 28, calendar: CfCalendar.Day360).AddDays(i))).ToArray();

        ZarrWriter w = await ZarrWriter.CreateAsync(storage, path, new Dictionary<string, object?> { ["title"] = "written by Proxima" }, options);
        await w.AddArrayAsync(new ZarrArrayDefinition { Name = "time", Dims = ["time"], Shape = [nt], Chunks = [nt], Type = DataType.Float64, Attributes = new Dictionary<string, object?> { ["units"] = "hours since 2095-02-01", ["calendar"] = "360_day" }, Compression = ZarrCompression.None });
        await w.AddArrayAsync(new ZarrArrayDefinition { Name = "lat", Dims = ["lat"], Shape = [ny], Chunks = [ny], Type = DataType.Float64, Attributes = new Dictionary<string, object?> { ["units"] = "degrees_north" } });
        await w.AddArrayAsync(new ZarrArrayDefinition { Name = "lon", Dims = ["lon"], Shape = [nx], Chunks = [4], Type = DataType.Float64, Attributes = new Dictionary<string, object?> { ["units"] = "degrees_east" } });
        await w.AddArrayAsync(new ZarrArrayDefinition { Name = "tas", Dims = ["time", "lat", "lon"], Shape = [nt, ny, nx], Chunks = [4, 3, 5], Type = DataType.Float32, Compression = compression, Attributes = new Dictionary<string, object?> { ["units"] = "K", ["standard_name"] = "air_temperature" } });
        await w.WriteArrayAsync<double>("time", hours);
        await w.WriteArrayAsync<double>("lat", lat);
        await w.WriteArrayAsync<double>("lon", lon);
        await w.WriteArrayAsync<float>("tas", data);
        await w.CompleteAsync();
        return (data, lat, hours);
    }

    [Theory]
    [InlineData(ZarrCompression.BloscLz4)]
    [InlineData(ZarrCompression.Zlib)]
    [InlineData(ZarrCompression.Gzip)]
    [InlineData(ZarrCompression.Zstd)]
    [InlineData(ZarrCompression.None)]
    public async Task Zarr_v2_written_store_opens_in_xarray_with_the_same_values_and_360_day_times(ZarrCompression compression)
    {
        using var dir = new TempDir();
        var storage = new PosixStorage(dir.Path);
        (float[] data, double[] lat, _) = await WriteEra5LikeAsync(storage, "out.zarr", new ZarrWriterOptions(), compression);

        using var refDir = new TempDir();
        Python.Run("read_with_xarray.py", refDir.Path, Path.Combine(dir.Path, "out.zarr"));
        ExpectedCase c = ReferenceSet.Load(refDir.Path)["written"];
        Compare.Equal(c.Variables["tas"].Values, data.Select(x => (double)x).ToArray(), "xarray tas");
        Compare.Equal(c.Variables["lat"].Values, lat, "xarray lat");
        Assert.Equal(["time", "lat", "lon"], c.Variables["tas"].Dims!);
        Assert.Equal("2095-02-28T00:00:00", c.Variables["time"].Times![0]);
        Assert.Equal("2095-02-30T00:00:00", c.Variables["time"].Times![2]);
        Assert.Equal("2095-03-07T00:00:00", c.Variables["time"].Times![^1]);
    }

    [Fact]
    public async Task Zarr_v3_written_store_reads_back_through_the_reader()
    {
        using var dir = new TempDir();
        var storage = new PosixStorage(dir.Path);
        (float[] data, _, double[] hours) = await WriteEra5LikeAsync(storage, "out.zarr", new ZarrWriterOptions { ZarrFormat = 3 }, ZarrCompression.Zstd);
        using GridDataset ds = await GridDataset.OpenAsync(storage, "out.zarr");
        Assert.Equal(DatasetFormat.ZarrV3, ds.Format);
        Assert.Equal("written by Proxima", ds.Attributes["title"].AsString());
        double[] tas = await ds["tas"].ReadAllAsync<double>(CancellationToken.None);
        double[] time = await ds["time"].ReadAllAsync<double>(CancellationToken.None);
        Compare.Equal(data.Select(x => (double)x).ToArray(), tas, "v3 tas");
        Compare.Equal(hours, time, "v3 time");
        Assert.Equal(["time", "lat", "lon"], ds["tas"].Dims.ToArray());
    }

    [Fact]
    public async Task Writing_the_wrong_element_type_is_rejected()
    {
        using var dir = new TempDir();
        ZarrWriter w = await ZarrWriter.CreateAsync(new PosixStorage(dir.Path), "x.zarr");
        await w.AddArrayAsync(new ZarrArrayDefinition { Name = "a", Dims = ["n"], Shape = [3], Chunks = [3], Type = DataType.Float32 });
        await Assert.ThrowsAsync<ArgumentException>(() => w.WriteArrayAsync<double>("a", new double[3]));
    }
}
