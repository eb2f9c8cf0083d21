using Proxima.Arrays.Storage;
using Proxima.Arrays.Tests.Infrastructure;
using Xunit;

namespace Proxima.Arrays.Tests;

public sealed class ZarrV3Reference : ReferenceSet
{
    public ZarrV3Reference()
        : base("make_zarr_v3.py")
    {
    }
}

/// <summary>Zarr v3 stores built from the specification in Python read back value-for-value.</summary>
public sealed class ZarrV3ConformanceTests : IClassFixture<ZarrV3Reference>
{
    private static readonly string[] Names =
    [
        "v3_blosc", "v3_blosc_bitshuffle_zstd", "v3_bytes", "v3_bytes_big", "v3_crc32c", "v3_default_dot",
        "v3_dtype_bool", "v3_dtype_float16", "v3_dtype_float64", "v3_dtype_int16", "v3_dtype_int32", "v3_dtype_int64",
        "v3_dtype_int8", "v3_dtype_uint16", "v3_dtype_uint32", "v3_dtype_uint64", "v3_dtype_uint8", "v3_group",
        "v3_group_consolidated", "v3_gzip", "v3_missing_chunks", "v3_missing_nan", "v3_scalar", "v3_shard_crc_inner",
        "v3_shard_end", "v3_shard_missing_shard", "v3_shard_start", "v3_transpose", "v3_transpose_twice_big",
        "v3_v2_keys", "v3_v2_keys_slash", "v3_zstd",
    ];

    private readonly ZarrV3Reference _ref;

    public ZarrV3ConformanceTests(ZarrV3Reference reference)
    {
        _ref = reference;
    }

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
        GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(_ref.Root), c.Path);
        Assert.Equal(DatasetFormat.ZarrV3, ds.Format);
        foreach (ExpectedVariable v in c.Variables.Values)
        {
            await Compare.AssertVariableMatches(ds, v, caseName);
        }
    }

    [Fact]
    public async Task Group_exposes_dimension_names_attributes_and_coordinates()
    {
        GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(_ref.Root), "v3/v3_group_consolidated.zarr");
        Assert.Equal("v3 group", ds.Attributes["title"].AsString());
        GridVariable tas = ds["tas"];
        Assert.Equal(["time", "lat", "lon"], tas.Dims.ToArray());
        Assert.Equal(DataType.Int16, tas.StoredType);
        Assert.Equal(DataType.Float32, tas.DecodedType);
        Assert.Equal("time", ds.FindCoordinate(CoordinateRole.Time, tas)!.Name);
        Assert.Equal("lat", ds.FindCoordinate(CoordinateRole.Latitude, tas)!.Name);
        Assert.Equal("lon", ds.FindCoordinate(CoordinateRole.Longitude, tas)!.Name);
    }

    [Fact]
    public async Task Sharded_array_exposes_inner_chunks()
    {
        GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(_ref.Root), "v3/v3_shard_end.zarr");
        GridVariable v = ds.Variables[0];
        Assert.Equal([3, 2, 5], v.ChunkShape.ToArray());
        Assert.Equal([3L, 5, 1], v.ChunkGrid.ToArray());
    }

    [Fact]
    public async Task Wrong_crc32c_is_a_checksum_error_naming_the_chunk()
    {
        GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(_ref.Root), "v3/hostile_crc.zarr");
        ChunkDecodeException e = await Assert.ThrowsAsync<ChunkDecodeException>(async () => await ds.Variables[0].ReadAllAsync<float>(CancellationToken.None));
        Assert.Equal(ChunkErrorKind.ChecksumMismatch, e.Kind);
        Assert.Contains("hostile_crc.zarr/c/0/0/0", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hostile_shard_index", ChunkErrorKind.Corrupt)]
    [InlineData("hostile_shard_index_crc", ChunkErrorKind.ChecksumMismatch)]
    public async Task Corrupt_shard_index_is_a_typed_error_naming_the_shard(string store, ChunkErrorKind kind)
    {
        GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(_ref.Root), $"v3/{store}.zarr");
        ChunkDecodeException e = await Assert.ThrowsAsync<ChunkDecodeException>(async () => await ds.Variables[0].ReadAllAsync<float>(CancellationToken.None));
        Assert.Equal(kind, e.Kind);
        Assert.Contains($"{store}.zarr/c/0/0/0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Absurd_shape_is_rejected_at_open()
    {
        ArrayFormatException e = await Assert.ThrowsAsync<ArrayFormatException>(() => GridDataset.OpenAsync(new PosixStorage(_ref.Root), "v3/hostile_absurd.zarr"));
        Assert.Contains("hostile_absurd.zarr/zarr.json", e.Message, StringComparison.Ordinal);
    }
}
