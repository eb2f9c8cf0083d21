using System.Diagnostics;
using Proxima.Arrays.Grid;
using Proxima.Arrays.NetCdf;
using Proxima.Arrays.Storage;
using Proxima.Arrays.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Proxima.Arrays.Tests;

public sealed class NetCdfReference : ReferenceSet
{
    public NetCdfReference()
        : base("make_netcdf.py")
    {
    }
}

/// <summary>NetCDF-3/4 files and a NetCDF collection read through libnetcdf, compared with xarray.</summary>
public sealed class NetCdfTests : IClassFixture<NetCdfReference>
{
    private static readonly string[] Names =
    [
        "collection", "nc3_single_record_short", "nc3_unsigned", "nc4_360day", "nc4_bigendian", "nc4_fletcher32", "nc4_groups", "nc4_packed",
        "nc4_packed_f4scale", "nc4_partial", "nc4_zlib_shuffle", "netcdf3_64bit", "netcdf3_cdf5", "netcdf3_classic", "netcdf4_classic",
    ];

    private static readonly GridDatasetOptions ThroughLibNetCdf = new() { NetCdfDirectReads = false };

    private readonly NetCdfReference _ref;

    public NetCdfTests(NetCdfReference reference)
    {
        _ref = reference;
    }

    public static TheoryData<string> CaseNames => new(Names);

    [Fact]
    public void Every_generated_file_is_covered_by_a_test_case()
    {
        Assert.Equal(Names.Order(), _ref.Cases.Keys.OrderBy(x => x));
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task File_reads_back_equal_to_xarray(string caseName)
    {
        ExpectedCase c = _ref.Cases[caseName];
        using GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(_ref.Root), c.Path);
        Assert.Equal(caseName == "collection" ? DatasetFormat.NetCdfCollection : DatasetFormat.NetCdf, ds.Format);
        foreach (ExpectedVariable v in c.Variables.Values)
        {
            await Compare.AssertVariableMatches(ds, v, caseName);
        }
    }

    /// <summary>The same files through libnetcdf only (the path variables without a chunk index take).</summary>
    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task File_reads_back_equal_to_xarray_through_libnetcdf(string caseName)
    {
        ExpectedCase c = _ref.Cases[caseName];
        using GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(_ref.Root), c.Path, ThroughLibNetCdf);
        foreach (ExpectedVariable v in c.Variables.Values)
        {
            Assert.False(NetCdfArray.IsDirect(ds[v.Name].Source));
            await Compare.AssertVariableMatches(ds, v, caseName);
        }
    }

    /// <summary>
    /// Which variables read through their chunk index (no libnetcdf, no lock): every numeric variable
    /// except r2 of nc4_partial, whose HDF5 extent (3 records) is shorter than its unlimited dimension (7),
    /// so libnetcdf's fill of the missing records is kept by reading it through libnetcdf.
    /// </summary>
    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Numeric_variables_read_through_their_chunk_index(string caseName)
    {
        ExpectedCase c = _ref.Cases[caseName];
        using GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(_ref.Root), c.Path);
        foreach (ExpectedVariable v in c.Variables.Values)
        {
            ChunkSource source = ds[v.Name].Source;
            if (source is MemoryArray)
            {
                continue; // a collection's aggregated time coordinate
            }

            bool expected = !(caseName == "nc4_partial" && v.Name == "r2");
            Assert.True(expected == NetCdfArray.IsDirect(source), $"{caseName}/{v.Name}: direct {NetCdfArray.IsDirect(source)}, expected {expected}");
        }
    }

    /// <summary>A flipped byte in a Fletcher-32 chunk (its offset from h5py) is a checksum error naming file and variable, not wrong data.</summary>
    [Fact]
    public async Task A_corrupted_fletcher32_chunk_is_a_checksum_error_naming_file_and_variable()
    {
        using var dir = new TempDir();
        string path = Path.Combine(dir.Path, "f32.nc");
        File.Copy(Path.Combine(_ref.Root, "nc/nc4_fletcher32.nc"), path);
        Python.RunCode("""
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    offset = f["plain"].id.get_chunk_info(1).byte_offset
with open(sys.argv[1], "r+b") as f:
    f.seek(offset + 3); b = f.read(1); f.seek(offset + 3); f.write(bytes([b[0] ^ 0x40]))
""", path);
        using GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(dir.Path), "f32.nc");
        Assert.True(NetCdfArray.IsDirect(ds["plain"].Source));
        ChunkDecodeException e = await Assert.ThrowsAsync<ChunkDecodeException>(async () => await ds["plain"].ReadAllAsync<double>(CancellationToken.None));
        Assert.Equal(ChunkErrorKind.ChecksumMismatch, e.Kind);
        Assert.Contains("f32.nc:plain", e.Message, StringComparison.Ordinal);
        Assert.Equal(12 * 17 * 12, (await ds["t2m"].ReadAllAsync<double>(CancellationToken.None)).Length); // the other variable still reads
    }

    [Fact]
    public async Task NetCdf4_exposes_chunking_unlimited_time_and_coordinates()
    {
        using GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(_ref.Root), "nc/nc4_zlib_shuffle.nc");
        GridVariable t2m = ds["t2m"];
        Assert.Equal([7, 9, 5], t2m.ChunkShape.ToArray());
        Assert.Equal("netcdf4 test", ds.Attributes["title"].AsString());
        Assert.Equal("time", ds.FindCoordinate(CoordinateRole.Time, t2m)!.Name);
        Assert.Equal("lat", ds.FindCoordinate(CoordinateRole.Latitude, t2m)!.Name);
    }

    [Fact]
    public async Task Collection_aggregates_files_along_time_with_each_files_units()
    {
        using GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(_ref.Root), "nc/collection");
        GridVariable t2m = ds["t2m"];
        Assert.Equal([48L, 17, 12], t2m.Shape.ToArray());
        Assert.Equal(4, t2m.ChunkShape[0]);
        var times = await ds["time"].ReadTimesAsync(CancellationToken.None);
        Assert.Equal("2001-01-04T11:00:00", times[^1].ToString());
    }

    [Theory]
    [InlineData("nc/not_netcdf.nc", "not a NetCDF file")]
    [InlineData("nc/truncated.nc", "truncated.nc")]
    public async Task A_file_that_is_not_NetCDF_is_a_typed_error_naming_it(string path, string fragment)
    {
        ArrayFormatException e = await Assert.ThrowsAnyAsync<ArrayFormatException>(async () =>
        {
            using GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(_ref.Root), path);
            foreach (GridVariable v in ds.Variables)
            {
                await v.ReadAllAsync<double>(CancellationToken.None);
            }
        });
        Assert.Contains(Path.GetFileName(path), e.Message, StringComparison.Ordinal);
        Assert.Contains(fragment, e.Message, StringComparison.Ordinal);
    }
}

