using System.Diagnostics;
using System.Text.RegularExpressions;
using Proxima.Arrays.Storage;

namespace Proxima.Arrays.Tests.Infrastructure;

/// <summary>An s3rver process (npm) on 127.0.0.1 with an OS-chosen port, stopped on dispose.</summary>
public sealed partial class S3rver : IDisposable
{
    public const string BucketName = "proxima";
    private readonly Process _process;
    private readonly TempDir _data = new();

    public S3rver()
    {
        string exe = Path.Combine(FindRepoRoot(), "tools", "npm", "node_modules", ".bin", "s3rver");
        if (!File.Exists(exe))
        {
            throw new InvalidOperationException($"s3rver not found at {exe}; run scripts/bootstrap.sh");
        }

        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { "-d", _data.Path, "-a", "127.0.0.1", "-p", "0", "--silent", "--configure-bucket", BucketName })
        {
            psi.ArgumentList.Add(a);
        }

        _process = Process.Start(psi)!;
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            string? line = _process.StandardOutput.ReadLine();
            if (line is null)
            {
                throw new InvalidOperationException("s3rver exited before listening");
            }

            Match m = ListeningRegex().Match(line);
            if (m.Success)
            {
                Url = $"http://127.0.0.1:{m.Groups[1].Value}";
                break;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("s3rver did not report its port");
            }
        }

        // Keep draining stdout so the server never blocks on a full pipe.
        _ = Task.Run(async () =>
        {
            while (await _process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is not null)
            {
            }
        });
    }

    public string Url { get; }

    public S3Storage CreateStorage(string prefix = "", int maxConcurrency = 32) => S3Storage.Create(new S3StorageOptions
    {
        Bucket = BucketName,
        Prefix = prefix,
        ServiceUrl = Url,
        ForcePathStyle = true,
        AccessKey = "S3RVER",
        SecretKey = "S3RVER",
        MaxConcurrency = maxConcurrency,
    });

    /// <summary>Uploads every file under <paramref name="localRoot"/> to keys under <paramref name="prefix"/>.</summary>
    public async Task UploadDirectoryAsync(string localRoot, string prefix)
    {
        using S3Storage s3 = CreateStorage(prefix, 16);
        string[] files = Directory.GetFiles(localRoot, "*", SearchOption.AllDirectories);
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (f, ct) =>
        {
            string key = Path.GetRelativePath(localRoot, f).Replace('\\', '/');
            await s3.WriteAsync(key, await File.ReadAllBytesAsync(f, ct), ct);
        });
    }

    public static string FindRepoRoot()
    {
        string? dir = AppContext.BaseDirectory;
        while (dir is not null)
        {
            if (File.Exists(Path.Combine(dir, "Proxima.slnx")))
            {
                return dir;
            }

            dir = Path.GetDirectoryName(dir);
        }

        throw new InvalidOperationException("repository root (Proxima.slnx) not found above " + AppContext.BaseDirectory);
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        finally
        {
            _process.Dispose();
            _data.Dispose();
        }
    }

    [GeneratedRegex(@"listening on [^:]+:(\d+)")]
    private static partial Regex ListeningRegex();
}
