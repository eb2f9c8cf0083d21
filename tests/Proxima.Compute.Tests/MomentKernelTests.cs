using System.Diagnostics;
using Proxima.Compute.Kernels;

namespace Proxima.Compute.Tests;

public sealed class MomentKernelTests
{
    public static IEnumerable<object[]> PathsAndLengths()
    {
        foreach (var path in new[] { SimdPath.Scalar, SimdPath.Vector128, SimdPath.Vector256, SimdPath.Vector512 })
        {
            foreach (var n in new[] { 0, 1, 2, 3, 7, 8, 9, 15, 17, 31, 33, 63, 65, 127, 1001 })
            {
                yield return [(int)path, n];
            }
        }
    }

    private static double[] Data(int n, int seed, double nanRate)
    {
        var rng = new Random(seed);
        var x = new double[n];
        for (var i = 0; i < n; i++)
        {
            x[i] = rng.NextDouble() < nanRate ? double.NaN : (float)(250 + (rng.NextDouble() * 60) - (i % 3 == 0 ? 500 : 0));
        }

        return x;
    }

    /// <summary>The scalar formula the kernels must reproduce: NaN skipped, float64 accumulation.</summary>
    private static (double C, double S, double Lo, double Hi, double Q) Reference(ReadOnlySpan<double> x, double? mean = null)
    {
        double c = 0, s = 0, lo = double.PositiveInfinity, hi = double.NegativeInfinity;
        foreach (var v in x)
        {
            if (!double.IsNaN(v))
            {
                c++;
                s += v;
                lo = Math.Min(lo, v);
                hi = Math.Max(hi, v);
            }
        }

        var mu = mean ?? s / c;
        double q = 0;
        foreach (var v in x)
        {
            if (!double.IsNaN(v))
            {
                q += (v - mu) * (v - mu);
            }
        }

        return (c, s, lo, hi, q);
    }

    private static void Close(double expected, double actual, string what)
    {
        Assert.True(Math.Abs(expected - actual) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"{what}: {actual} vs scalar {expected}");
    }

