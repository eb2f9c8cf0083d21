using System.Text.Json;
using System.Text.Json.Serialization;

namespace Proxima.Cli.Local;

/// <summary>
/// The local state folder (<c>--state</c>, default <c>.proxima/</c>) shared by <c>up</c>, <c>sync</c>,
/// <c>query</c> and <c>catalog</c>: the embedded catalog, logs, and what a running federation published.
/// </summary>
internal sealed class StateDirectory
{
    public const string DefaultName = ".proxima";

    public StateDirectory(string path)
    {
        Root = Path.GetFullPath(path);
    }

    public string Root { get; }

    public string CatalogPath => Path.Combine(Root, "catalog.db");

    public string LogsDirectory => Path.Combine(Root, "logs");

    public string RunFilePath => Path.Combine(Root, "federation.json");

    /// <summary>NetCDF collection metadata caches of one region: written by its sync, read by its workers.</summary>
    public string MetadataCacheFor(string region) => Path.Combine(Root, "metadata-cache", region);

    public void Create()
    {
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(LogsDirectory);
    }

    public void WriteRunFile(RunningFederation federation)
    {
        var temp = RunFilePath + ".tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(federation, StateJsonContext.Default.RunningFederation));
        File.Move(temp, RunFilePath, overwrite: true);
    }

    public RunningFederation? ReadRunFile()
    {
        if (!File.Exists(RunFilePath))
        {
            return null;
        }

        return JsonSerializer.Deserialize(File.ReadAllBytes(RunFilePath), StateJsonContext.Default.RunningFederation);
    }

    public void DeleteRunFile()
    {
        File.Delete(RunFilePath);
    }
}

/// <summary>What <c>proxima up</c> publishes in the state folder while it runs.</summary>
internal sealed record RunningFederation
{
    public required string ConfigPath { get; init; }

    public required string DataRoot { get; init; }

    public required string RouterUrl { get; init; }

    public required string RouterGrpcUrl { get; init; }

    public required int SupervisorPid { get; init; }

    public required int RouterPid { get; init; }

    public required IReadOnlyList<RunningWorker> Workers { get; init; }
}

internal sealed record RunningWorker(string Region, int Index, string Url, string LinkUrl, int Pid);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(RunningFederation))]
internal sealed partial class StateJsonContext : JsonSerializerContext;
