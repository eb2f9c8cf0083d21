using System.Diagnostics;

namespace Proxima.Arrays.Tests.Infrastructure;

/// <summary>Runs Debian's reference Python (/usr/bin/python3 with zarr 2.13, numcodecs, xarray, netCDF4).</summary>
internal static class Python
{
    public const string Interpreter = "/usr/bin/python3";

    public static string ScriptDirectory => Path.Combine(AppContext.BaseDirectory, "Python");

    /// <summary>Runs a script from the Python folder; returns stdout, throws with stderr on failure.</summary>
    public static string Run(string script, params string[] args)
    {
        var psi = new ProcessStartInfo(Interpreter)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = ScriptDirectory,
        };
        psi.ArgumentList.Add(Path.Combine(ScriptDirectory, script));
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["PYTHONPATH"] = ScriptDirectory;
        psi.Environment["PYTHONWARNINGS"] = "ignore";
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{script} failed ({p.ExitCode}):\n{stderr.Result}\n{stdout.Result}");
        }

        return stdout.Result;
    }

    /// <summary>Runs inline Python code.</summary>
    public static string RunCode(string code, params string[] args)
    {
        string file = Path.Combine(Path.GetTempPath(), $"proxima-{Guid.NewGuid():N}.py");
        File.WriteAllText(file, code);
        try
        {
            var all = new List<string> { file };
            all.AddRange(args);
            var psi = new ProcessStartInfo(Interpreter)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string a in all)
            {
                psi.ArgumentList.Add(a);
            }

            psi.Environment["PYTHONPATH"] = ScriptDirectory;
            psi.Environment["PYTHONWARNINGS"] = "ignore";
            using Process p = Process.Start(psi)!;
            Task<string> stdout = p.StandardOutput.ReadToEndAsync();
            Task<string> stderr = p.StandardError.ReadToEndAsync();
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                throw new InvalidOperationException($"python failed ({p.ExitCode}):\n{stderr.Result}\n{stdout.Result}");
            }

            return stdout.Result;
        }
        finally
        {
            File.Delete(file);
        }
    }
}

/// <summary>A temporary directory deleted on dispose.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "proxima-arrays-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
