using System.CommandLine;

namespace Proxima.Cli.Commands;

internal static class DemoCommand
{
    public static Command Create()
    {
        var command = new Command("demo", "(in progress)");
        command.SetAction(_ => 1);
        return command;
    }
}
