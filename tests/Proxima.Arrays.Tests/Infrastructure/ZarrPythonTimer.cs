using System.Diagnostics;
using System.Globalization;

namespace Proxima.Arrays.Tests.Infrastructure;

/// <summary>
/// A zarr-python process kept open on one store, timing one <c>z[...]</c> per request, so a benchmark can interleave
/// zarr-python's reads with its own in one loop (same load for both sides) instead of timing them in separate blocks.
/// Each reply is the read's own time (perf_counter and process_time around <c>z[...]</c>), not the round trip.
/// </summary>
internal sealed class ZarrPythonTimer : IDisposable
{
    private const string Script = """
import sys, time, zarr, numcodecs.blosc as blosc
z = zarr.open_array(sys.argv[1], mode="r")
z[...]
print("ready", blosc.get_nthreads(), flush=True)
for line in sys.stdin:
    cmd = line.strip()
    if cmd == "threads":
        blosc.use_threads = None
    elif cmd == "single":
        blosc.use_threads = False
    else:
        break
    c = time.process_time(); t = time.perf_counter(); a = z[...]; dt = time.perf_counter() - t; dc = time.process_time() - c
    del a
    print(repr(dt), repr(dc), flush=True)
""";

    private readonly Process _process;
    private readonly string _file;

    /// <summary>Starts zarr-python on the array at <paramref name="arrayPath"/> and waits until it has read it once.</summary>
    public ZarrPythonTimer(string arrayPath)
    {
        _file = Path.Combine(Path.GetTempPath(), $"proxima-timer-{Guid.NewGuid():N}.py");
        File.WriteAllText(_file, Script);
        var psi = new ProcessStartInfo(Python.Interpreter)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(_file);
        psi.ArgumentList.Add(arrayPath);
        psi.Environment["PYTHONWARNINGS"] = "ignore";
        _process = Process.Start(psi)!;
        string ready = _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"zarr-python exited before opening {arrayPath}");
        string[] parts = ready.Split(' ');
        if (parts.Length != 2 || parts[0] != "ready")
        {
            throw new InvalidOperationException($"zarr-python timer said '{ready}' instead of 'ready N'");
        }

        Threads = int.Parse(parts[1], CultureInfo.InvariantCulture);
    }

    /// <summary>numcodecs' blosc thread count (used when <see cref="Time"/> is asked for threads).</summary>
    public int Threads { get; }

    /// <summary>
    /// Wall-clock and CPU seconds (all of its threads) of one <c>z[...]</c>, with numcodecs' default blosc threads or
    /// with <c>use_threads = False</c>.
    /// </summary>
    public (double Wall, double Cpu) Time(bool threads)
    {
        _process.StandardInput.WriteLine(threads ? "threads" : "single");
        _process.StandardInput.Flush();
        string line = _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("zarr-python timer exited");
        string[] parts = line.Split(' ');
        return (double.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture));
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.WriteLine("quit");
            _process.StandardInput.Close();
            if (!_process.WaitForExit(TimeSpan.FromSeconds(30)))
            {
                _process.Kill();
            }
        }
        finally
        {
            _process.Dispose();
            File.Delete(_file);
        }
    }
}