[CollectionDefinition("timing", DisableParallelization = true)]
public sealed class TimingCollection
{
}

/// <summary>Timed checks run alone so other tests do not compete for the two cores.</summary>
[Collection("timing")]
public sealed class NetCdfCollectionTimingTests
{
    private readonly ITestOutputHelper _output;

    public NetCdfCollectionTimingTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public async Task Collection_of_365_daily_files_opens_as_one_dataset_and_reads_the_last_day()
    {
        using var dir = new TempDir();
        Python.RunCode("""
import sys, os, netCDF4, numpy as np
d = sys.argv[1]
for i in range(365):
    with netCDF4.Dataset(os.path.join(d, f"day_{i:03d}.nc"), "w") as f:
        f.createDimension("time", None); f.createDimension("lat", 4); f.createDimension("lon", 8)
        t = f.createVariable("time", "f8", ("time",)); t.units = f"days since 2001-01-01"; t.calendar = "noleap"
        t[:] = [i]
        f.createVariable("lat", "f4", ("lat",))[:] = np.arange(4)
        f.createVariable("lon", "f4", ("lon",))[:] = np.arange(8)
        v = f.createVariable("tas", "f4", ("time", "lat", "lon"), zlib=True)
        v[:] = np.full((1, 4, 8), i, dtype="f4")
""", dir.Path);
        // Best of three opens each: the machine is shared, and a worker opens with a warm page cache.
        // Cold = every file opened (no metadata cache, as before a sync); cached = the sync's metadata cache.
        var storage = new PosixStorage(dir.Path);
        using var cacheDir = new TempDir();
        var cachedOptions = new GridDatasetOptions { NetCdfMetadataCacheDirectory = cacheDir.Path };
        TimeSpan cold = TimeSpan.MaxValue, cached = TimeSpan.MaxValue;
        for (int i = 0; i < 3; i++)
        {
            var sw = Stopwatch.StartNew();
            using (GridDataset probe = await GridDataset.OpenAsync(storage, ""))
            {
                cold = sw.Elapsed < cold ? sw.Elapsed : cold;
            }
        }

        using (await GridDataset.OpenAsync(storage, "", cachedOptions))
        {
            // writes the cache, as the sync does
        }

        for (int i = 0; i < 3; i++)
        {
            var sw = Stopwatch.StartNew();
            using (GridDataset probe = await GridDataset.OpenAsync(storage, "", cachedOptions))
            {
                cached = sw.Elapsed < cached ? sw.Elapsed : cached;
            }
        }

        using GridDataset ds = await GridDataset.OpenAsync(storage, "", cachedOptions);
        Assert.Equal(365, ds["tas"].Shape[0]);
        _output.WriteLine(FormattableString.Invariant(
            $"open 365 daily files (best of 3, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}): cold {cold.TotalMilliseconds:F0} ms, with the metadata cache {cached.TotalMilliseconds:F0} ms (goal < 2000 ms), {cold / cached:F1}x"));
        // The < 2 s goal is measured, not asserted: a loaded CI machine is no stopwatch.
        float[] last = await ds["tas"].ReadRegionAsync<float>([364, 0, 0], [1, 4, 8], CancellationToken.None);
        Assert.All(last, x => Assert.Equal(364f, x));
        Assert.Equal("0001-12-31T00:00:00".Length, (await ds["time"].ReadTimesAsync(CancellationToken.None))[^1].ToString().Length);
    }

