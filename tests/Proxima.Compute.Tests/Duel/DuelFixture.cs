using System.Diagnostics;
using System.Text.Json;
using Proxima.Arrays;
using Proxima.Arrays.Storage;

namespace Proxima.Compute.Tests.Duel;

/// <summary>Generates the duel stores and xarray's answers once (duel.py, Debian's python3 + xarray).</summary>
public sealed class DuelFixture : IAsyncLifetime
{
    private readonly Dictionary<string, GridDataset> _datasets = [];

    public string Root { get; } = Path.Combine(Path.GetTempPath(), "proxima-duel-" + Guid.NewGuid().ToString("N"));

    public Dictionary<string, JsonElement> Queries { get; } = [];

    public static string ScriptPath => Path.Combine(AppContext.BaseDirectory, "Duel", "duel.py");

    public static IEnumerable<object[]> Names()
    {
        var text = File.ReadAllText(ScriptPath);
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(text, "^q\\(\"([a-z0-9_]+)\"", System.Text.RegularExpressions.RegexOptions.Multiline))
        {
            yield return [m.Groups[1].Value];
        }
    }

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Root);
        var psi = new ProcessStartInfo("/usr/bin/python3", [ScriptPath, Root])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException("duel.py failed: " + await stderr);
        }

        using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(Root, "expected.json")));
        foreach (var q in doc.RootElement.EnumerateArray())
        {
            Queries[q.GetProperty("name").GetString()!] = q.Clone();
        }

        var storage = new PosixStorage(Root);
        foreach (var name in (string[])["era5", "cmip6", "gfs", "merra"])
        {
            _datasets[name] = await GridDataset.OpenAsync(storage, name == "merra" ? name : name + ".zarr");
        }
    }

    public GridDataset Dataset(string name) => _datasets[name];

    public Task DisposeAsync()
    {
        foreach (var ds in _datasets.Values)
        {
            (ds as IDisposable)?.Dispose();
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }

        return Task.CompletedTask;
    }
}
