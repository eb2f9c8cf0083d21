using Proxima.Arrays.Cf;
using Proxima.Arrays.Storage;
using Proxima.Arrays.Tests.Infrastructure;
using Xunit;

namespace Proxima.Arrays.Tests;

/// <summary>Stores written by zarr-python 2.13 / xarray at test time read back value-for-value.</summary>
public sealed class ZarrV2ConformanceTests : IClassFixture<ZarrV2Reference>
{
    private readonly ZarrV2Reference _ref;

    public ZarrV2ConformanceTests(ZarrV2Reference reference)
    {
        _ref = reference;
    }

    private static readonly string[] Names =
    [
        "cal_360_day", "cal_365_day", "cal_366_day", "cal_all_leap", "cal_gregorian", "cal_julian", "cal_noleap",
        "cal_proleptic_gregorian", "cal_standard", "codec_blosc_autoshuffle", "codec_blosc_blosclz", "codec_blosc_lz4",
        "codec_blosc_lz4hc", "codec_blosc_zlib", "codec_blosc_zstd_bitshuffle", "codec_gzip", "codec_lz4", "codec_none",
        "codec_zlib", "codec_zstd", "default_f4", "dtype_be_f2", "dtype_be_f4", "dtype_be_f8", "dtype_be_i2",
        "dtype_be_i4", "dtype_be_i8", "dtype_be_u2", "dtype_be_u4", "dtype_be_u8", "dtype_le_b1", "dtype_le_f2",
        "dtype_le_f4", "dtype_le_f8", "dtype_le_i1", "dtype_le_i2", "dtype_le_i4", "dtype_le_i8", "dtype_le_u1",
        "dtype_le_u2", "dtype_le_u4", "dtype_le_u8", "filter_astype", "filter_bitround", "filter_delta_i4",
        "filter_delta_i8_as_i2", "filter_fixedscaleoffset", "filter_fixedscaleoffset_u1", "filter_quantize",
        "filter_shuffle_gzip_in_filters", "filter_shuffle_zlib", "filter_zlib_in_filters", "missing_inf",
        "missing_int7", "missing_nan", "missing_neginf", "missing_none_i4", "missing_zero_f8", "order_F_f4",
        "order_F_i4", "scalar", "separator_slash", "xr_era5", "xr_packed_i16", "xr_packed_scale_only",
        "xr_string_coord", "xr_time_ns", "xr_unconsolidated",
    ];

    public static TheoryData<string> CaseNames => new(Names);

