using System.Runtime.InteropServices;

namespace Proxima.Cli.Local;

/// <summary>
/// Turns SIGINT/SIGTERM into a cancellation token, so long-running commands stop their children
/// cleanly and exit 0 instead of being torn down by the runtime.
/// </summary>
internal sealed class ShutdownSignal : IDisposable
{
    private readonly CancellationTokenSource _cts;
    private readonly PosixSignalRegistration _sigint;
    private readonly PosixSignalRegistration _sigterm;

    public ShutdownSignal(CancellationToken linkedTo = default)
    {
        _cts = CancellationTokenSource.CreateLinkedTokenSource(linkedTo);
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    public CancellationToken Token => _cts.Token;

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        _cts.Cancel();
    }

    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
        _cts.Dispose();
    }
}
