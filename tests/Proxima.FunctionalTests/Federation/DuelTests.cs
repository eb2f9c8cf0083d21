using System.Globalization;
using System.Net;
using System.Text.Json;
using Proxima.Tests.Infrastructure;

namespace Proxima.FunctionalTests.Federation;

/// <summary>
/// A real federation (one <c>proxima up</c>) holding many random splits of one xarray-made dataset, with
/// xarray's answer on the whole dataset for each split's random query windows (one python run).
/// The seed is <c>PROXIMA_DUEL_SEED</c> (default 6) and is printed with every failure.
/// </summary>
public abstract class DuelFixtureBase : FederationFixtureBase
{
    public const int Splits = 25;

    public const int WindowsPerSplit = 4;

    public static int Seed { get; } = int.TryParse(System.Environment.GetEnvironmentVariable("PROXIMA_DUEL_SEED"), CultureInfo.InvariantCulture, out var s) ? s : 6;

    public abstract string Name { get; }

    protected override double LatencyMs => 2;

    public JsonElement Manifest { get; private set; }

    protected override async Task WriteDataAsync()
    {
        var manifest = TempPath("duel-manifest.json");
        await Python.RunAsync(Script("make_duel_data.py"),
            [DataRoot, manifest, Seed.ToString(CultureInfo.InvariantCulture), Splits.ToString(CultureInfo.InvariantCulture),
             WindowsPerSplit.ToString(CultureInfo.InvariantCulture), Name, string.Join(",", Topology.Select(t => t.Region))]);
        using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(manifest));
        Manifest = doc.RootElement.Clone();
    }
}

/// <summary>Three regions with pools of 1, 2 and 3 workers: splits over 1–3 of them.</summary>
public sealed class DuelFederationA : DuelFixtureBase
{
    public override string Name => "a";

    protected override IReadOnlyList<(string Region, int Workers)> Topology { get; } = [("us-east-1", 1), ("us-west-2", 2), ("ap-southeast-2", 3)];
}

/// <summary>Two regions with pools of 3 workers each: splits over 1–2 of them.</summary>
public sealed class DuelFederationB : DuelFixtureBase
{
    public override string Name => "b";

    protected override IReadOnlyList<(string Region, int Workers)> Topology { get; } = [("eu-central-1", 3), ("sa-east-1", 3)];
}

/// <summary>
/// The duel: random federations (1–3 regions, 1–3 workers each, random split points and chunking) give
/// xarray's mean/std/min/max/count on the whole dataset. 2 topologies × 25 splits × 4 windows = 200.
/// </summary>
public abstract class DuelTestsBase<TFixture>(TFixture federation)
    where TFixture : DuelFixtureBase
{
    private static readonly string[] Ops = ["mean", "std", "min", "max", "count"];

    [Fact]
    public async Task Random_split_federations_give_xarrays_answer_on_the_whole_dataset()
    {
        var federations = new List<(JsonElement Split, JsonElement Query)>();
        foreach (var split in federation.Manifest.EnumerateArray())
        {
            foreach (var query in split.GetProperty("queries").EnumerateArray())
            {
                federations.Add((split, query));
            }
        }

        Assert.Equal(DuelFixtureBase.Splits * DuelFixtureBase.WindowsPerSplit, federations.Count);
        var unitsBefore = SplitDatasetTests.UnitsSent(await federation.RouterMetricsAsync());
        var partsAnswering = 0;
        // A few queries at once (within the per-client limit of 8): the pools see concurrent plans.
        await Parallel.ForEachAsync(federations, new ParallelOptions { MaxDegreeOfParallelism = 4 },
            async (f, _) => Interlocked.Add(ref partsAnswering, await DuelAsync(f.Split, f.Query)));

        // Parts on pools of 2 and 3 workers were split into chunk-range units: more units than parts.
        var units = SplitDatasetTests.UnitsSent(await federation.RouterMetricsAsync()) - unitsBefore;
        Assert.True(units > partsAnswering, $"seed {DuelFixtureBase.Seed}: {units} work units for {partsAnswering} answering parts");
    }

    /// <summary>One federation's query against xarray; returns how many parts answered.</summary>
    private async Task<int> DuelAsync(JsonElement split, JsonElement query)
    {
        var spec = query.GetProperty("spec");
        var what = $"seed {DuelFixtureBase.Seed} (PROXIMA_DUEL_SEED), topology {federation.Name}, split {split.GetProperty("split")} " +
            $"parts {split.GetProperty("parts")}, query {spec}";
        var (status, body, text) = await federation.QueryAsync(spec.GetRawText());
        Assert.True(status == HttpStatusCode.OK, $"{what}: {text}");
        var result = body.GetProperty("results")[0];
        Assert.False(result.GetProperty("partial").GetBoolean(), what);
        var expected = query.GetProperty("expected");
        foreach (var op in Ops)
        {
            SplitDatasetTests.AssertClose(expected.GetProperty(op), result.GetProperty("data").GetProperty(op), op is "min" or "max" or "count" ? 0 : 1e-6, $"{what}: {op}");
        }

        // Every region whose part overlaps the window's time steps answered, and no other.
        var (first, last) = (query.GetProperty("steps")[0].GetInt32(), query.GetProperty("steps")[1].GetInt32());
        var regions = body.GetProperty("stats").GetProperty("regions");
        var answering = 0;
        foreach (var part in split.GetProperty("parts").EnumerateArray())
        {
            var overlaps = part.GetProperty("start").GetInt32() <= last && first < part.GetProperty("end").GetInt32();
            var region = part.GetProperty("region").GetString()!;
            var answered = regions.TryGetProperty(region, out var r) && r.GetProperty("chunks").GetInt64() > 0;
            Assert.True(overlaps == answered, $"{what}: region {region} answered={answered}, overlaps={overlaps} ({regions})");
            answering += answered ? 1 : 0;
        }

        return answering;
    }
}

public sealed class DuelTopologyATests(DuelFederationA federation) : DuelTestsBase<DuelFederationA>(federation), IClassFixture<DuelFederationA>;

public sealed class DuelTopologyBTests(DuelFederationB federation) : DuelTestsBase<DuelFederationB>(federation), IClassFixture<DuelFederationB>;
