using Proxima.Arrays.Storage;
using Proxima.Arrays.Tests.Infrastructure;
using Proxima.Arrays.Zarr;
using Xunit;

namespace Proxima.Arrays.Tests;

/// <summary>Region reads against a scalar reference, for chunk layouts that decode in place and ones that copy.</summary>
public sealed class RegionReadTests
{
    [Theory]
    [InlineData(1, 4, 5)]
    [InlineData(2, 4, 5)]
    [InlineData(1, 1, 5)]
    [InlineData(4, 3, 2)]
    [InlineData(6, 4, 5)]
    public async Task Every_box_matches_a_scalar_gather(int c0, int c1, int c2)
    {
        using var dir = new TempDir();
        var storage = new PosixStorage(dir.Path);
        long[] shape = [6, 4, 5];
        double[] data = Enumerable.Range(0, 120).Select(i => (double)i).ToArray();
        ZarrWriter w = await ZarrWriter.CreateAsync(storage, "r.zarr");
        await w.AddArrayAsync(new ZarrArrayDefinition { Name = "v", Dims = ["a", "b", "c"], Shape = shape, Chunks = [c0, c1, c2], Type = DataType.Float64, FillValue = -1 });
        await w.WriteArrayAsync<double>("v", data);
        await w.CompleteAsync();
        using GridDataset ds = await GridDataset.OpenAsync(storage, "r.zarr");
        GridVariable v = ds["v"];
        long[][] boxes = [[0, 0, 0, 6, 4, 5], [1, 0, 0, 4, 4, 5], [2, 1, 0, 3, 3, 5], [0, 0, 1, 6, 4, 3], [5, 3, 4, 1, 1, 1], [3, 0, 0, 2, 4, 5]];
        foreach (long[] b in boxes)
        {
            double[] got = await v.ReadRegionAsync<double>([b[0], b[1], b[2]], [b[3], b[4], b[5]], CancellationToken.None);
            int k = 0;
            for (long i = b[0]; i < b[0] + b[3]; i++)
            {
                for (long j = b[1]; j < b[1] + b[4]; j++)
                {
                    for (long l = b[2]; l < b[2] + b[5]; l++)
                    {
                        Assert.Equal(data[(((i * 4) + j) * 5) + l], got[k++]);
                    }
                }
            }
        }
    }
}

public sealed class CodecUnitTests
{
    [Fact]
    public void Crc32c_matches_the_standard_check_value()
    {
        Assert.Equal(0xE3069283u, Codecs.Crc32c.Compute("123456789"u8));
    }

    [Fact]
    public async Task Missing_chunk_reports_false_and_reads_as_fill()
    {
        using var dir = new TempDir();
        var storage = new PosixStorage(dir.Path);
        ZarrWriter w = await ZarrWriter.CreateAsync(storage, "m.zarr");
        await w.AddArrayAsync(new ZarrArrayDefinition { Name = "v", Dims = ["n"], Shape = [4], Chunks = [2], Type = DataType.Int16, FillValue = 9 });
        await w.WriteChunkAsync<short>("v", [0], new short[] { 1, 2 });
        await w.CompleteAsync();
        using GridDataset ds = await GridDataset.OpenAsync(storage, "m.zarr");
        var buf = new float[2];
        Assert.True(await ds["v"].ReadChunkAsync<float>(new long[] { 0 }, buf, CancellationToken.None));
        Assert.Equal([1f, 2f], buf);
        Assert.False(await ds["v"].ReadChunkAsync<float>(new long[] { 1 }, buf, CancellationToken.None));
        Assert.All(buf, x => Assert.True(float.IsNaN(x)));
    }
}
