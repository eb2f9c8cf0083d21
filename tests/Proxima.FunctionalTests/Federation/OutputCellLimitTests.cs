using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Proxima.Tests.Infrastructure;

namespace Proxima.FunctionalTests.Federation;

/// <summary>
/// The output-cell limit is checked at planning: a second <c>proxima router</c> with a small
/// <c>--max-output-cells</c> on the federation's own workers (mTLS, same catalog) refuses an over-limit
/// answer with 400 while no worker runs a single work unit (worker metrics).
/// </summary>
[Collection(FederationCollection.Name)]
public sealed class OutputCellLimitTests(FederationFixture federation)
{
    [Fact]
    public async Task An_over_limit_answer_is_400_before_any_worker_reads_data()
    {
        var args = federation.SecondRouterArgs(mutualTls: true);
        args.AddRange(["--max-output-cells", "1000"]);
        foreach (var w in federation.RunFile.GetProperty("workers").EnumerateArray())
        {
            args.Add("--worker");
            args.Add($"{w.GetProperty("region").GetString()}={w.GetProperty("url").GetString()}");
        }

        await using var router = ProximaProcess.Start([.. args]);
        var ready = await router.WaitForLineAsync("PROXIMA-READY ", TimeSpan.FromSeconds(60));
        using var readyDoc = JsonDocument.Parse(ready);
        var url = new Uri(readyDoc.RootElement.GetProperty("url").GetString()!);
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", federation.Token);

        var unitsBefore = await WorkUnitsAsync();
        // The whole split/t subset: 72 x 10 x 12 = 8640 cells over three regions.
        var (status, text) = await PostAsync(http, """{ "datasets": ["split/t"], "variable": "t" }""");
        Assert.True(status == HttpStatusCode.BadRequest, text);
        Assert.Contains("\"too_many_cells\"", text, StringComparison.Ordinal);
        Assert.Contains("8640 cells", text, StringComparison.Ordinal);
        Assert.Equal(unitsBefore, await WorkUnitsAsync());

        // A time mean is a 120-cell map (within the catalog's bound, no Plan needed); six steps are 720 cells.
        var (mean, meanText) = await PostAsync(http, """{ "datasets": ["split/t"], "variable": "t", "reduce": { "dims": ["time"], "ops": ["mean"] } }""");
        Assert.True(mean == HttpStatusCode.OK, meanText);
        var (window, windowText) = await PostAsync(http, """{ "datasets": ["split/t"], "variable": "t", "select": { "time": ["2001-01-01T00:00:00", "2001-01-02T06:00:00"] } }""");
        Assert.True(window == HttpStatusCode.OK, windowText);
        using var doc = JsonDocument.Parse(windowText);
        Assert.Equal(6, doc.RootElement.GetProperty("results")[0].GetProperty("shape")[0].GetInt32());
    }

    private static async Task<(HttpStatusCode, string)> PostAsync(HttpClient http, string json)
    {
        using var response = await http.PostAsync(new Uri("v1/query", UriKind.Relative), new StringContent(json, Encoding.UTF8, "application/json"));
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Work units finished by every worker of the federation, whatever the outcome.</summary>
    private async Task<long> WorkUnitsAsync()
    {
        using var http = new HttpClient();
        long total = 0;
        foreach (var (region, _) in FederationFixtureBase.Regions)
        {
            foreach (var url in federation.WorkerMetricsUrls(region))
            {
                foreach (var line in (await http.GetStringAsync(url)).Split('\n'))
                {
                    if (line.StartsWith("proxima_worker_work_units_total{", StringComparison.Ordinal))
                    {
                        total += long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
                    }
                }
            }
        }

        return total;
    }
}
