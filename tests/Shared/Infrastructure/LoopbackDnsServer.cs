using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;

namespace Proxima.Tests.Infrastructure;

/// <summary>
/// A real DNS server on loopback (<c>tests/Proxima.QueryRouter.Tests/Dispatch/dns_server.py</c>, Debian's python3-dnslib),
/// UDP and TCP on one port, answering from a JSON zone file it re-reads for every query, so a test changes the answers
/// by writing the zone (<see cref="Write"/>, atomically) while the server runs.
/// </summary>
internal sealed class LoopbackDnsServer : IAsyncDisposable
{
    private readonly Process _process;

    private LoopbackDnsServer(Process process, string zonePath, IPEndPoint endPoint)
    {
        _process = process;
        ZonePath = zonePath;
        EndPoint = endPoint;
    }

    /// <summary>Where the server listens (127.0.0.1 and the port it printed).</summary>
    public IPEndPoint EndPoint { get; }

    public string ZonePath { get; }

    /// <summary>Writes an empty zone at <paramref name="zonePath"/> (every name NXDOMAIN) and starts the server on it.</summary>
    public static async Task<LoopbackDnsServer> StartAsync(string zonePath)
    {
        WriteZone(zonePath, []);
        var script = Path.Combine(RepoPaths.Root, "tests", "Proxima.QueryRouter.Tests", "Dispatch", "dns_server.py");
        var process = Process.Start(new ProcessStartInfo(Python.Interpreter, [script, zonePath])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var port = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30))
            ?? throw new InvalidOperationException("the DNS server did not start: " + await process.StandardError.ReadToEndAsync());
        return new LoopbackDnsServer(process, zonePath, new IPEndPoint(IPAddress.Loopback, int.Parse(port, System.Globalization.CultureInfo.InvariantCulture)));
    }

    /// <summary>Replaces the zone's records (see dns_server.py for the record objects).</summary>
    public void Write(params JsonObject[] records) => WriteZone(ZonePath, records);

    /// <summary>Replaces the whole zone: <c>records</c> and the server's switches (see dns_server.py), written whole then renamed.</summary>
    public void WriteZone(JsonObject zone) => WriteAtomically(ZonePath, zone.ToJsonString());

    /// <summary>SRV records of <paramref name="name"/> for loopback endpoints, each with its own target name and A record (127.0.0.1).</summary>
    public static JsonObject[] LoopbackSrv(string name, IEnumerable<int> ports)
    {
        var records = new List<JsonObject>();
        var domain = name[(name.IndexOf('.', StringComparison.Ordinal) + 1)..];
        foreach (var port in ports)
        {
            var target = $"p{port}.{domain}";
            records.Add(new JsonObject { ["name"] = name, ["type"] = "SRV", ["target"] = target, ["port"] = port });
            records.Add(A(target, "127.0.0.1"));
        }

        return [.. records];
    }

    public static JsonObject A(string name, string address) => new() { ["name"] = name, ["type"] = "A", ["address"] = address };

    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close();
        if (!_process.WaitForExit(5000))
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync();
        _process.Dispose();
    }

    private static void WriteZone(string path, JsonObject[] records) =>
        WriteAtomically(path, new JsonObject { ["records"] = new JsonArray([.. records.Select(r => r.DeepClone())]) }.ToJsonString());

    /// <summary>Written whole then renamed, so the server never reads half a file.</summary>
    private static void WriteAtomically(string path, string text)
    {
        var temp = path + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }
}
