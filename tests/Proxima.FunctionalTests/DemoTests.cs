using System.Text.RegularExpressions;
using Proxima.Tests.Infrastructure;

namespace Proxima.FunctionalTests;

public sealed partial class DemoTests
{
    [Fact]
    public async Task Demo_runs_queries_in_both_regions_and_reports_bytes_read_versus_bytes_crossed()
    {
        using var temp = new TempDirectory();
        await using var demo = ProximaProcess.Start("demo", "--state", temp.Combine("state"));
        var exitCode = await demo.WaitForExitAsync(TimeSpan.FromMinutes(4));
        var output = string.Join('\n', demo.Lines);

        Assert.True(exitCode == 0, output + "\n" + demo.StandardError);
        Assert.Contains("reanalysis/era5/t2m", output, StringComparison.Ordinal);
        Assert.Contains("cmip6/ScenarioMIP/MOHC/UKESM1-0-LL/ssp585/tas", output, StringComparison.Ordinal);
        var figures = CrossRegionLine().Match(output);
        Assert.True(figures.Success, output);
        var read = long.Parse(figures.Groups["read"].Value.Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture);
        var crossed = long.Parse(figures.Groups["crossed"].Value.Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(crossed > 0 && crossed * 50 < read, $"crossed {crossed} bytes for {read} read");
    }

    [GeneratedRegex(@"Bytes of data read in the regions \(decoded\): (?<read>[\d,]+); bytes that crossed regions: (?<crossed>[\d,]+)")]
    private static partial Regex CrossRegionLine();
}
