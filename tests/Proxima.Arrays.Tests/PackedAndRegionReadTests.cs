using System.Globalization;
using Proxima.Arrays.Storage;
using Proxima.Arrays.Tests.Infrastructure;
using Xunit;

namespace Proxima.Arrays.Tests;

/// <summary>
/// Packed element reads (<see cref="GridVariable.ReadChunkElementsPackedAsync{T}"/>: a point series' elements decoded
/// packed, no chunk buffer) and region reads of few and many chunks, against what xarray decodes from stores
/// zarr-python wrote. Each covers Blosc-lz4 with and without shuffle, float32 and float64, a codec decoded whole
/// (zstd), big-endian, CF packing (int16 with scale/offset and _FillValue), a missing chunk and NaN holes.
/// </summary>
public sealed class PackedAndRegionReadTests
{
    private const string Writer = """
import sys, numpy as np, zarr, numcodecs, xarray as xr
p, dtype, cname, shuffle = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rng = np.random.default_rng(7)
a = (250 + 30 * rng.standard_normal((700, 9, 10)))
a[100:140, 2, 3] = np.nan
comp = numcodecs.Blosc(cname, 5, shuffle, 0)
g = zarr.open_group(p + "/d.zarr", mode="w")
if dtype == "packed":
    raw = np.where(np.isnan(a), -32768, np.round((a - 250) / 0.01)).astype("i2")
    z = g.create_dataset("v", shape=a.shape, chunks=(300, 4, 5), dtype="i2", compressor=comp, fill_value=-32768)
    z[...] = raw
    z.attrs.update({"_ARRAY_DIMENSIONS": ["time", "y", "x"], "scale_factor": 0.01, "add_offset": 250.0})
else:
    z = g.create_dataset("v", shape=a.shape, chunks=(300, 4, 5), dtype=dtype, compressor=comp, fill_value=np.nan)
    z[...] = a.astype(dtype)
    z.attrs["_ARRAY_DIMENSIONS"] = ["time", "y", "x"]
zarr.consolidate_metadata(p + "/d.zarr")
import os; os.remove(p + "/d.zarr/v/1.1.0")  # a missing chunk reads as the fill value
v = xr.open_zarr(p + "/d.zarr").v.values.astype("<f8")
v.tofile(p + "/expected.bin")
""";

    private static (GridDataset Dataset, double[] Expected) Store(TempDir dir, string dtype, string cname, int shuffle)
    {
        Python.RunCode(Writer, dir.Path, dtype, cname, shuffle.ToString(CultureInfo.InvariantCulture));
        double[] expected = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(File.ReadAllBytes(Path.Combine(dir.Path, "expected.bin"))).ToArray();
        return (GridDataset.OpenAsync(new PosixStorage(dir.Path), "d.zarr").GetAwaiter().GetResult(), expected);
    }

    private static void Same(double want, double have, string where)
    {
        if (!(double.IsNaN(want) ? double.IsNaN(have) : Math.Abs(want - have) <= 1e-6 * Math.Abs(want)))
        {
            Assert.Fail($"{where}: read {have}, xarray decoded {want}");
        }
    }

    [Theory]
    [InlineData("<f4", "lz4", 1)]
    [InlineData("<f4", "lz4", 0)]
    [InlineData("<f8", "lz4", 1)]
    [InlineData(">f4", "lz4", 1)]
    [InlineData("<f4", "zstd", 1)]
    [InlineData("packed", "lz4", 1)]
    public async Task Packed_element_reads_equal_xarray(string dtype, string cname, int shuffle)
    {
        using var dir = new TempDir();
        (GridDataset ds, double[] expected) = Store(dir, dtype, cname, shuffle);
        using (ds)
        {
            GridVariable v = ds["v"];

            // Cell (y, x) of chunk (c, cy, cx): every 20th element of the chunk, as a point series reads it; and a
            // few scattered ones.
            foreach ((long c, long cy, long cx, int cell) in new (long, long, long, int)[] { (0, 0, 1, 7), (1, 0, 0, 13), (2, 0, 0, 0), (1, 1, 0, 3), (0, 1, 1, 19) })
            {
                int rows = (int)Math.Min(300, 700 - (c * 300));
                int[] series = [.. Enumerable.Range(0, rows).Select(t => (t * 20) + cell)];
                int[] scattered = [cell, 20 + cell, (rows / 2 * 20) + cell, ((rows - 1) * 20) + 19];
                foreach (int[] elements in new[] { series, scattered })
                {
                    double[] got = new double[elements.Length];
                    await v.ReadChunkElementsPackedAsync<double>(new long[] { c, cy, cx }, elements, got, CancellationToken.None);
                    float[] gotFloat = new float[elements.Length];
                    await v.ReadChunkElementsPackedAsync<float>(new long[] { c, cy, cx }, elements, gotFloat, CancellationToken.None);
                    for (int i = 0; i < elements.Length; i++)
                    {
                        int e = elements[i];
                        long t = (c * 300) + (e / 20);
                        long y = (cy * 4) + (e % 20 / 5);
                        long x = (cx * 5) + (e % 5);
                        double want = y < 9 && x < 10 ? expected[(((t * 9) + y) * 10) + x] : double.NaN;
                        if (y >= 9 || x >= 10)
                        {
                            continue;
                        }

                        Same(want, got[i], $"chunk ({c},{cy},{cx}) element {e}");
                        Same((float)want, gotFloat[i], $"chunk ({c},{cy},{cx}) element {e} as float");
                    }
                }
            }

            await Assert.ThrowsAsync<ArgumentException>(async () => await v.ReadChunkElementsPackedAsync<float>(new long[] { 0, 0, 0 }, new[] { 5, 5 }, new float[2], CancellationToken.None));
        }
    }

