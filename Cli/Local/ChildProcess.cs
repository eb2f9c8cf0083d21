using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Proxima.Cli.Local;

/// <summary>
/// A service process of the local federation (a worker or the router), started from this same
/// <c>proxima</c> binary. Readiness is a line <c>PROXIMA-READY {json}</c> on the child's stdout; the
/// child's other output goes to a log file. The child's stdin stays open: when this process dies,
/// the pipe closes and the child shuts itself down, so nothing is orphaned even on SIGKILL.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    public const string ReadyPrefix = "PROXIMA-READY ";

    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly TaskCompletionSource<JsonElement> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ILogger _logger;

    private ChildProcess(string name, Process process, StreamWriter log, ILogger logger)
    {
        Name = name;
        _process = process;
        _log = log;
        _logger = logger;
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Completes when the process has exited, for whatever reason.</summary>
    public Task Exited => _exited.Task;

    public int ExitCode => _process.ExitCode;

    public static ChildProcess Start(string name, IReadOnlyList<string> args, string logPath, ILogger logger)
    {
        var startInfo = SelfInvocation.CreateStartInfo(args);
        startInfo.RedirectStandardInput = true;
        startInfo.RedirectStandardOutput = true;
        startInfo.RedirectStandardError = true;
        startInfo.UseShellExecute = false;
        var log = new StreamWriter(File.Open(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var process = new Process { StartInfo = startInfo, EnableRaisingEvents = true };
        var child = new ChildProcess(name, process, log, logger);
        process.OutputDataReceived += (_, e) => child.OnOutput(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnLog(e.Data);
        process.Exited += (_, _) =>
        {
            child._ready.TrySetException(
                new InvalidOperationException($"{name} exited with code {process.ExitCode} before it was ready; see {logPath}"));
            child._exited.TrySetResult();
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        SupervisorLog.ChildStarted(logger, name, process.Id, logPath);
        return child;
    }

    /// <summary>Waits for the child's readiness line and returns its JSON payload.</summary>
    public async Task<JsonElement> WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        return await _ready.Task.WaitAsync(timeout, cancellationToken);
    }

    private void OnOutput(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (line.StartsWith(ReadyPrefix, StringComparison.Ordinal))
        {
            try
            {
                using var doc = JsonDocument.Parse(line.AsMemory(ReadyPrefix.Length));
                _ready.TrySetResult(doc.RootElement.Clone());
            }
            catch (JsonException ex)
            {
                _ready.TrySetException(new InvalidOperationException($"{Name} printed a malformed readiness line: {line}", ex));
            }

            return;
        }

        OnLog(line);
    }

    private void OnLog(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.WriteLine(line);
        }
    }

    private Task<int>? _stopping;

    /// <summary>Asks the child to stop (SIGTERM), waits, then kills it if it does not. Idempotent.</summary>
    public Task<int> StopAsync(TimeSpan grace)
    {
        lock (_exited)
        {
            return _stopping ??= StopCoreAsync(grace);
        }
    }

    private async Task<int> StopCoreAsync(TimeSpan grace)
    {
        if (!_process.HasExited)
        {
            PosixSignals.Terminate(_process.Id);
            try
            {
                await _process.WaitForExitAsync().WaitAsync(grace);
            }
            catch (TimeoutException)
            {
                SupervisorLog.ChildKilled(_logger, Name, _process.Id);
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        SupervisorLog.ChildStopped(_logger, Name, _process.ExitCode);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10));
        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }
}

/// <summary>How this process starts another instance of itself (apphost or <c>dotnet proxima.dll</c>).</summary>
internal static class SelfInvocation
{
    public static ProcessStartInfo CreateStartInfo(IReadOnlyList<string> args)
    {
        var processPath = Environment.ProcessPath ?? throw new InvalidOperationException("cannot locate the running executable");
        var self = typeof(SelfInvocation).Assembly;
        ProcessStartInfo startInfo;
        if (System.Reflection.Assembly.GetEntryAssembly() == self && !IsDotnetHost(processPath))
        {
            // Running as the proxima apphost.
            startInfo = new ProcessStartInfo(processPath);
        }
        else
        {
            // Running as 'dotnet proxima.dll', or hosted by another program (tests, benchmarks).
            startInfo = new ProcessStartInfo(IsDotnetHost(processPath) ? processPath : "dotnet");
            startInfo.ArgumentList.Add(self.Location);
        }

        foreach (var arg in args)
        {
            startInfo.ArgumentList.Add(arg);
        }

        return startInfo;
    }

    private static bool IsDotnetHost(string processPath) =>
        Path.GetFileNameWithoutExtension(processPath).Equals("dotnet", StringComparison.Ordinal);
}

internal static partial class SupervisorLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Started {Name} (pid {Pid}), log {LogPath}")]
    public static partial void ChildStarted(ILogger logger, string name, int pid, string logPath);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "{Name} (pid {Pid}) did not stop in time; killed")]
    public static partial void ChildKilled(ILogger logger, string name, int pid);

    [LoggerMessage(EventId = 202, Level = LogLevel.Information, Message = "{Name} stopped with exit code {ExitCode}")]
    public static partial void ChildStopped(ILogger logger, string name, int exitCode);

    [LoggerMessage(EventId = 203, Level = LogLevel.Error, Message = "{Name} exited unexpectedly with code {ExitCode}")]
    public static partial void ChildDied(ILogger logger, string name, int exitCode);
}
