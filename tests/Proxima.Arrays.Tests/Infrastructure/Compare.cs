using Xunit;

namespace Proxima.Arrays.Tests.Infrastructure;

internal static class Compare
{
    /// <summary>Exact, NaN-aware comparison (NaN equals NaN), reporting the first mismatch with its flat index.</summary>
    public static void Equal(ReadOnlySpan<double> expected, ReadOnlySpan<double> actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e) ? !double.IsNaN(a) : e != a)
            {
                Assert.Fail($"{what}: element {i} is {a:R}, expected {e:R}");
            }
        }
    }

    /// <summary>Reads a whole variable as double through a GridDataset opened over the reference root.</summary>
    public static async Task AssertVariableMatches(GridDataset ds, ExpectedVariable expected, string caseName)
    {
        GridVariable v = ds[expected.Name];
        Assert.Equal(expected.Shape, v.Shape.ToArray());
        if (expected.Dims is not null)
        {
            Assert.Equal(expected.Dims, v.Dims.ToArray());
        }

        double[] values = await v.ReadAllAsync<double>(CancellationToken.None);
        Equal(expected.Values, values, $"{caseName}/{expected.Name}");

        if (expected.Dtype is not null && expected.Times is null)
        {
            Assert.True(expected.Dtype == v.DecodedType.NumpyName(), $"{caseName}/{expected.Name}: decoded dtype {v.DecodedType.NumpyName()}, xarray says {expected.Dtype}");
        }

        if (expected.StoredDtype is not null)
        {
            Assert.Equal(expected.StoredDtype, v.StoredType.NumpyName());
        }

        if (expected.Times is not null)
        {
            Cf.CfDateTime[] times = await v.ReadTimesAsync(CancellationToken.None);
            Assert.Equal(expected.Times, times.Select(t => t.ToString()).ToArray());
        }
    }
}
