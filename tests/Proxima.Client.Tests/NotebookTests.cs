using Proxima.Client.Tests.Infrastructure;
using Proxima.Tests.Infrastructure;

namespace Proxima.Client.Tests;

/// <summary>Executes every example notebook headless (nbclient + ipykernel) against the test's federation.</summary>
[Collection("federation")]
public sealed class NotebookTests(FederationFixture federation)
{
    public static TheoryData<string, string[]> Notebooks => new()
    {
        { "01-era5-mean-std.ipynb", ["era5_t2m_mean.png", "era5_t2m_std.png"] },
        { "02-city-timeseries.ipynb", ["cities_daily_max.png"] },
        { "03-cmip6-2090s.ipynb", ["cmip6_tas_2090_2100_mean.png"] },
        { "04-cross-region.ipynb", ["cross_region_australia.png"] },
        { "05-catalog-search.ipynb", ["catalog_search_coverage.png"] },
    };

    [Theory]
    [MemberData(nameof(Notebooks))]
    public async Task Example_notebook_runs_without_cell_errors_and_writes_its_figures(string notebook, string[] figures)
    {
        var output = Path.Combine(federation.Work, "notebooks", Path.GetFileNameWithoutExtension(notebook));
        Directory.CreateDirectory(output);
        var outcome = await Run.ProcessAsync(Python.Interpreter,
            ["-Xfrozen_modules=off", Path.Combine(AppContext.BaseDirectory, "python", "run_notebook.py"), Path.Combine(RepoPaths.Root, "examples", notebook), Path.Combine(output, notebook)],
            federation.Work,
            new Dictionary<string, string>
            {
                ["PROXIMA_STATE"] = federation.State,
                ["PROXIMA_FIGURES"] = output,
                ["PYDEVD_DISABLE_FILE_VALIDATION"] = "1",
            },
            TimeSpan.FromMinutes(4));
        Assert.True(outcome.ExitCode == 0, outcome.Describe());
        foreach (var figure in figures)
        {
            var path = Path.Combine(output, figure);
            Assert.True(File.Exists(path), $"{notebook} did not write {figure}");
            var bytes = await File.ReadAllBytesAsync(path);
            Assert.True(bytes.Length > 10_000, $"{figure} is only {bytes.Length} bytes");
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        }
    }
}
