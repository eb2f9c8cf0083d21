using Proxima.Arrays.Storage;
using Proxima.Arrays.Tests.Infrastructure;
using Proxima.Arrays.Zarr;
using Xunit;

namespace Proxima.Arrays.Tests;

/// <summary>Converting NetCDF / Zarr v3 to Zarr v2 keeps what xarray decodes.</summary>
public sealed class ConvertTests : IClassFixture<NetCdfReference>, IClassFixture<ZarrV3Reference>
{
    private readonly NetCdfReference _nc;
    private readonly ZarrV3Reference _v3;

    public ConvertTests(NetCdfReference nc, ZarrV3Reference v3)
    {
        _nc = nc;
        _v3 = v3;
    }

    [Theory]
    [InlineData("nc", "nc4_packed")]
    [InlineData("nc", "nc4_zlib_shuffle")]
    [InlineData("nc", "collection")]
    [InlineData("v3", "v3_group")]
    public async Task Converted_store_opens_in_xarray_with_the_sources_decoded_values(string set, string caseName)
    {
        ReferenceSet reference = set == "nc" ? _nc : _v3;
        ExpectedCase c = reference.Cases[caseName];
        using var outDir = new TempDir();
        using (GridDataset source = await GridDataset.OpenAsync(new PosixStorage(reference.Root), c.Path))
        {
            await ZarrWriter.ConvertAsync(source, new PosixStorage(outDir.Path), "converted.zarr");
        }

        using var refDir = new TempDir();
        Python.Run("read_with_xarray.py", refDir.Path, Path.Combine(outDir.Path, "converted.zarr"));
        ExpectedCase written = ReferenceSet.Load(refDir.Path)["written"];
        foreach (ExpectedVariable v in c.Variables.Values)
        {
            ExpectedVariable w = written.Variables[v.Name];
            if (v.Times is not null)
            {
                Assert.Equal(v.Times, w.Times!);
            }
            else
            {
                Compare.Equal(v.Values, w.Values, $"{caseName}/{v.Name} after conversion");
            }
        }
    }
}