    [Fact]
    public void Every_generated_store_is_covered_by_a_test_case()
    {
        Assert.Equal(Names.Order(), _ref.Cases.Keys.OrderBy(x => x));
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Store_reads_back_equal_to_the_reference(string caseName)
    {
        ExpectedCase c = _ref.Cases[caseName];
        var storage = new PosixStorage(_ref.Root);
        GridDataset ds = await GridDataset.OpenAsync(storage, c.Path);
        Assert.Equal(DatasetFormat.ZarrV2, ds.Format);
        foreach (ExpectedVariable v in c.Variables.Values)
        {
            await Compare.AssertVariableMatches(ds, v, caseName);
        }
    }

    [Fact]
    public async Task Era5_like_store_exposes_coordinates_attributes_and_chunks()
    {
        var storage = new PosixStorage(_ref.Root);
        GridDataset ds = await GridDataset.OpenAsync(storage, "stores/xr_era5.zarr");
        Assert.Equal("ERA5-like test", ds.Attributes["title"].AsString());
        GridVariable t2m = ds["t2m"];
        Assert.Equal(["time", "latitude", "longitude"], t2m.Dims.ToArray());
        Assert.Equal([12, 10, 7], t2m.ChunkShape.ToArray());
        Assert.Equal(DataType.Float32, t2m.StoredType);
        Assert.Equal("K", t2m.Units);
        Assert.Equal("air_temperature", t2m.StandardName);
        Assert.Equal(CoordinateRole.None, t2m.Role);
        Assert.Equal("time", ds.FindCoordinate(CoordinateRole.Time, t2m)!.Name);
        Assert.Equal("latitude", ds.FindCoordinate(CoordinateRole.Latitude, t2m)!.Name);
        Assert.Equal("longitude", ds.FindCoordinate(CoordinateRole.Longitude)!.Name);
        Assert.Single(ds.DataVariables);
        Assert.Equal(48, ds.Dimensions["time"]);
    }

    [Fact]
    public async Task Chunk_read_masks_edges_and_matches_region_read()
    {
        var storage = new PosixStorage(_ref.Root);
        GridDataset ds = await GridDataset.OpenAsync(storage, "stores/xr_era5.zarr");
        GridVariable t2m = ds["t2m"];
        ExpectedVariable expected = _ref.Cases["xr_era5"].Variables["t2m"];

        // Last chunk on every axis: time 36..47, lat 10..18 (9 of 10), lon 14..17 (4 of 7).
        float[] chunk = new float[t2m.ChunkElementCount];
        await t2m.ReadChunkAsync<float>(new long[] { 3, 1, 2 }, chunk, CancellationToken.None);
        for (int t = 0; t < 12; t++)
        {
            for (int y = 0; y < 10; y++)
            {
                for (int x = 0; x < 7; x++)
                {
                    float got = chunk[(((t * 10) + y) * 7) + x];
                    if (y >= 9 || x >= 4)
                    {
                        Assert.True(float.IsNaN(got), "padding beyond the edge must be NaN");
                    }
                    else
                    {
                        double want = expected.Values[((((36 + t) * 19) + 10 + y) * 18) + 14 + x];
                        Assert.Equal(want, (double)got);
                    }
                }
            }
        }

        float[] region = await t2m.ReadRegionAsync<float>([5, 3, 2], [20, 9, 13], CancellationToken.None);
        for (int t = 0; t < 20; t++)
        {
            for (int y = 0; y < 9; y++)
            {
                for (int x = 0; x < 13; x++)
                {
                    double want = expected.Values[((((5 + t) * 19) + 3 + y) * 18) + 2 + x];
                    double got = region[(((t * 9) + y) * 13) + x];
                    Assert.True(want.Equals(got), $"region [{t},{y},{x}]: {got} vs {want}");
                }
            }
        }
    }

    [Fact]
    public async Task Region_outside_the_array_is_rejected()
    {
        GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(_ref.Root), "stores/xr_era5.zarr");
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await ds["t2m"].ReadRegionAsync<float>([0, 0, 10], [1, 1, 9], CancellationToken.None));
    }

    [Fact]
    public async Task Summary_gives_bbox_time_extent_step_and_variables()
    {
        using GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(_ref.Root), "stores/xr_era5.zarr");
        DatasetSummary s = await ds.SummarizeAsync();
        Assert.Equal([0.0, -90.0, 340.0, 90.0], s.BoundingBox!);
        Assert.Equal("2000-01-01T00:00:00", s.Time!.Start.ToString());
        Assert.Equal("2000-01-02T23:00:00", s.Time.End.ToString());
        Assert.Equal("PT1H", s.Time.Step);
        Assert.Equal(48, s.Time.Count);
        VariableSummary t2m = s.Variables.Single(v => v.Name == "t2m");
        Assert.False(t2m.IsCoordinate);
        Assert.Equal("float32", t2m.DecodedDtype);
        Assert.Equal(4 * 2 * 3, s.ChunkCount);
    }

    [Fact]
    public void Regular_steps_include_calendar_months_and_years()
    {
        CfDateTime[] monthly = Enumerable.Range(0, 5).Select(i => new CfDateTime(2000, 1, 1, calendar: CfCalendar.NoLeap).AddMonths(i)).ToArray();
        Assert.Equal("P1M", GridDataset.RegularStep(monthly));
        CfDateTime[] yearly = Enumerable.Range(0, 3).Select(i => new CfDateTime(2000 + i, 7, 1)).ToArray();
        Assert.Equal("P1Y", GridDataset.RegularStep(yearly));
        CfDateTime[] daily360 = Enumerable.Range(0, 40).Select(i => new CfDateTime(2095, 1, 1, calendar: CfCalendar.Day360).AddDays(i)).ToArray();
        Assert.Equal("P1D", GridDataset.RegularStep(daily360));
        Assert.Null(GridDataset.RegularStep([new CfDateTime(2000, 1, 1), new CfDateTime(2000, 1, 2), new CfDateTime(2000, 1, 4)]));
    }
}
