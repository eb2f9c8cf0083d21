using Proxima.Arrays.Grid;
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

/// <summary>
/// Region reads of Blosc-lz4 stores written by zarr-python whose chunks are not contiguous in the output, decoded
/// block by block straight into it: blocks smaller than a row and larger, shuffle on and off, float32 and float64,
/// padded edge chunks, a missing chunk, NaN holes; compared with the array zarr-python wrote.
/// </summary>
public sealed class DirectRegionDecodeTests
{
    [Theory]
    [InlineData("f4", 1, 0)]
    [InlineData("f4", 1, 4096)]
    [InlineData("f4", 0, 4096)]
    [InlineData("f8", 1, 2048)]
    [InlineData("f8", 1, 0)]
    public async Task Region_reads_equal_zarr_python_when_chunks_decode_into_the_output(string dtype, int shuffle, int blocksize)
    {
        using var dir = new TempDir();
        Python.RunCode("""
import sys, numpy as np, zarr, numcodecs
p, dtype, shuffle, bs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(5)
a = (250 + 30 * rng.standard_normal((13, 37, 150))).astype(dtype)
a[3, 5:9, 10:20] = np.nan
comp = numcodecs.Blosc("lz4", 5, shuffle, bs)
z = zarr.open_array(p + "/d.zarr", mode="w", shape=a.shape, chunks=(5, 16, 64), dtype=dtype, compressor=comp, fill_value=np.nan)
z[...] = a
import os; os.remove(p + "/d.zarr/1.1.1")  # a missing chunk reads as the fill value
a[5:10, 16:32, 64:128] = np.nan
a.astype("<" + dtype).tofile(p + "/expected.bin")
""", dir.Path, dtype, shuffle.ToString(System.Globalization.CultureInfo.InvariantCulture), blocksize.ToString(System.Globalization.CultureInfo.InvariantCulture));
        byte[] bytes = File.ReadAllBytes(Path.Combine(dir.Path, "expected.bin"));
        double[] expected = dtype == "f4"
            ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray().Select(x => (double)x).ToArray()
            : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(bytes).ToArray();
        using GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(dir.Path), "d.zarr");
        GridVariable v = ds.Variables[0];
        long[][] boxes = [[0, 0, 0, 13, 37, 150], [2, 3, 5, 9, 30, 140], [4, 15, 63, 2, 3, 3], [0, 0, 100, 13, 37, 50], [12, 36, 149, 1, 1, 1]];
        foreach (long[] b in boxes)
        {
            long[] start = [b[0], b[1], b[2]];
            long[] count = [b[3], b[4], b[5]];
            double[] got = dtype == "f4"
                ? (await v.ReadRegionAsync<float>(start, count, CancellationToken.None)).Select(x => (double)x).ToArray()
                : await v.ReadRegionAsync<double>(start, count, CancellationToken.None);
            int k = 0;
            for (long i = b[0]; i < b[0] + b[3]; i++)
            {
                for (long j = b[1]; j < b[1] + b[4]; j++)
                {
                    for (long l = b[2]; l < b[2] + b[5]; l++)
                    {
                        double want = expected[(((i * 37) + j) * 150) + l];
                        double have = got[k++];
                        if (!(double.IsNaN(want) ? double.IsNaN(have) : want == have))
                        {
                            Assert.Fail($"box [{string.Join(",", b)}]: element ({i},{j},{l}) is {have}, zarr-python wrote {want}");
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void Runs_merge_rows_that_continue_in_both_the_chunk_and_the_output()
    {
        // A chunk 2 x 3 x 4 whose last two dims span the output's: one run; a column box: one run per row.
        ChunkRun[] whole = ChunkRun.Build([2, 3, 4], [0, 0, 0], [6, 3, 4], [2, 0, 0], [2, 3, 4]);
        Assert.Equal([new ChunkRun(0, 24, 24)], whole);
        ChunkRun[] column = ChunkRun.Build([2, 3, 4], [0, 1, 2], [2, 3, 9], [0, 0, 7], [2, 2, 2]);
        Assert.Equal([new ChunkRun(6, 7, 2), new ChunkRun(10, 16, 2), new ChunkRun(18, 34, 2), new ChunkRun(22, 43, 2)], column);
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
