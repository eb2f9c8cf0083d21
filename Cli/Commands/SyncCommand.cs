using System.CommandLine;

namespace Proxima.Cli.Commands;

internal static class SyncCommand
{
    public static Command Create()
    {
        var command = new Command("sync", "(in progress)");
        command.SetAction(_ => 1);
        return command;
    }
}
