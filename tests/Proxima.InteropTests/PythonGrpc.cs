using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Proxima.Protocol.Grpc;
using Proxima.Protocol.Testing;
using Xunit;

namespace Proxima.InteropTests;

/// <summary>Runs the grpcio scripts with Debian's interpreter (never the pyenv <c>python3</c> on PATH).</summary>
internal static class PythonGrpc
{
    public const string Python = "/usr/bin/python3";

    public static string ScriptDirectory => Path.Combine(AppContext.BaseDirectory, "python");

    /// <summary>A temp folder with the Interop FileDescriptorProto and a self-signed cert as PEM.</summary>
    public sealed class Files : IDisposable
    {
        public Files()
        {
            Directory = System.IO.Directory.CreateTempSubdirectory("proxima-interop-").FullName;
            DescriptorPath = Path.Combine(Directory, "interop.desc");
            File.WriteAllBytes(DescriptorPath, InteropReflection.Descriptor.SerializedData.ToByteArray());
            Certificate = GrpcCertificates.CreateSelfSigned();
            CertPath = Path.Combine(Directory, "cert.pem");
            KeyPath = Path.Combine(Directory, "key.pem");
            File.WriteAllText(CertPath, GrpcCertificates.ExportCertificatePem(Certificate));
            File.WriteAllText(KeyPath, GrpcCertificates.ExportPrivateKeyPem(Certificate));
        }

        public string Directory { get; }

        public string DescriptorPath { get; }

        public X509Certificate2 Certificate { get; }

        public string CertPath { get; }

        public string KeyPath { get; }

        public void Dispose()
        {
            Certificate.Dispose();
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    public static ProcessStartInfo StartInfo(string script, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(Python)
        {
            WorkingDirectory = ScriptDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("-u");
        psi.ArgumentList.Add(Path.Combine(ScriptDirectory, script));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        // The pyenv interpreter's settings must not leak into Debian's python.
        psi.Environment.Remove("PYTHONPATH");
        psi.Environment.Remove("PYTHONHOME");
        psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        psi.Environment["GRPC_VERBOSITY"] = "ERROR";
        return psi;
    }

    /// <summary>Runs client.py for one case and returns its JSON report.</summary>
    public static async Task<JsonElement> RunClientCaseAsync(Files files, Uri server, string testCase, bool tls = false, string tag = "-")
    {
        var args = new List<string> { "--port", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--descriptor", files.DescriptorPath, "--case", testCase, "--tag", tag };
        if (tls)
        {
            args.Add("--tls-root");
            args.Add(files.CertPath);
        }

        using var process = Process.Start(StartInfo("client.py", args))!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException($"client.py --case {testCase} timed out. stderr: {await stderr}");
        }

        var output = await stdout;
        if (process.ExitCode != 0)
        {
            throw new Xunit.Sdk.XunitException($"client.py --case {testCase} exited {process.ExitCode}.\nstdout: {output}\nstderr: {await stderr}");
        }

        var lastLine = output.TrimEnd().Split('\n')[^1];
        using var doc = JsonDocument.Parse(lastLine);
        return doc.RootElement.Clone();
    }
}

/// <summary>A grpcio server (python/server.py) as a child process: reads its port from stdout, then
/// collects its <c>EVENT tag method kind</c> lines. Stopped by closing its stdin.</summary>
public sealed class PythonServerFixture : IAsyncLifetime
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<string>> _events = new(StringComparer.Ordinal);
    private Process? _h2c;
    private Process? _tls;
    private readonly ConcurrentQueue<string> _stderr = new();

    internal PythonGrpc.Files Files { get; } = new();

    public Uri H2cAddress { get; private set; } = null!;

    public Uri TlsAddress { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        (_h2c, var h2cPort) = await StartAsync(tls: false);
        (_tls, var tlsPort) = await StartAsync(tls: true);
        H2cAddress = new Uri($"http://127.0.0.1:{h2cPort}");
        TlsAddress = new Uri($"https://127.0.0.1:{tlsPort}");
    }

    /// <summary>Waits for the server to report that the call tagged <paramref name="tag"/> ended early.</summary>
    public Task<string> WaitForEventAsync(string tag) =>
        _events.GetOrAdd(tag, _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(TimeSpan.FromSeconds(10));

    public string StandardError => string.Join("\n", _stderr);

    public async Task DisposeAsync()
    {
        await StopAsync(_h2c);
        await StopAsync(_tls);
        Files.Dispose();
    }

    private async Task<(Process Process, int Port)> StartAsync(bool tls)
    {
        var args = new List<string> { "--descriptor", Files.DescriptorPath };
        if (tls)
        {
            args.AddRange(["--tls-cert", Files.CertPath, "--tls-key", Files.KeyPath]);
        }

        var process = Process.Start(PythonGrpc.StartInfo("server.py", args))!;
        var ready = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _stderr.Enqueue(e.Data);
            }
        };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                ready.TrySetException(new InvalidOperationException("server.py exited before printing its port. stderr: " + StandardError));
                return;
            }

            var parts = e.Data.Split(' ');
            if (parts is ["PORT", var port])
            {
                ready.TrySetResult(int.Parse(port, System.Globalization.CultureInfo.InvariantCulture));
            }
            else if (parts is ["EVENT", var tag, var method, var kind])
            {
                _events.GetOrAdd(tag, _ => new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(method + " " + kind);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var boundPort = await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return (process, boundPort);
    }

    private static async Task StopAsync(Process? process)
    {
        if (process is null)
        {
            return;
        }

        try
        {
            process.StandardInput.Close();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }
        finally
        {
            process.Dispose();
        }
    }
}
