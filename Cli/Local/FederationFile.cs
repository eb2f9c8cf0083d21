using System.Net;
using System.Text.Json;

namespace Proxima.Cli.Local;

/// <summary>The client region of a federation (bin/variables.json, DESIGN.md §2).</summary>
internal sealed record ClientRegion(string Region, string Cidr);

/// <summary>One worker region of a federation.</summary>
internal sealed record WorkerRegion(string Region, string Cidr, string Dataset, string LustreFileSystemPath)
{
    /// <summary>Worker processes in the region's pool (local mode).</summary>
    public int Workers { get; init; } = 1;
}

/// <summary>The federation file: which regions exist and where their data lives.</summary>
internal sealed record FederationFile(ClientRegion Client, IReadOnlyList<WorkerRegion> Workers)
{
    private static readonly string[] ClientFields = ["region", "cidr"];
    private static readonly string[] WorkerFields =
        ["region", "cidr", "dataset", "lustreFileSystemPath", "workers", "minTasks", "maxTasks", "cpu", "memoryMiB", "port", "fsxFileSystemId", "fsxStorageGiB"];

    public static FederationFile Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FederationFileException(path, "", "file not found");
        }

        try
        {
            return Parse(File.ReadAllBytes(path), path);
        }
        catch (JsonException ex)
        {
            throw new FederationFileException(path, ex.Path ?? "", $"not valid JSON: {ex.Message}");
        }
    }

    public static FederationFile Parse(ReadOnlySpan<byte> json, string source)
    {
        using var doc = JsonDocument.Parse(json.ToArray());
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FederationFileException(source, "", "expected a JSON object with 'client' and 'workers'");
        }

        foreach (var property in root.EnumerateObject())
        {
            if (property.Name is not ("client" or "workers"))
            {
                throw new FederationFileException(source, property.Name, "unknown field");
            }
        }

        if (!root.TryGetProperty("client", out var clientElement) || clientElement.ValueKind != JsonValueKind.Object)
        {
            throw new FederationFileException(source, "client", "missing or not an object");
        }

        CheckFields(source, "client", clientElement, ClientFields);
        var client = new ClientRegion(
            RequiredString(source, "client", clientElement, "region"),
            RequiredCidr(source, "client", clientElement));

        if (!root.TryGetProperty("workers", out var workersElement) || workersElement.ValueKind != JsonValueKind.Array)
        {
            throw new FederationFileException(source, "workers", "missing or not an array");
        }

        var workers = new List<WorkerRegion>();
        var index = 0;
        foreach (var w in workersElement.EnumerateArray())
        {
            var at = $"workers[{index}]";
            if (w.ValueKind != JsonValueKind.Object)
            {
                throw new FederationFileException(source, at, "expected an object");
            }

            CheckFields(source, at, w, WorkerFields);
            var worker = new WorkerRegion(
                RequiredString(source, at, w, "region"),
                RequiredCidr(source, at, w),
                RequiredString(source, at, w, "dataset"),
                RequiredString(source, at, w, "lustreFileSystemPath"));
            if (w.TryGetProperty("workers", out var count))
            {
                if (count.ValueKind != JsonValueKind.Number || !count.TryGetInt32(out var n) || n is < 1 or > 64)
                {
                    throw new FederationFileException(source, at + ".workers", "expected a whole number from 1 to 64");
                }

                worker = worker with { Workers = n };
            }

            workers.Add(worker);
            index++;
        }

        if (workers.Count == 0)
        {
            throw new FederationFileException(source, "workers", "at least one worker region is required");
        }

        var file = new FederationFile(client, workers);
        file.Validate(source);
        return file;
    }

    private void Validate(string source)
    {
        var regions = new HashSet<string>(StringComparer.Ordinal) { Client.Region };
        for (var i = 0; i < Workers.Count; i++)
        {
            if (!regions.Add(Workers[i].Region))
            {
                throw new FederationFileException(source, $"workers[{i}].region",
                    Workers[i].Region == Client.Region ? "a worker region cannot be the client region" : $"duplicate region '{Workers[i].Region}'");
            }
        }

        var cidrs = new List<(string Path, IPNetwork Network)> { ("client.cidr", IPNetwork.Parse(Client.Cidr)) };
        for (var i = 0; i < Workers.Count; i++)
        {
            cidrs.Add(($"workers[{i}].cidr", IPNetwork.Parse(Workers[i].Cidr)));
        }

        for (var i = 0; i < cidrs.Count; i++)
        {
            for (var j = 0; j < i; j++)
            {
                if (Overlaps(cidrs[i].Network, cidrs[j].Network))
                {
                    throw new FederationFileException(source, cidrs[i].Path, $"{cidrs[i].Network} overlaps {cidrs[j].Path} {cidrs[j].Network}");
                }
            }
        }
    }

    private static bool Overlaps(IPNetwork a, IPNetwork b) =>
        a.Contains(b.BaseAddress) || b.Contains(a.BaseAddress);

    private static void CheckFields(string source, string at, JsonElement element, string[] allowed)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (Array.IndexOf(allowed, property.Name) < 0)
            {
                throw new FederationFileException(source, $"{at}.{property.Name}", $"unknown field (allowed: {string.Join(", ", allowed)})");
            }
        }
    }

    private static string RequiredString(string source, string at, JsonElement element, string name)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 } text)
        {
            throw new FederationFileException(source, $"{at}.{name}", "required, a non-empty string");
        }

        return text;
    }

    private static string RequiredCidr(string source, string at, JsonElement element)
    {
        var text = RequiredString(source, at, element, "cidr");
        if (!IPNetwork.TryParse(text, out var network) || network.BaseAddress.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            throw new FederationFileException(source, $"{at}.cidr", $"'{text}' is not an IPv4 CIDR block like 10.1.0.0/16");
        }

        return text;
    }
}

/// <summary>A federation file that cannot be used; the message names the file and the field.</summary>
internal sealed class FederationFileException(string file, string field, string problem)
    : Exception($"{file}: {(field.Length > 0 ? field + ": " : "")}{problem}")
{
    public string Field { get; } = field;
}
