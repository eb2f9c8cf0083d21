using Proxima.Arrays.Kerchunk;
using Proxima.Arrays.Storage;
using Proxima.Arrays.Tests.Infrastructure;
using Xunit;

namespace Proxima.Arrays.Tests;

public sealed class KerchunkReference : ReferenceSet
{
    public KerchunkReference()
        : base("make_kerchunk.py")
    {
    }
}

/// <summary>kerchunk references (built from h5py chunk offsets) read back equal to xarray on the original NetCDF file.</summary>
public sealed class KerchunkTests : IClassFixture<KerchunkReference>
{
    private readonly KerchunkReference _ref;

    public KerchunkTests(KerchunkReference reference)
    {
        _ref = reference;
    }

    [Theory]
    [InlineData("kerchunk_v0")]
    [InlineData("kerchunk_v1_templates_inline")]
    [InlineData("kerchunk_gen")]
    public async Task References_read_back_equal_to_xarray_on_the_source(string caseName)
    {
        ExpectedCase c = _ref.Cases[caseName];
        using GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(_ref.Root), c.Path);
        Assert.Equal(DatasetFormat.Kerchunk, ds.Format);
        foreach (ExpectedVariable v in c.Variables.Values)
        {
            await Compare.AssertVariableMatches(ds, v, caseName);
        }
    }

    [Fact]
    public async Task References_over_s3_read_back_equal_to_xarray()
    {
        using var server = new S3rver();
        await server.UploadDirectoryAsync(Path.Combine(_ref.Root, "kref"), "kref");
        using S3Storage s3 = server.CreateStorage("kref");
        using GridDataset ds = await GridDataset.OpenAsync(s3, "refs_s3.json");
        foreach (ExpectedVariable v in _ref.Cases["kerchunk_v0"].Variables.Values)
        {
            await Compare.AssertVariableMatches(ds, v, "kerchunk_s3");
        }
    }

    [Fact]
    public async Task Gen_expands_templates_and_arithmetic()
    {
        KerchunkStorage refs = await KerchunkStorage.OpenAsync(new PosixStorage(_ref.Root), "kref/refs_gen.json");
        Assert.Equal(5 + 3, refs.Count);
        Assert.Equal(48, await refs.GetSizeAsync("g/4.0", CancellationToken.None));
    }

    [Theory]
    [InlineData("kref/escape_abs.json")]
    [InlineData("kref/escape_rel.json")]
    public async Task References_escaping_the_root_are_refused(string path)
    {
        using GridDataset ds = await GridDataset.OpenAsync(new PosixStorage(_ref.Root), path);
        await Assert.ThrowsAsync<StorageException>(async () => await ds["x"].ReadAllAsync<float>(CancellationToken.None));
    }
}
