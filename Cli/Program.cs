using System.CommandLine;
using Proxima.Catalog;
using Proxima.Cli.Commands;

// Signals are handled by the commands themselves (Local/ShutdownSignal), which stop children cleanly.
// A setting the operator got wrong is an error line and exit code 2, not a stack trace; anything else
// is a bug and keeps its stack trace.
try
{
    return await ProximaCommand.Create().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false });
}
catch (InvalidConfigurationException ex)
{
    await Console.Error.WriteLineAsync($"error: {ex.Message}");
    return 2;
}
catch (OperationCanceledException)
{
    return 130;
}
catch (Exception ex)
{
    await Console.Error.WriteLineAsync($"Unhandled exception: {ex}");
    return 1;
}
