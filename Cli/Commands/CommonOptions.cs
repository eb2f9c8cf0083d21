using System.CommandLine;
using Proxima.Cli.Local;
using Proxima.Federation;

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

    /// <summary>
    /// The federation file when --config is not given: <c>PROXIMA_VARIABLES</c> (as for the CDK app), else
    /// the first <c>bin/variables.json</c> above the current folder, else the one of the checkout this
    /// binary was built in.
    /// </summary>
    public static string DefaultConfigPath()
    {
        var named = Environment.GetEnvironmentVariable(FederationReader.VariablesEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(named))
        {
            return named;
        }

        foreach (var start in new[] { Environment.CurrentDirectory, Environment.GetEnvironmentVariable("PROXIMA_HOME"), AppContext.BaseDirectory })
        {
            if (string.IsNullOrEmpty(start))
            {
                continue;
            }

            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "bin", "variables.json");
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return Path.Combine("bin", "variables.json");
    }
}
