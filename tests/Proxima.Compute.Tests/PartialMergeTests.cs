using Proxima.Compute.Execution;
using Proxima.Compute.Query;

namespace Proxima.Compute.Tests;

public sealed class PartialMergeTests
{
    private static InMemoryGridSource Grid(int seed, bool isDouble, int rangeBlock = 0)
    {
        var rng = new Random(seed);
        int nt = 53, ny = 11, nx = 17;
        var data = new double[nt * ny * nx];
        for (var i = 0; i < data.Length; i++)
        {
            // An ERA5-like offset and spread (a naive sum of squares would lose ~3 digits here).
            data[i] = rng.NextDouble() < 0.05 ? double.NaN : 280.0 + (rng.NextDouble() * 15.0);
            if (!isDouble)
            {
                data[i] = (float)data[i];
            }
        }

        var times = new CalendarDate[nt];
        var d = new CalendarDate(2000, 1, 1, 0, 0, 0, 0);
        for (var t = 0; t < nt; t++)
        {
            times[t] = d;
            d = CfCalendars.NextDay(CalendarKind.Day360, d);
        }

        return new InMemoryGridSource(["time", "lat", "lon"], [nt, ny, nx], [7, 4, 5], data, isDouble,
            [null, Enumerable.Range(0, ny).Select(i => 50.0 - (5 * i)).ToArray(), Enumerable.Range(0, nx).Select(i => 20.0 * i).ToArray()],
            [times, null, null], CalendarKind.Day360)
        { RangeBlockElements = rangeBlock };
    }

    /// <summary>
    /// Counts, min and max exactly, sum and M2 to <paramref name="rtol"/>; M2 only when <paramref name="spec"/> asks for
    /// std or var (otherwise the column kernel leaves it 0 per chunk and a merge's Chan correction makes it meaningless).
    /// </summary>
    private static void AssertClose(PartialResult expected, PartialResult actual, double rtol, QuerySpec? spec = null)
    {
        var m2 = spec?.Reduce is not { } r || r.Ops.Contains(ReduceOp.Std) || r.Ops.Contains(ReduceOp.Var);
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.Equal(expected.Count, actual.Count);
        Assert.Equal(expected.Min, actual.Min);
        Assert.Equal(expected.Max, actual.Max);
        for (var i = 0; i < expected.Count!.Length; i++)
        {
            Assert.True(Math.Abs(expected.Sum![i] - actual.Sum![i]) <= rtol * Math.Abs(expected.Sum[i]), $"sum[{i}] {actual.Sum[i]} vs {expected.Sum[i]}");
            Assert.True(!m2 || Math.Abs(expected.M2![i] - actual.M2![i]) <= rtol * Math.Abs(expected.M2[i]), $"m2[{i}] {actual.M2![i]} vs {expected.M2![i]}");
        }
    }

    /// <summary>
    /// Chunks too big for the cache go one at a time with the kernel split over threads: same answer as chunks in
    /// parallel (here forced with CacheBytes = 0 on small chunks; 2 and 3 threads over 4 latitude rows per chunk).
    /// </summary>
    [Theory]
    [InlineData("{\"datasets\":[\"d\"],\"variable\":\"v\",\"reduce\":{\"dims\":[\"time\"],\"ops\":[\"mean\",\"std\"]}}", false, 2)]
    [InlineData("{\"datasets\":[\"d\"],\"variable\":\"v\",\"reduce\":{\"dims\":[\"time\"],\"ops\":[\"var\"],\"groupby\":\"time.month\"}}", true, 3)]
    [InlineData("{\"datasets\":[\"d\"],\"variable\":\"v\",\"select\":{\"lon\":[300,60]},\"reduce\":{\"dims\":[\"time\"],\"ops\":[\"std\"]}}", false, 3)]
    public async Task One_chunk_at_a_time_with_the_kernel_split_over_threads_equals_chunks_in_parallel(string json, bool isDouble, int threads)
    {
        var plan = QueryExecutor.Plan(Grid(11, isDouble), "d", QuerySpecParser.Parse(json));
        var parallel = await QueryExecutor.ExecuteAsync(plan, options: new ExecutionOptions { MaxChunksInFlight = threads, CacheBytes = long.MaxValue });
        var oneAtATime = await QueryExecutor.ExecuteAsync(plan, options: new ExecutionOptions { MaxChunksInFlight = threads, CacheBytes = 0 });
        Assert.Equal(plan.ChunkCount, oneAtATime.ChunksDone);
        AssertClose(parallel, oneAtATime, 1e-12);
    }