    [Theory]
    [MemberData(nameof(PathsAndLengths))]
    public void Span_kernels_match_the_scalar_formula(int pathId, int n)
    {
        var path = (SimdPath)pathId;
        foreach (var nanRate in new[] { 0.0, 0.3, 1.0 })
        {
            var x = Data(n, n + 17, nanRate);
            var f = x.Select(v => (float)v).ToArray();
            var r = Reference(x);
            MomentKernels.SpanMoments<DoubleLoader, double>(x, out var c, out var s, out var lo, out var hi, path);
            MomentKernels.SpanMoments<FloatLoader, float>(f, out var cf, out var sf, out var lof, out var hif, path);
            foreach (var (cc, ss, ll, hh) in new[] { (c, s, lo, hi), (cf, sf, lof, hif) })
            {
                Assert.Equal(r.C, cc);
                Close(r.S, ss, "sum");
                Assert.Equal(r.Lo, ll);
                Assert.Equal(r.Hi, hh);
            }

            var mean = r.C > 0 ? r.S / r.C : 0;
            Close(Reference(x, mean).Q, MomentKernels.SpanDeviations<DoubleLoader, double>(x, mean, path), "m2");
            Close(Reference(x, mean).Q, MomentKernels.SpanDeviations<FloatLoader, float>(f, mean, path), "m2 float");
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndLengths))]
    public void Row_kernels_match_the_scalar_formula_per_cell(int pathId, int n)
    {
        var path = (SimdPath)pathId;
        const int rows = 5;
        var cells = new double[rows][];
        for (var r = 0; r < rows; r++)
        {
            cells[r] = Data(n, (r * 31) + n, 0.2);
        }

        var c = new double[n];
        var s = new double[n];
        var lo = Enumerable.Repeat(double.PositiveInfinity, n).ToArray();
        var hi = Enumerable.Repeat(double.NegativeInfinity, n).ToArray();
        var cf = (double[])c.Clone();
        var sf = (double[])s.Clone();
        var lof = (double[])lo.Clone();
        var hif = (double[])hi.Clone();
        foreach (var row in cells)
        {
            MomentKernels.RowMoments<DoubleLoader, double>(row, c, s, lo, hi, path);
            MomentKernels.RowMoments<FloatLoader, float>(row.Select(v => (float)v).ToArray(), cf, sf, lof, hif, path);
        }

        var mean = new double[n];
        for (var i = 0; i < n; i++)
        {
            mean[i] = s[i] / c[i];
        }

        var q = new double[n];
        var qf = new double[n];
        foreach (var row in cells)
        {
            MomentKernels.RowDeviations<DoubleLoader, double>(row, mean, q, path);
            MomentKernels.RowDeviations<FloatLoader, float>(row.Select(v => (float)v).ToArray(), mean, qf, path);
        }

        for (var i = 0; i < n; i++)
        {
            var column = cells.Select(r => r[i]).ToArray();
            var r = Reference(column, mean[i]);
            foreach (var (cc, ss, ll, hh, qq) in new[] { (c[i], s[i], lo[i], hi[i], q[i]), (cf[i], sf[i], lof[i], hif[i], qf[i]) })
            {
                Assert.Equal(r.C, cc);
                Close(r.S, ss, "sum");
                Assert.Equal(r.Lo, ll);
                Assert.Equal(r.Hi, hh);
                if (r.C > 0)
                {
                    Close(r.Q, qq, "m2");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndLengths))]
    public void Fused_column_kernel_merges_into_accumulators_like_ChanMerge(int pathId, int n)
    {
        var path = (SimdPath)pathId;
        const int rows = 6;
        var stride = n + 5;
        int[] offsets = [3 * stride, 0, 5 * stride, stride, 4 * stride, 2 * stride];

        // No NaN (the unmasked pass), some NaN (masked redo), all NaN (nothing to merge).
        foreach (var nanRate in new[] { 0.0, 0.2, 1.0 })
        {
            var x = Data(rows * stride, n + 11, nanRate);
            var f = x.Select(v => (float)v).ToArray();

            // Accumulators already holding partials, every third cell empty.
            var rng = new Random(n);
            var acc = new double[5][];
            for (var k = 0; k < 5; k++)
            {
                acc[k] = new double[n];
            }

            for (var i = 0; i < n; i++)
            {
                var empty = i % 3 == 0;
                acc[0][i] = empty ? 0 : rng.Next(1, 50);
                acc[1][i] = empty ? 0 : acc[0][i] * (240 + (rng.NextDouble() * 30));
                acc[2][i] = empty ? 0 : rng.NextDouble() * 100;
                acc[3][i] = empty ? double.PositiveInfinity : 200 + (rng.NextDouble() * 40);
                acc[4][i] = empty ? double.NegativeInfinity : 280 + (rng.NextDouble() * 40);
            }

            var outs = acc.Select(a => (double[])a.Clone()).ToArray();
            var outsF = acc.Select(a => (double[])a.Clone()).ToArray();
            ColumnKernels.MomentsInto<DoubleLoader, double>(x, offsets, n, outs[0], outs[1], outs[2], outs[3], outs[4], path);
            ColumnKernels.MomentsInto<FloatLoader, float>(f, offsets, n, outsF[0], outsF[1], outsF[2], outsF[3], outsF[4], path);
            for (var i = 0; i < n; i++)
            {
                var r = Reference(offsets.Select(o => x[o + i]).ToArray());
                double c = acc[0][i], s = acc[1][i], q = acc[2][i], lo = acc[3][i], hi = acc[4][i];
                Proxima.Compute.Execution.ChanMerge.Into(ref c, ref s, ref q, ref lo, ref hi, r.C, r.S, r.C > 0 ? r.Q : 0, r.Lo, r.Hi);
                foreach (var o in new[] { outs, outsF })
                {
                    Assert.Equal(c, o[0][i]);
                    Close(s, o[1][i], "sum");
                    Close(q, o[2][i], "m2");
                    Assert.Equal(lo, o[3][i]);
                    Assert.Equal(hi, o[4][i]);
                }
            }
        }
    }

    /// <summary>
    /// Merges counted once per span (the cells of a call all having seen the same number of values) equal merges counted
    /// per cell, bit for bit, over a run of calls (pieces) into the same cells — also when a NaN turns up in a later call
    /// (the span's counts are written out per cell there) and past the span's whole vector pairs (odd lengths).
    /// </summary>
    [Theory]
    [MemberData(nameof(PathsAndLengths))]
    public void Span_counted_merges_equal_per_cell_merges(int pathId, int n)
    {
        var path = (SimdPath)pathId;
        const int rows = 3;
        var stride = n + 1;
        int[] offsets = [stride, 0, 2 * stride];
        foreach (var nanCall in new[] { -1, 0, 2 })
        {
            var spans = new Proxima.Compute.Execution.Accumulators(n);
            var perCell = new Proxima.Compute.Execution.Accumulators(n);
            Assert.True(spans.PrepareSpanCounts());
            for (var call = 0; call < 4; call++)
            {
                var f = Data(rows * stride, (n * 7) + call, 0).Select(v => (float)v).ToArray();
                if (call == nanCall && n > 0)
                {
                    f[offsets[1] + ((n * 5) / 7)] = float.NaN;
                }

                Run<AllMoments>();
                Run<NoMinMax>();
                Run<NoM2>();
                Run<CountSum>();

                void Run<TSet>()
                    where TSet : IMomentSet
                {
                    var width = ColumnKernels.SpanWidth(n, path);
                    if (spans.TrySpan(0, width))
                    {
                        ColumnKernels.MomentsIntoSpan<FloatLoader, float, TSet>(f, offsets, n, ref spans.SpanCount(0), spans.CellCounts, spans.Sum, spans.M2, spans.Min, spans.Max, path);
                    }
                    else
                    {
                        ColumnKernels.MomentsInto<FloatLoader, float, TSet>(f, offsets, n, spans.CellCounts, spans.Sum, spans.M2, spans.Min, spans.Max, path);
                    }

                    ColumnKernels.MomentsInto<FloatLoader, float, TSet>(f, offsets, n, perCell.CellCounts, perCell.Sum, perCell.M2, perCell.Min, perCell.Max, path);
                }
            }

            Assert.Equal(perCell.Count, spans.Count);
            Assert.Equal(perCell.Sum, spans.Sum);
            Assert.Equal(perCell.M2, spans.M2);
            Assert.Equal(perCell.Min, spans.Min);
            Assert.Equal(perCell.Max, spans.Max);
            Assert.False(spans.PrepareSpanCounts());
        }
    }

    /// <summary>
    /// Lanes merged at the end of an execution (<c>Accumulators.MergeFrom</c>) equal <see cref="Proxima.Compute.Execution.ChanMerge"/>
    /// per cell to 1e-12 on the moments the set keeps, with empty cells on either side, on one thread and split over
    /// two (more than 2 × 64 Ki cells, an odd count); the moments the set leaves out keep the receiving lane's values.
    /// </summary>
    [Theory]
    [InlineData((int)MomentSets.All, 1)]
    [InlineData((int)MomentSets.All, 2)]
    [InlineData((int)MomentSets.NoMinMax, 2)]
    [InlineData((int)MomentSets.NoM2, 2)]
    [InlineData((int)MomentSets.CountSum, 1)]
    [InlineData((int)MomentSets.CountSum, 2)]
    public void Lane_merge_equals_ChanMerge_per_cell_on_the_moments_it_keeps(int momentsId, int threads)
    {
        var moments = (MomentSets)momentsId;
        const int cells = (2 << 16) + 13;
        var rng = new Random(momentsId * 10 + threads);
        Proxima.Compute.Execution.Accumulators Lane()
        {
            var lane = new Proxima.Compute.Execution.Accumulators(cells);
            for (var c = 0; c < cells; c++)
            {
                var n = rng.Next(4) == 0 ? 0 : rng.Next(1, 50);
                if (n == 0)
                {
                    continue;
                }

                var mean = 250 + (rng.NextDouble() * 60);
                lane.CellCounts[c] = n;
                lane.Sum[c] = mean * n;
                lane.M2[c] = rng.NextDouble() * 100 * n;
                lane.Min[c] = mean - rng.NextDouble() * 20;
                lane.Max[c] = mean + rng.NextDouble() * 20;
            }

            return lane;
        }

        var a = Lane();
        var b = Lane();
        var before = (Count: a.Count.ToArray(), Sum: a.Sum.ToArray(), M2: a.M2.ToArray(), Min: a.Min.ToArray(), Max: a.Max.ToArray());
        a.MergeFrom(b, moments, threads);
        var keepM2 = moments is MomentSets.All or MomentSets.NoMinMax;
        var keepMinMax = moments is MomentSets.All or MomentSets.NoM2;
        for (var c = 0; c < cells; c++)
        {
            double n = before.Count[c], s = before.Sum[c], q = before.M2[c], lo = before.Min[c], hi = before.Max[c];
            Proxima.Compute.Execution.ChanMerge.Into(ref n, ref s, ref q, ref lo, ref hi, b.Count[c], b.Sum[c], b.M2[c], b.Min[c], b.Max[c]);
            Assert.Equal(n, a.Count[c]);
            Close(s, a.Sum[c], $"sum[{c}]");
            Close(keepM2 ? q : before.M2[c], a.M2[c], $"m2[{c}]");
            Assert.Equal(keepMinMax ? lo : before.Min[c], a.Min[c]);
            Assert.Equal(keepMinMax ? hi : before.Max[c], a.Max[c]);
        }
    }

    [Fact]
    public void Pieces_of_a_chunk_are_balanced()
    {
        Assert.Equal(8, Proxima.Compute.Execution.QueryExecutor.BalancedPieceRows(24, 8));
        Assert.Equal(8, Proxima.Compute.Execution.QueryExecutor.BalancedPieceRows(24, 10));
        Assert.Equal(12, Proxima.Compute.Execution.QueryExecutor.BalancedPieceRows(24, 12));
        Assert.Equal(12, Proxima.Compute.Execution.QueryExecutor.BalancedPieceRows(24, 16));
        Assert.Equal(24, Proxima.Compute.Execution.QueryExecutor.BalancedPieceRows(24, 100));
        Assert.Equal(1, Proxima.Compute.Execution.QueryExecutor.BalancedPieceRows(24, 1));
        Assert.Equal(4, Proxima.Compute.Execution.QueryExecutor.BalancedPieceRows(7, 4));
    }

    /// <summary>
    /// The column kernel for fewer moments (a query without std/var, or without min/max) equals the full one on the
    /// moments it keeps and leaves the others' accumulators as they were.
    /// </summary>
    [Theory]
    [MemberData(nameof(PathsAndLengths))]
    public void Column_kernel_for_fewer_moments_equals_the_full_one_on_those_it_keeps(int pathId, int n)
    {
        var path = (SimdPath)pathId;
        const int rows = 5;
        var stride = n + 2;
        int[] offsets = [2 * stride, 0, 4 * stride, stride, 3 * stride];
        foreach (var nanRate in new[] { 0.0, 0.3 })
        {
            var f = Data(rows * stride, n + 3, nanRate).Select(v => (float)v).ToArray();
            var start = new double[5][];
            for (var k = 0; k < 5; k++)
            {
                // Accumulators holding a partial (count 3) in every other cell, empty in the rest.
                start[k] = Enumerable.Range(0, n).Select(i => i % 2 == 0 ? (k switch { 0 => 3.0, 1 => 800.0, 2 => 12.5, 3 => 240.0, _ => 300.0 }) : (k switch { 3 => double.PositiveInfinity, 4 => double.NegativeInfinity, _ => 0.0 })).ToArray();
            }

            double[][] Run(Action<double[][]> kernel)
            {
                var o = start.Select(a => (double[])a.Clone()).ToArray();
                kernel(o);
                return o;
            }

            var all = Run(o => ColumnKernels.MomentsInto<FloatLoader, float, AllMoments>(f, offsets, n, o[0], o[1], o[2], o[3], o[4], path));
            var noMinMax = Run(o => ColumnKernels.MomentsInto<FloatLoader, float, NoMinMax>(f, offsets, n, o[0], o[1], o[2], o[3], o[4], path));
            var noM2 = Run(o => ColumnKernels.MomentsInto<FloatLoader, float, NoM2>(f, offsets, n, o[0], o[1], o[2], o[3], o[4], path));
            var countSum = Run(o => ColumnKernels.MomentsInto<FloatLoader, float, CountSum>(f, offsets, n, o[0], o[1], o[2], o[3], o[4], path));
            for (var i = 0; i < n; i++)
            {
                foreach (var (o, m2, minMax) in new[] { (noMinMax, true, false), (noM2, false, true), (countSum, false, false) })
                {
                    Assert.Equal(all[0][i], o[0][i]);
                    Close(all[1][i], o[1][i], "sum");
                    if (m2)
                    {
                        Close(all[2][i], o[2][i], "m2");
                    }
                    else
                    {
                        Assert.Equal(start[2][i], o[2][i]);
                    }

                    Assert.Equal(minMax ? all[3][i] : start[3][i], o[3][i]);
                    Assert.Equal(minMax ? all[4][i] : start[4][i], o[4][i]);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndLengths))]
    public void Column_kernel_matches_the_scalar_formula_per_cell(int pathId, int n)
    {
        var path = (SimdPath)pathId;
        const int rows = 7;
        var stride = n + 3;
        var x = Data(rows * stride, n + 5, 0.25);
        int[] offsets = [0, 2 * stride, stride, 6 * stride, 4 * stride, 3 * stride, 5 * stride];
        var f = x.Select(v => (float)v).ToArray();
        var outs = new double[5][];
        var outsF = new double[5][];
        for (var k = 0; k < 5; k++)
        {
            outs[k] = Enumerable.Repeat(-1.0, n).ToArray();
            outsF[k] = Enumerable.Repeat(-1.0, n).ToArray();
        }

        MomentKernels.ColumnMoments<DoubleLoader, double>(x, offsets, n, outs[0], outs[1], outs[2], outs[3], outs[4], path);
        MomentKernels.ColumnMoments<FloatLoader, float>(f, offsets, n, outsF[0], outsF[1], outsF[2], outsF[3], outsF[4], path);
        for (var i = 0; i < n; i++)
        {
            var column = offsets.Select(o => x[o + i]).ToArray();
            var r = Reference(column);
            foreach (var o in new[] { outs, outsF })
            {
                Assert.Equal(r.C, o[0][i]);
                Close(r.S, o[1][i], "sum");
                Assert.Equal(r.Lo, o[3][i]);
                Assert.Equal(r.Hi, o[4][i]);
                if (r.C > 0)
                {
                    Close(r.Q, o[2][i], "m2");
                }
            }
        }
    }

    [Fact]
    public void Reported_path_matches_the_environment()
    {
        var expected = Environment.GetEnvironmentVariable("PROXIMA_EXPECT_SIMD_PATH");
        if (expected is not null)
        {
            // The switch caps the width; a machine without the instruction set lands lower.
            Assert.True(SimdPaths.Best <= Enum.Parse<SimdPath>(expected), $"best path {SimdPaths.Best}, expected at most {expected}");
        }
    }

    public static IEnumerable<object[]> Fallbacks() =>
    [
        // .NET 10 reads DOTNET_EnableAVX512 (earlier runtimes DOTNET_EnableAVX512F): set both.
        [new[] { "DOTNET_EnableAVX512F=0", "DOTNET_EnableAVX512=0" }, "Vector256"],
        [new[] { "DOTNET_EnableAVX512F=0", "DOTNET_EnableAVX512=0", "DOTNET_EnableAVX2=0" }, "Vector128"],
        [new[] { "DOTNET_EnableHWIntrinsic=0" }, "Scalar"],
    ];

    /// <summary>Re-runs this class in a child test host with wider instruction sets switched off.</summary>
    [Theory]
    [MemberData(nameof(Fallbacks))]
    public async Task Kernels_pass_with_hardware_intrinsics_switched_off(string[] env, string expectedPath)
    {
        if (Environment.GetEnvironmentVariable("PROXIMA_EXPECT_SIMD_PATH") is not null)
        {
            return; // already the child
        }

        var dll = typeof(MomentKernelTests).Assembly.Location;
        var psi = new ProcessStartInfo("dotnet", ["test", dll, "--filter", "FullyQualifiedName~MomentKernelTests", "--logger", "console;verbosity=minimal"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var kv in env)
        {
            var parts = kv.Split('=');
            psi.Environment[parts[0]] = parts[1];
        }

        psi.Environment["PROXIMA_EXPECT_SIMD_PATH"] = expectedPath;
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        var output = await stdout + await stderr;
        Assert.True(p.ExitCode == 0, $"child with {string.Join(" ", env)} failed:\n{output}");
        Assert.Contains("Passed!", output, StringComparison.Ordinal);
    }
}
