using System.Diagnostics;
using System.Text.Json;

namespace Proxima.Tests;

/// <summary>Runs sigv4_verify.py (Debian's /usr/bin/python3, hmac + hashlib) on a recorded request.</summary>
internal static class SigV4Verifier
{
    public static string Verify(RecordedRequest request, string secretKey, string region, string service)
    {
        int q = request.PathAndQuery.IndexOf('?', StringComparison.Ordinal);
        string path = "/" + (q < 0 ? request.PathAndQuery : request.PathAndQuery[..q]);
        string query = q < 0 ? "" : request.PathAndQuery[q..];
        string input = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["method"] = request.Method,
            ["path"] = path,
            ["query"] = query,
            ["headers"] = request.Headers,
            ["body_b64"] = Convert.ToBase64String(request.Body),
            ["secret_key"] = secretKey,
            ["region"] = region,
            ["service"] = service,
        });
        var psi = new ProcessStartInfo("/usr/bin/python3", Path.Combine(AppContext.BaseDirectory, "sigv4_verify.py"))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        p.StandardInput.Write(input);
        p.StandardInput.Close();
        string stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (stdout + stderr).Trim();
    }
}