    /// <summary>
    /// Whole chunks reduced a piece of leading rows at a time (ranges on block boundaries; 13-element blocks against
    /// 20-element rows, so pieces end inside rows) equal the same chunks reduced whole: counts, min and max exactly,
    /// sum and M2 to 1e-12 — for every piece size from one row to the whole chunk, grouped or not, with NaN holes.
    /// </summary>
    [Theory]
    [InlineData("{\"datasets\":[\"d\"],\"variable\":\"v\",\"reduce\":{\"dims\":[\"time\"],\"ops\":[\"mean\",\"std\",\"min\",\"max\",\"count\"]}}")]
    [InlineData("{\"datasets\":[\"d\"],\"variable\":\"v\",\"reduce\":{\"dims\":[\"time\"],\"ops\":[\"mean\"],\"groupby\":\"time.month\"}}")]
    [InlineData("{\"datasets\":[\"d\"],\"variable\":\"v\",\"reduce\":{\"dims\":[\"time\"],\"ops\":[\"var\",\"max\"],\"resample\":\"1D\"}}")]
    public async Task Chunks_reduced_in_pieces_equal_chunks_reduced_whole(string json)
    {
        var spec = QuerySpecParser.Parse(json);
        var whole = await QueryExecutor.ExecuteAsync(QueryExecutor.Plan(Grid(5, false), "d", spec), options: new ExecutionOptions { MaxChunksInFlight = 2, PieceBytes = 0 });
        foreach (var pieceBytes in new[] { 4, 80, 200, 7 * 20 * 4 })
        {
            var source = Grid(5, false, rangeBlock: 13);
            var plan = QueryExecutor.Plan(source, "d", spec);
            var pieces = await QueryExecutor.ExecuteAsync(plan, options: new ExecutionOptions { MaxChunksInFlight = 2, PieceBytes = pieceBytes });
            Assert.True(source.RangesOpened > 0, "no chunk was reduced in pieces");
            Assert.Equal(plan.ChunkCount, pieces.ChunksDone);
            AssertClose(whole, pieces, 1e-12);
        }
    }

    [Theory]
    [InlineData("{\"datasets\":[\"d\"],\"variable\":\"v\",\"reduce\":{\"dims\":[\"time\"],\"ops\":[\"mean\",\"std\"]}}", false, 0)]
    [InlineData("{\"datasets\":[\"d\"],\"variable\":\"v\",\"reduce\":{\"dims\":[\"time\"],\"ops\":[\"mean\",\"std\",\"min\"]}}", false, 13)]
    [InlineData("{\"datasets\":[\"d\"],\"variable\":\"v\",\"reduce\":{\"dims\":[\"time\",\"lon\"],\"ops\":[\"var\"],\"groupby\":\"time.month\"}}", true, 0)]
    [InlineData("{\"datasets\":[\"d\"],\"variable\":\"v\",\"select\":{\"lon\":[300,60]},\"reduce\":{\"dims\":[\"lat\"],\"ops\":[\"std\"]}}", false, 0)]
    public async Task Random_partitions_of_the_chunk_set_merge_to_the_single_pass_result(string json, bool isDouble, int rangeBlock)
    {
        var spec = QuerySpecParser.Parse(json);
        var plan = QueryExecutor.Plan(Grid(7, isDouble, rangeBlock), "d", spec);
        // With range reads, pieces of 2-3 rows (80-byte rows).
        var pieceBytes = rangeBlock > 0 ? 200 : new ExecutionOptions().PieceBytes;
        var single = await QueryExecutor.ExecuteAsync(plan, options: new ExecutionOptions { MaxChunksInFlight = 1, PieceBytes = pieceBytes });
        var perChunk = new PartialResult[plan.ChunkCount];
        for (var c = 0; c < plan.ChunkCount; c++)
        {
            perChunk[c] = await QueryExecutor.ExecuteAsync(plan, new ChunkRange(c, 1), new ExecutionOptions { PieceBytes = pieceBytes });
        }

        var rng = new Random(12345);
        for (var trial = 0; trial < 500; trial++)
        {
            // A random partition into random subsets, each merged in random order, then the subsets merged.
            var order = Enumerable.Range(0, plan.ChunkCount).OrderBy(_ => rng.Next()).ToArray();
            var parts = rng.Next(1, Math.Min(12, plan.ChunkCount) + 1);
            var subsets = new List<PartialResult>();
            var cuts = Enumerable.Range(0, parts - 1).Select(_ => rng.Next(1, plan.ChunkCount)).Append(0).Append(plan.ChunkCount).Distinct().Order().ToArray();
            for (var k = 0; k + 1 < cuts.Length; k++)
            {
                subsets.Add(PartialMerge.MergeAll(order[cuts[k]..cuts[k + 1]].Select(i => perChunk[i]).ToList()));
            }

            var merged = PartialMerge.MergeAll(subsets.OrderBy(_ => rng.Next()).ToList());
            AssertClose(single, merged, 1e-12);
        }
    }