    /// <summary>
    /// 365 daily NetCDF-4 files day_000.nc ... day_364.nc written by netCDF4-python: tas (1 x 180 x 360 float32,
    /// zlib + shuffle, one chunk per file) over a noleap time axis, as the collection benchmarks read them.
    /// </summary>
    private static void WriteDailyFiles(string dir) => Python.RunCode(DailyFilesScript, dir);

    private const string DailyFilesScript = """
import sys, os, netCDF4, numpy as np
d = sys.argv[1]
y, x = np.mgrid[0:180, 0:360]
base = (250 + 20 * np.sin(x / 30.0) * np.cos(y / 40.0)).astype("f4")
rng = np.random.default_rng(0)
for i in range(365):
    with netCDF4.Dataset(os.path.join(d, f"day_{i:03d}.nc"), "w") as f:
        f.createDimension("time", None); f.createDimension("lat", 180); f.createDimension("lon", 360)
        t = f.createVariable("time", "f8", ("time",)); t.units = "days since 2001-01-01"; t.calendar = "noleap"
        t[:] = [i]
        f.createVariable("lat", "f4", ("lat",))[:] = np.arange(180) - 89.5
        f.createVariable("lon", "f4", ("lon",))[:] = np.arange(360) + 0.5
        v = f.createVariable("tas", "f4", ("time", "lat", "lon"), zlib=True, shuffle=True, complevel=4, chunksizes=(1, 180, 360))
        v[:] = (base + rng.normal(0, 0.5, base.shape).astype("f4") + i * 0.01)[None]
""";

