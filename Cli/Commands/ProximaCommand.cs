using System.CommandLine;

namespace Proxima.Cli.Commands;

/// <summary>The <c>proxima</c> command tree.</summary>
internal static class ProximaCommand
{
    public static RootCommand Create()
    {
        var root = new RootCommand(
            """
            Proxima: federated queries over gridded Earth-science data, computed in the region that holds it.

            Examples:
              proxima demo                               sample data, a local 2-region federation, example queries
              proxima up --config bin/variables.json --data-root DIR
              proxima query spec.json -o result.nc       run a QuerySpec (DESIGN.md §4) against the running router
              proxima catalog search --bbox 150,-35,152,-33 --time 2000-01-01/2000-12-31
              proxima COMMAND --help                     every command's options and examples
            """);
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(UpCommand.Create());
        root.Subcommands.Add(SyncCommand.Create());
        root.Subcommands.Add(QueryCommand.Create());
        root.Subcommands.Add(CatalogCommand.Create());
        root.Subcommands.Add(ServiceCommands.CreateRouter());
        root.Subcommands.Add(ServiceCommands.CreateWorker());
        return root;
    }
}