    [Fact]
    public async Task Contiguous_ranges_merge_to_the_single_pass_result()
    {
        var spec = QuerySpecParser.Parse("{\"datasets\":[\"d\"],\"variable\":\"v\",\"reduce\":{\"dims\":[\"time\"],\"ops\":[\"mean\"],\"resample\":\"1MS\"}}");
        var plan = QueryExecutor.Plan(Grid(3, false), "d", spec);
        var single = await QueryExecutor.ExecuteAsync(plan);
        var rng = new Random(99);
        for (var trial = 0; trial < 20; trial++)
        {
            var a = rng.Next(0, plan.ChunkCount);
            var b = rng.Next(a, plan.ChunkCount + 1);
            var parts = new[] { new ChunkRange(0, a), new ChunkRange(a, b - a), new ChunkRange(b, plan.ChunkCount - b) };
            var partials = new List<PartialResult>();
            foreach (var r in parts)
            {
                partials.Add(await QueryExecutor.ExecuteAsync(plan, r));
            }

            AssertClose(single, PartialMerge.MergeAll(partials), 1e-12, spec);
        }
    }

    [Fact]
    public async Task Subset_values_from_ranges_concatenate_to_the_whole()
    {
        var spec = QuerySpecParser.Parse("{\"datasets\":[\"d\"],\"variable\":\"v\",\"select\":{\"lat\":[0,30],\"lon\":[320,40]}}");
        var plan = QueryExecutor.Plan(Grid(5, true), "d", spec);
        var whole = await QueryExecutor.ExecuteAsync(plan);
        var a = await QueryExecutor.ExecuteAsync(plan, new ChunkRange(0, plan.ChunkCount / 2));
        var b = await QueryExecutor.ExecuteAsync(plan, new ChunkRange(plan.ChunkCount / 2, plan.ChunkCount - (plan.ChunkCount / 2)));
        var merged = PartialMerge.Merge(b, a);
        Assert.Equal(whole.Shape, merged.Shape);
        Assert.Equal(whole.Values, merged.Values);
        Assert.Equal(whole.Coords[2].Values, merged.Coords[2].Values);
        Assert.Equal(new[] { 320.0, 360.0, 380.0, 400.0 }, merged.Coords[2].Values);
    }

    [Fact]
    public async Task Progress_reports_every_chunk()
    {
        var spec = QuerySpecParser.Parse("{\"datasets\":[\"d\"],\"variable\":\"v\",\"reduce\":{\"dims\":[\"time\"],\"ops\":[\"mean\"]}}");
        var plan = QueryExecutor.Plan(Grid(1, false), "d", spec);
        var reports = new List<QueryProgress>();
        var progress = new SyncProgress(reports);
        var p = await QueryExecutor.ExecuteAsync(plan, progress: progress);
        Assert.Equal(plan.ChunkCount, reports.Count);
        Assert.Contains(reports, r => r.ChunksDone == plan.ChunkCount && r.ChunksTotal == plan.ChunkCount);
        Assert.Equal(plan.ChunkCount, p.ChunksDone);
    }

