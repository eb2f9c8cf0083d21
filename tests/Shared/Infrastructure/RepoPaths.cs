namespace Proxima.Tests.Infrastructure;

/// <summary>Where the checkout and the built <c>proxima</c> CLI are, seen from the test assembly.</summary>
internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The CLI built in the same configuration as these tests (artifacts/bin/Proxima.Cli/&lt;config&gt;).</summary>
    public static string ProximaDll
    {
        get
        {
            var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Name;
            var path = Path.Combine(Root, "artifacts", "bin", "Proxima.Cli", configuration, "proxima.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException($"the proxima CLI is not built at {path}");
        }
    }

    public static string SampleDataScript => Path.Combine(Root, "Cli", "Demo", "make_sample_data.py");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Proxima.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("cannot find the repository root (Proxima.slnx) above " + AppContext.BaseDirectory);
    }
}
