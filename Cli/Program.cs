using System.CommandLine;
using Proxima.Cli.Commands;

// Signals are handled by the commands themselves (Local/ShutdownSignal), which stop children cleanly.
return await ProximaCommand.Create().Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