    private sealed class SyncProgress(List<QueryProgress> list) : IProgress<QueryProgress>
    {
        public void Report(QueryProgress value)
        {
            lock (list)
            {
                list.Add(value);
            }
        }
    }

    [Fact]
    public async Task Too_large_an_answer_is_a_limit_error_before_reading()
    {
        var spec = QuerySpecParser.Parse("{\"datasets\":[\"d\"],\"variable\":\"v\"}");
        var plan = QueryExecutor.Plan(Grid(1, false), "d", spec);
        var e = await Assert.ThrowsAsync<QueryValidationException>(() => QueryExecutor.ExecuteAsync(plan, options: new ExecutionOptions { MaxOutputCells = 1000 }));
        Assert.Equal("limit_exceeded", e.Code);
    }

    [Theory]
    [InlineData("{\"datasets\":[\"d\"],\"variable\":\"v\",\"reduce\":{\"dims\":[\"time\"],\"ops\":[\"mean\"],\"groupby\":\"time.month\"}}")]
    [InlineData("{\"datasets\":[\"d\"],\"variable\":\"v\",\"reduce\":{\"dims\":[\"lat\"],\"ops\":[\"std\"]}}")]
    public async Task A_dataset_split_in_time_across_regions_merges_to_the_whole(string json)
    {
        var spec = QuerySpecParser.Parse(json);
        var whole = Grid(11, false);
        var all = await QueryExecutor.ExecuteAsync(QueryExecutor.Plan(whole, "d", spec));
        var parts = new List<PartialResult>();
        foreach (var (t0, t1) in new[] { (31, 53), (0, 31) })
        {
            parts.Add(await QueryExecutor.ExecuteAsync(QueryExecutor.Plan(Slice(whole, t0, t1), "d", spec)));
        }

        var merged = PartialMerge.MergeAll(parts);
        Assert.Equal(all.Coords.Select(c => c.Keys), merged.Coords.Select(c => c.Keys));
        AssertClose(all, merged, 1e-12, spec);
    }

    private static InMemoryGridSource Slice(InMemoryGridSource g, int t0, int t1)
    {
        var ny = g.Shape[1];
        var nx = g.Shape[2];
        var data = new double[(t1 - t0) * ny * nx];
        var full = new double[g.Shape[0] * ny * nx];
        var buf = new double[g.ChunkShape[0] * g.ChunkShape[1] * g.ChunkShape[2]];
        // Rebuild the full array from chunk reads (the source keeps its data private).
        for (var ct = 0; ct * g.ChunkShape[0] < g.Shape[0]; ct++)
        {
            for (var cy = 0; cy * g.ChunkShape[1] < ny; cy++)
            {
                for (var cx = 0; cx * g.ChunkShape[2] < nx; cx++)
                {
                    g.ReadChunkAsync([ct, cy, cx], buf.AsMemory(), default).AsTask().Wait();
                    for (var a = 0; a < g.ChunkShape[0]; a++)
                    {
                        for (var b = 0; b < g.ChunkShape[1]; b++)
                        {
                            for (var c = 0; c < g.ChunkShape[2]; c++)
                            {
                                int t = (ct * g.ChunkShape[0]) + a, y = (cy * g.ChunkShape[1]) + b, x = (cx * g.ChunkShape[2]) + c;
                                if (t < g.Shape[0] && y < ny && x < nx)
                                {
                                    full[(((t * ny) + y) * nx) + x] = buf[(((a * g.ChunkShape[1]) + b) * g.ChunkShape[2]) + c];
                                }
                            }
                        }
                    }
                }
            }
        }

        Array.Copy(full, t0 * ny * nx, data, 0, data.Length);
        var times = g.GetTimes(0, out var cal)![t0..t1];
        return new InMemoryGridSource(["time", "lat", "lon"], [t1 - t0, ny, nx], [.. g.ChunkShape], data, g.IsDouble,
            [null, g.GetCoordinate(1), g.GetCoordinate(2)], [times, null, null], cal);
    }
}
