using System.Diagnostics;
using System.Text.Json;
using Proxima.Catalog;
using Proxima.Catalog.Sqlite;

namespace Proxima.CatalogSync.Tests;

internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "proxima-sync-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal sealed record Expected(string Id, string Region, string Uri, double[] Bbox, string Start, string End, string Calendar, Dictionary<string, ExpectedVar>? Variables);

internal sealed record ExpectedVar(string[] Dims, long[] Shape, string Dtype, string? Units, string? Standard_name);

internal static class Python
{
    public static void Run(params string[] args)
    {
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(System.IO.Path.Combine(AppContext.BaseDirectory, "make_region.py"));
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException("make_region.py failed: " + err);
        }
    }

    private static readonly JsonSerializerOptions Json = new() { PropertyNameCaseInsensitive = true };

    public static List<Expected> ReadExpected(string path) => JsonSerializer.Deserialize<List<Expected>>(File.ReadAllText(path), Json)!;
}

/// <summary>The fixed tree (3 regions) generated once per test class run and copied per test.</summary>
public sealed class TreeFixture : IDisposable
{
    private readonly TempDir _dir = new();

    public TreeFixture()
    {
        Root = System.IO.Path.Combine(_dir.Path, "data");
        Python.Run("tree", Root, System.IO.Path.Combine(_dir.Path, "expected.json"));
        Expected = Python.ReadExpected(System.IO.Path.Combine(_dir.Path, "expected.json"));
    }

    public string Root { get; }

    internal List<Expected> Expected { get; }

    /// <summary>A private copy of the tree (tests modify it).</summary>
    public string CopyTo(string dir)
    {
        string dest = System.IO.Path.Combine(dir, "data");
        foreach (string f in Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories))
        {
            string target = System.IO.Path.Combine(dest, System.IO.Path.GetRelativePath(Root, f));
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
            File.Copy(f, target);
            File.SetLastWriteTimeUtc(target, File.GetLastWriteTimeUtc(f));
        }

        return dest;
    }

    public void Dispose() => _dir.Dispose();
}

internal static class Sync
{
    public static Task<SyncReport> RunAsync(ICatalog catalog, string dataRoot, string region, IProgress<SyncProgress>? progress = null) =>
        SyncRunner.RunAsync(new SyncOptions { Region = region, RegionRoot = System.IO.Path.Combine(dataRoot, region), Catalog = catalog }, progress);

    public static Task<SqliteCatalog> OpenAsync(string dir) => SqliteCatalog.OpenAsync(System.IO.Path.Combine(dir, "catalog.db"));

    public static async Task<List<DatasetDocument>> AllAsync(ICatalog catalog)
    {
        var all = new List<DatasetDocument>();
        string? token = null;
        do
        {
            var page = await catalog.SearchAsync(new DatasetQuery { Limit = DatasetQuery.MaxLimit, PageToken = token });
            all.AddRange(page.Items);
            token = page.NextToken;
        }
        while (token is not null);
        return all;
    }
}