    [Theory]
    [InlineData("<f4", "lz4", 1)]
    [InlineData("<f4", "lz4", 0)]
    [InlineData("<f8", "lz4", 1)]
    [InlineData(">f4", "lz4", 1)]
    [InlineData("packed", "lz4", 1)]
    public async Task Region_reads_of_few_and_many_chunks_equal_xarray(string dtype, string cname, int shuffle)
    {
        using var dir = new TempDir();
        (GridDataset ds, double[] expected) = Store(dir, dtype, cname, shuffle);
        using (ds)
        {
            GridVariable v = ds["v"];

            // All 12 chunks, then boxes of 2-8 chunks.
            long[][] boxes = [[0, 0, 0, 700, 9, 10], [0, 0, 0, 700, 4, 10], [250, 2, 3, 200, 6, 7], [299, 3, 4, 2, 2, 2], [600, 4, 5, 100, 5, 5]];
            foreach (long[] b in boxes)
            {
                double[] got = await v.ReadRegionAsync<double>([b[0], b[1], b[2]], [b[3], b[4], b[5]], CancellationToken.None);
                float[] gotFloat = await v.ReadRegionAsync<float>([b[0], b[1], b[2]], [b[3], b[4], b[5]], CancellationToken.None);
                int k = 0;
                for (long t = b[0]; t < b[0] + b[3]; t++)
                {
                    for (long y = b[1]; y < b[1] + b[4]; y++)
                    {
                        for (long x = b[2]; x < b[2] + b[5]; x++, k++)
                        {
                            double want = expected[(((t * 9) + y) * 10) + x];
                            Same(want, got[k], $"box [{string.Join(",", b)}] ({t},{y},{x})");
                            Same((float)want, gotFloat[k], $"box [{string.Join(",", b)}] ({t},{y},{x}) as float");
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public async Task A_corrupt_block_table_on_the_region_and_packed_paths_is_a_typed_error_naming_the_chunk()
    {
        using var dir = new TempDir();
        (GridDataset ds, _) = Store(dir, "<f4", "lz4", 1);
        ds.Dispose();
        string key = Path.Combine(dir.Path, "d.zarr", "v", "0.0.0");
        byte[] bad = File.ReadAllBytes(key);
        // The block table's first entry points past the buffer (a stream stored raw would take any bytes unnoticed).
        bad.AsSpan(16, 4).Fill(0xFF);
        File.WriteAllBytes(key, bad);
        using GridDataset reopened = await GridDataset.OpenAsync(new PosixStorage(dir.Path), "d.zarr");
        GridVariable v = reopened["v"];
        var shared = await Assert.ThrowsAsync<ChunkDecodeException>(async () => await v.ReadRegionAsync<float>([0, 0, 0], [600, 4, 5], CancellationToken.None));
        Assert.Contains("0.0.0", shared.Message + shared.Location, StringComparison.Ordinal);
        int[] series = [.. Enumerable.Range(0, 300).Select(t => t * 20)];
        var packed = await Assert.ThrowsAsync<ChunkDecodeException>(async () => await v.ReadChunkElementsPackedAsync<float>(new long[] { 0, 0, 0 }, series, new float[300], CancellationToken.None));
        Assert.Contains("0.0.0", packed.Message + packed.Location, StringComparison.Ordinal);

        // Cut short: truncated, typed.
        File.WriteAllBytes(key, bad.AsSpan(0, bad.Length / 3).ToArray());
        await Assert.ThrowsAsync<ChunkDecodeException>(async () => await v.ReadRegionAsync<float>([0, 0, 0], [600, 4, 5], CancellationToken.None));
        await Assert.ThrowsAsync<ChunkDecodeException>(async () => await v.ReadChunkElementsPackedAsync<float>(new long[] { 0, 0, 0 }, series, new float[300], CancellationToken.None));
    }
}
