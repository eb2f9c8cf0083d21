using System.Runtime.InteropServices;

namespace Proxima.Cli.Local;

/// <summary>Sends POSIX signals to child processes (Process.Kill only sends SIGKILL).</summary>
internal static partial class PosixSignals
{
    private const int SigTerm = 15;

    public static bool Terminate(int pid) => Kill(pid, SigTerm) == 0;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
