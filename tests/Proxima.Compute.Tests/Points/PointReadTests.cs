using System.Diagnostics;
using System.Text.Json;
using Proxima.Arrays;
using Proxima.Arrays.Storage;
using Proxima.Compute.Execution;
using Proxima.Compute.Query;

namespace Proxima.Compute.Tests.Points;

/// <summary>
/// Point series read only the selected elements of each chunk (byte ranges of uncompressed chunks, the blosc blocks
/// holding them, one inner chunk of a shard): the answers equal xarray's <c>.sel(method="nearest")</c> on Blosc,
/// zlib, uncompressed and sharded Zarr v3 stores written at test time (point_stores.py).
/// </summary>
public sealed class PointReadTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string> Queries = new()
    {
        // One point: 4 of a chunk's 11 blosc_small blocks; the time range starts and ends inside chunks.
        ["one_point"] = """{"points":[{"name":"a","lat":41,"lon":12}],"select":{"time":["2001-01-02T02","2001-01-12T05"]}}""",
        // Three points in a chunk: most blosc blocks, so blosc decodes the chunk; byte ranges still for raw.
        ["three_points"] = """{"points":[{"name":"s","lat":-33.87,"lon":151.21},{"name":"n","lat":71,"lon":-20},{"name":"e","lat":0,"lon":96}],"select":{"time":["2001-01-01","2001-02-09"]}}""",
        // Two points in one cell (read once, answered twice).
        ["same_cell"] = """{"points":[{"name":"p","lat":19,"lon":201},{"name":"q","lat":21,"lon":199}],"select":{"time":["2001-01-20T07","2001-01-21T13"]}}""",
    };

    private readonly string _root = Path.Combine(Path.GetTempPath(), "proxima-points-" + Guid.NewGuid().ToString("N"));
    private JsonElement _expected;

    public static IEnumerable<object[]> Cases()
    {
        foreach (var q in Queries.Keys)
        {
            foreach (var store in (string[])["blosc", "blosc_small", "zlib", "raw", "sharded"])
            {
                yield return [q, store];
            }
        }
    }

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        var specs = new Dictionary<string, object>();
        foreach (var (name, json) in Queries)
        {
            using var doc = JsonDocument.Parse(json);
            var time = doc.RootElement.GetProperty("select").GetProperty("time");
            specs[name] = new { points = doc.RootElement.GetProperty("points").Clone(), time = new[] { time[0].GetString(), time[1].GetString() } };
        }

        var psi = new ProcessStartInfo("/usr/bin/python3", [Path.Combine(AppContext.BaseDirectory, "Points", "point_stores.py"), _root, JsonSerializer.Serialize(specs)])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException("point_stores.py failed: " + await err);
        }

        using var expected = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(_root, "expected.json")));
        _expected = expected.RootElement.Clone();
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Point_series_equal_xarray_sel_nearest(string query, string store)
    {
        using var ds = await GridDataset.OpenAsync(new PosixStorage(_root), "pts_" + store + ".zarr");
        var spec = QuerySpecParser.Parse("""{"datasets":["p"],"variable":"t2m",""" + Queries[query][1..]);
        var partial = await QueryExecutor.ExecuteAsync(ds, "p", spec, options: new ExecutionOptions { MaxChunksInFlight = 2 });
        var r = QueryFinalizer.Finalize(partial, spec);
        var want = _expected.GetProperty(query).GetProperty(store);
        Assert.Equal(want.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()), r.Shape);
        var values = want.GetProperty("values").EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? double.NaN : e.GetDouble()).ToArray();
        Assert.Equal(values, r.Data[0].Value);
        Assert.Equal(want.GetProperty("lat").EnumerateArray().Select(e => e.GetDouble()), r.PointCoords[0].Values!);
        Assert.Equal(want.GetProperty("lon").EnumerateArray().Select(e => e.GetDouble()), r.PointCoords[1].Values!);

        // Uncompressed chunks are read as byte ranges (closer than 4 KiB merged): less than the chunks touched.
        if (store == "raw")
        {
            var chunkBytes = 4L * 19 * 36 * 4;
            Assert.True(partial.BytesRead < partial.ChunksDone * chunkBytes, $"{partial.BytesRead} bytes read for {partial.ChunksDone} chunks of {chunkBytes}");
        }
    }
}
