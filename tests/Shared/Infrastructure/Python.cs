using System.Diagnostics;

namespace Proxima.Tests.Infrastructure;

/// <summary>Runs the reference implementations (Debian's python3 with xarray, zarr, netCDF4).</summary>
internal static class Python
{
    public const string Interpreter = "/usr/bin/python3";

    public static async Task<string> RunAsync(string script, IEnumerable<string> args, TimeSpan? timeout = null)
    {
        var startInfo = new ProcessStartInfo(Interpreter)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add(script);
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        return await RunAsync(startInfo, timeout);
    }

    public static async Task<string> RunCodeAsync(string code, params string[] args)
    {
        var startInfo = new ProcessStartInfo(Interpreter)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        startInfo.ArgumentList.Add("-c");
        startInfo.ArgumentList.Add(code);
        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        return await RunAsync(startInfo, null);
    }

    private static async Task<string> RunAsync(ProcessStartInfo startInfo, TimeSpan? timeout)
    {
        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var limit = timeout ?? TimeSpan.FromMinutes(3);
        try
        {
            await process.WaitForExitAsync().WaitAsync(limit);
        }
        catch (TimeoutException)
        {
            // Never leave the reference script running behind a failed test.
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"python {string.Join(' ', startInfo.ArgumentList)} did not finish within {limit}");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"python failed ({process.ExitCode}): {await stderr}");
        }

        return await stdout;
    }
}
