using System.CommandLine;

namespace Proxima.Cli.Commands;

internal static class CatalogCommand
{
    public static Command Create()
    {
        var command = new Command("catalog", "(in progress)");
        command.SetAction(_ => 1);
        return command;
    }
}
