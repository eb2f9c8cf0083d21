using System.CommandLine;
using Proxima.Cli.Local;

namespace Proxima.Cli.Commands;

/// <summary>Options several commands share.</summary>
internal static class CommonOptions
{
    public static Option<string> State() => new("--state")
    {
        Description = "State folder shared by up/sync/query/catalog (catalog, logs, running federation)",
        DefaultValueFactory = _ => StateDirectory.DefaultName,
    };

    public static Option<string> Config() => new("--config")
    {
        Description = "Federation file (client region and worker regions)",
        DefaultValueFactory = _ => DefaultConfigPath(),
    };

    public static Option<string> Router() => new("--router")
    {
        Description = "Router URL (default: the federation running with this --state)",
    };

    /// <summary>bin/variables.json of the checkout this binary was built from, else of the current folder.</summary>
    public static string DefaultConfigPath()
    {
        var home = Environment.GetEnvironmentVariable("PROXIMA_HOME");
        var candidate = home is null ? null : Path.Combine(home, "bin", "variables.json");
        return candidate is not null && File.Exists(candidate) ? candidate : Path.Combine("bin", "variables.json");
    }
}
