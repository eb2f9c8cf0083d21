using System.Text;
using System.Text.Json;
using Proxima.Protocol;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.V1;

namespace Proxima.FunctionalTests;

public sealed class GrpcQueryTests(LocalFederationFixture federation) : IClassFixture<LocalFederationFixture>
{
    [Fact]
    public async Task A_grpc_query_streams_progress_then_the_same_answer_as_the_json_api()
    {
        var spec = new QuerySpec { Variable = "t2m", Reduce = new Reduce { Dims = { "time" }, Ops = { "mean", "std" } } };
        spec.Datasets.Add("reanalysis/era5/t2m");
        spec.Select["latitude"] = new Selection { Range = new ValueRange { Start = "-50", End = "0" } };
        using var client = new GrpcClient(new Uri(federation.RunFile.GetProperty("routerGrpcUrl").GetString()!));

        var progress = new List<Progress>();
        QueryResponse? result = null;
        await foreach (var e in client.ServerStreamingAsync(ProximaMethods.RouterQuery, new QueryRequest { Spec = spec }, GrpcCallOptions.WithTimeout(TimeSpan.FromSeconds(60), headers: federation.GrpcAuth())))
        {
            if (e.EventCase == QueryEvent.EventOneofCase.Progress)
            {
                progress.Add(e.Progress);
            }
            else
            {
                result = e.Result;
            }
        }

        Assert.NotNull(result);
        Assert.NotEmpty(progress);
        Assert.True(progress.Zip(progress.Skip(1)).All(p => p.First.ChunksDone <= p.Second.ChunksDone), "progress is monotonic: " + string.Join(", ", progress.Select(p => $"{p.ChunksDone}/{p.ChunksTotal}")));

        using var http = federation.CreateHttpClient();
        using var response = await http.PostAsync(new Uri(federation.RouterUrl, "v1/query"), new StringContent("""
            { "datasets": ["reanalysis/era5/t2m"], "variable": "t2m", "select": { "latitude": [-50, 0] }, "reduce": { "dims": ["time"], "ops": ["mean", "std"] } }
            """, Encoding.UTF8, "application/json"));
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var json = doc.RootElement.GetProperty("results")[0];
        var grpc = Assert.Single(result.Results);
        foreach (var op in new[] { "mean", "std" })
        {
            // Two runs of a query merge chunk partials in completion order, so the last bits may differ
            // (Chan's merge is not associative in floating point); DESIGN.md allows 1e-12 for any split.
            var expected = json.GetProperty("data").GetProperty(op).EnumerateArray().Select(v => v.GetDouble()).ToArray();
            var actual = grpc.Data[op].Values.ToArray();
            Assert.Equal(expected.Length, actual.Length);
            for (var i = 0; i < expected.Length; i++)
            {
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-12 * Math.Abs(expected[i]), $"{op}[{i}]: {expected[i]:R} vs {actual[i]:R}");
            }
        }

        Assert.Equal(json.GetProperty("dims").EnumerateArray().Select(d => d.GetString()), grpc.Dims);
    }

    [Fact]
    public async Task A_bad_grpc_query_is_invalid_argument_naming_the_field()
    {
        var spec = new QuerySpec { Variable = "t2m" };
        spec.Datasets.Add("no/such/dataset");
        using var client = new GrpcClient(new Uri(federation.RunFile.GetProperty("routerGrpcUrl").GetString()!));
        var call = client.ServerStreaming(ProximaMethods.RouterQuery, new QueryRequest { Spec = spec }, new GrpcCallOptions(Headers: federation.GrpcAuth()));
        var ex = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in call.ResponseStream.ReadAllAsync())
            {
            }
        });
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal("datasets[0]", ex.Trailers.GetValue("proxima-field"));
        call.Dispose();
    }
}
