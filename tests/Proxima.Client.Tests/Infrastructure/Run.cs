using System.Diagnostics;

namespace Proxima.Client.Tests.Infrastructure;

/// <summary>Runs a child process (python3, bash, dotnet) with a working directory and environment, capturing its output.</summary>
internal static class Run
{
    public sealed record Outcome(int ExitCode, string Stdout, string Stderr)
    {
        public string Describe() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
    }

    public static async Task<Outcome> ProcessAsync(string fileName, IEnumerable<string> args, string workingDirectory,
        IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        foreach (var a in args)
        {
            startInfo.ArgumentList.Add(a);
        }

        // Debian's python (with xarray, nbclient, ipykernel) first: `python3` on PATH is another interpreter.
        startInfo.Environment["PATH"] = "/usr/bin:" + Environment.GetEnvironmentVariable("PATH");
        startInfo.Environment["MPLBACKEND"] = "Agg";
        if (environment is not null)
        {
            foreach (var (k, v) in environment)
            {
                startInfo.Environment[k] = v;
            }
        }

        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout ?? TimeSpan.FromMinutes(3));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', args)} did not finish in time. stderr:\n{await stderr}");
        }

        return new Outcome(process.ExitCode, await stdout, await stderr);
    }
}