    /// <summary>
    /// Whole variable of 365 daily NetCDF-4 files (180 x 360 float32 each, zlib + shuffle, 95 MB decoded):
    /// through the chunk indexes on 2 threads (and on 1), through libnetcdf (one process-wide lock), and
    /// xarray.open_mfdataset(...).load() on the same files. Best of 3, interleaved; ours open from the
    /// metadata cache each round (xarray has no such cache and opens every file).
    /// </summary>
    [BenchFact]
    public async Task Collection_of_365_files_whole_variable_read_direct_vs_libnetcdf_vs_xarray()
    {
        using var dir = new TempDir();
        WriteDailyFiles(dir.Path);
        var storage = new PosixStorage(dir.Path);
        using var cacheDir = new TempDir();
        var direct2 = new GridDatasetOptions { NetCdfMetadataCacheDirectory = cacheDir.Path, MaxConcurrency = 2 };
        var direct1 = direct2 with { MaxConcurrency = 1 };
        var libnetcdf = direct2 with { NetCdfDirectReads = false };
        using (await GridDataset.OpenAsync(storage, "", direct2))
        {
            // writes the metadata cache (with the chunk indexes), as the sync does
        }

        float[] reference = [];
        async Task<double> TimeOurs(GridDatasetOptions options)
        {
            var sw = Stopwatch.StartNew();
            using GridDataset ds = await GridDataset.OpenAsync(storage, "", options);
            float[] all = await ds["tas"].ReadAllAsync<float>(CancellationToken.None);
            double seconds = sw.Elapsed.TotalSeconds;
            if (reference.Length == 0)
            {
                reference = all;
            }
            else
            {
                Assert.True(all.AsSpan().SequenceEqual(reference));
            }

            return seconds;
        }

        double best2 = double.MaxValue, best1 = double.MaxValue, bestLib = double.MaxValue, bestXr = double.MaxValue;
        string loads = "";
        for (int round = 0; round < 3; round++)
        {
            best2 = Math.Min(best2, await TimeOurs(direct2));
            best1 = Math.Min(best1, await TimeOurs(direct1));
            bestLib = Math.Min(bestLib, await TimeOurs(libnetcdf));
            string[] xr = Python.RunCode("""
import sys, glob, time, numpy as np, xarray as xr
files = sorted(glob.glob(sys.argv[1] + "/day_*.nc"))
t = time.perf_counter()
ds = xr.open_mfdataset(files, combine="nested", concat_dim="time", data_vars="minimal", coords="minimal", compat="override", parallel=False)
a = ds["tas"].load().values
print(time.perf_counter() - t, float(np.nansum(a, dtype="f8")))
""", dir.Path).Trim().Split('\n')[^1].Split(' ');
            bestXr = Math.Min(bestXr, double.Parse(xr[0], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(reference.Sum(x => (double)x), double.Parse(xr[1], System.Globalization.CultureInfo.InvariantCulture), 1e-3 * Math.Abs(reference.Sum(x => (double)x)));
            loads += (round == 0 ? "" : ", ") + File.ReadAllText("/proc/loadavg").Split(' ')[0];
        }

        double mb = reference.Length * 4 / 1e6;
        _output.WriteLine(FormattableString.Invariant(
            $"365 files, whole variable ({mb:F0} MB decoded), best of 3 (load average {loads}): direct 2 threads {best2 * 1000:F0} ms ({mb / best2:F0} MB/s), direct 1 thread {best1 * 1000:F0} ms, libnetcdf {bestLib * 1000:F0} ms, xarray open_mfdataset+load {bestXr * 1000:F0} ms"));
        _output.WriteLine(FormattableString.Invariant(
            $"ratios: direct(2) vs libnetcdf {bestLib / best2:F2}x, direct(2) vs xarray {bestXr / best2:F2}x, direct 2 threads vs 1 {best1 / best2:F2}x"));
    }
    /// <summary>
    /// The same 365 daily NetCDF-4 files (180 x 360 float32, zlib + shuffle) on s3rver: a cold open (no metadata
    /// cache, as before a sync) and an open from the metadata cache, each with the requests and bytes it read.
    /// </summary>
    [BenchFact]
    public async Task Collection_of_365_files_cold_open_from_s3_requests_and_bytes()
    {
        using var dir = new TempDir();
        WriteDailyFiles(dir.Path);
        long stored = Directory.GetFiles(dir.Path).Sum(f => new FileInfo(f).Length);
        using var server = new S3rver();
        await server.UploadDirectoryAsync(dir.Path, "nc365");
        using S3Storage s3 = server.CreateStorage("nc365");
        var counting = new CountingStorage(s3);
        using var cacheDir = new TempDir();
        var cachedOptions = new GridDatasetOptions { NetCdfMetadataCacheDirectory = cacheDir.Path };

        async Task<(double Seconds, long Whole, long Ranged, long Bytes)> OpenAsync(GridDatasetOptions options)
        {
            counting.Reset();
            var sw = Stopwatch.StartNew();
            using GridDataset ds = await GridDataset.OpenAsync(counting, "", options);
            double seconds = sw.Elapsed.TotalSeconds;
            Assert.Equal(365, ds["tas"].Shape[0]);
            return (seconds, counting.WholeReads, counting.RangedReads, counting.Bytes);
        }

        var cold = await OpenAsync(GridDatasetOptions.Default);
        await OpenAsync(cachedOptions); // writes the cache, as the sync does
        var cached = await OpenAsync(cachedOptions);
        string load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        _output.WriteLine(FormattableString.Invariant(
            $"365 NetCDF-4 files on s3rver ({stored / 1e6:F1} MB stored, load average {load}): cold open {cold.Seconds * 1000:F0} ms, {cold.Whole} whole-object GETs + {cold.Ranged} ranged GETs, {cold.Bytes / 1e6:F1} MB read ({(double)cold.Bytes / stored:P0} of the files)"));
        _output.WriteLine(FormattableString.Invariant(
            $"open from the metadata cache: {cached.Seconds * 1000:F0} ms, {cached.Whole} whole-object GETs + {cached.Ranged} ranged GETs, {cached.Bytes / 1e6:F2} MB read"));
    }
}
