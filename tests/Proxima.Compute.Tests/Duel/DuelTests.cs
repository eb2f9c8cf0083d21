using System.Globalization;
using System.Text.Json;
using Proxima.Compute.Execution;
using Proxima.Compute.Query;

namespace Proxima.Compute.Tests.Duel;

/// <summary>
/// Each query of duel.py runs through our planner/executor/finalizer and through xarray on the same stores:
/// 1e-6 relative for mean/sum/var, 1e-5 for std, exact for min/max/count/values and coordinates.
/// </summary>
public sealed class DuelTests(DuelFixture fixture) : IClassFixture<DuelFixture>
{
    public static IEnumerable<object[]> Names() => DuelFixture.Names();

    [Theory]
    [MemberData(nameof(Names))]
    public async Task Query_matches_xarray(string name)
    {
        var q = fixture.Queries[name];
        var spec = QuerySpecParser.Parse(q.GetProperty("spec").GetRawText());
        var dataset = q.GetProperty("dataset").GetString()!;
        var partial = await QueryExecutor.ExecuteAsync(fixture.Dataset(dataset), dataset, spec, options: new ExecutionOptions { MaxChunksInFlight = 2 });
        var result = QueryFinalizer.Finalize(partial, spec);
        Compare(name, q.GetProperty("expected"), result);

        // The same answer when the chunk list is split in three ranges and merged.
        var plan = await QueryExecutor.PlanAsync(fixture.Dataset(dataset), dataset, spec);
        var n = plan.ChunkCount;
        var a = n / 3;
        var b = (2 * n) / 3;
        var parts = new List<PartialResult>();
        foreach (var r in new[] { new ChunkRange(b, n - b), new ChunkRange(0, a), new ChunkRange(a, b - a) })
        {
            // An empty selection has no chunks: its one (empty) range still answers the whole shape.
            if (r.Count > 0 || (n == 0 && parts.Count == 0))
            {
                parts.Add(await QueryExecutor.ExecuteAsync(plan, r));
            }
        }

        Compare(name + " (3 ranges merged)", q.GetProperty("expected"), QueryFinalizer.Finalize(PartialMerge.MergeAll(parts), spec));
    }

    internal static void Compare(string name, JsonElement expected, QueryResult actual)
    {
        var dims = expected.GetProperty("dims").EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.True(dims.SequenceEqual(actual.Dims), $"{name}: dims [{string.Join(",", actual.Dims)}], xarray [{string.Join(",", dims)}]");
        var shape = expected.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.True(shape.SequenceEqual(actual.Shape), $"{name}: shape [{string.Join(",", actual.Shape)}], xarray [{string.Join(",", shape)}]");
        foreach (var c in expected.GetProperty("coords").EnumerateObject())
        {
            var j = Array.IndexOf(actual.Dims, c.Name);
            CompareCoord(name, c, actual.Coords[j]);
        }

        foreach (var c in expected.GetProperty("point_coords").EnumerateObject())
        {
            var coord = actual.PointCoords.Single(x => x.Name == c.Name);
            CompareCoord(name, c, coord);
        }

        foreach (var op in expected.GetProperty("data").EnumerateObject())
        {
            var ours = actual.Data.Single(kv => kv.Key == op.Name).Value;
            var theirs = op.Value.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? double.NaN : e.GetDouble()).ToArray();
            Assert.Equal(theirs.Length, ours.Length);
            var rtol = op.Name switch
            {
                "mean" or "sum" or "var" => 1e-6,
                "std" => 1e-5,
                _ => 0.0,
            };
            var scale = 0.0;
            foreach (var t in theirs)
            {
                if (double.IsFinite(t))
                {
                    scale = Math.Max(scale, Math.Abs(t));
                }
            }

            for (var i = 0; i < ours.Length; i++)
            {
                var (x, y) = (ours[i], theirs[i]);
                if (double.IsNaN(y))
                {
                    Assert.True(double.IsNaN(x), $"{name}: {op.Name}[{i}] = {x}, xarray NaN");
                    continue;
                }

                // Near-zero sums of transformed data are compared against the array's scale.
                var tol = rtol * Math.Max(Math.Abs(y), 1e-6 * scale);
                Assert.True(Math.Abs(x - y) <= tol, $"{name}: {op.Name}[{i}] = {x.ToString("R", CultureInfo.InvariantCulture)}, xarray {y.ToString("R", CultureInfo.InvariantCulture)} (tol {tol})");
            }
        }
    }

    private static void CompareCoord(string name, JsonProperty c, ResultCoordinate coord)
    {
        var items = c.Value.EnumerateArray().ToArray();
        Assert.True(items.Length == coord.Length, $"{name}: coord {c.Name} has {coord.Length} values, xarray {items.Length}");
        for (var i = 0; i < items.Length; i++)
        {
            if (items[i].ValueKind == JsonValueKind.String)
            {
                Assert.True(coord.Labels is not null, $"{name}: coord {c.Name} should be labels");
                Assert.Equal(items[i].GetString(), coord.Labels![i]);
            }
            else
            {
                Assert.True(coord.Values is not null, $"{name}: coord {c.Name} should be numbers");
                Assert.True(Math.Abs(items[i].GetDouble() - coord.Values![i]) <= 1e-9, $"{name}: coord {c.Name}[{i}] = {coord.Values[i]}, xarray {items[i].GetDouble()}");
            }
        }
    }
}
