using System.Text.Json;

namespace Proxima.Federation;

/// <summary>
/// Reads <c>bin/variables.json</c> into a <see cref="FederationConfig"/>, rejecting unknown fields and wrong types
/// with the field's path, then runs <see cref="FederationValidator"/>. All problems are reported together.
/// </summary>
internal static class FederationReader
{
    /// <summary>Environment variable naming another federation file.</summary>
    public const string VariablesEnvironmentVariable = "PROXIMA_VARIABLES";

    private static readonly string[] ClientFields =
    [
        "region", "cidr", "routerCpu", "routerMemoryMiB", "routerTasks", "certificateArn",
        "openSearchInstanceType", "openSearchNodes", "openSearchVolumeGiB", "natGateways", "maxAzs",
    ];

    private static readonly string[] WorkerFields =
    [
        "region", "cidr", "dataset", "lustreFileSystemPath", "port", "cpu", "memoryMiB", "minTasks", "maxTasks",
        "cpuTargetPercent", "instanceType", "maxInstances", "fsxFileSystemStorageGiB", "fsxThroughputPerTiB", "autoImport",
        "syncCpu", "syncMemoryMiB", "natGateways", "maxAzs", "workers",
    ];

    private static readonly string[] RootFields = ["client", "workers"];

    /// <summary>
    /// The federation file to use: <paramref name="explicitPath"/> (from <c>PROXIMA_VARIABLES</c>) if given, else the
    /// first <c>bin/variables.json</c> found walking up from <paramref name="startDirectory"/>.
    /// </summary>
    public static string ResolvePath(string? explicitPath, string startDirectory)
    {
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            return Path.GetFullPath(explicitPath, startDirectory);
        }

        for (var dir = new DirectoryInfo(startDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "bin", "variables.json");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FederationException(
            Path.Combine(startDirectory, "bin", "variables.json"),
            [new FederationError("$", $"no bin/variables.json found above {startDirectory}; set {VariablesEnvironmentVariable} to the federation file")]);
    }

    public static FederationConfig ReadFile(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new FederationException(path, [new FederationError("$", $"cannot read the file: {ex.Message}")]);
        }

        return Parse(json, path);
    }

    public static FederationConfig Parse(string json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new FederationException(source, [new FederationError("$", $"not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}): {ex.Message}")]);
        }

        using (document)
        {
            var errors = new List<FederationError>();
            var config = ReadRoot(document.RootElement, errors);
            if (config is not null)
            {
                FederationValidator.Validate(config, errors);
            }

            if (errors.Count > 0)
            {
                throw new FederationException(source, errors);
            }

            return config!;
        }
    }

    private static FederationConfig? ReadRoot(JsonElement root, List<FederationError> errors)
    {
        if (!IsObject(root, "$", errors))
        {
            return null;
        }

        var ignored = errors.Count;
        RejectUnknownFields(root, "$", RootFields, errors, ref ignored);

        ClientConfig? client = null;
        if (root.TryGetProperty("client", out var clientElement))
        {
            client = ReadClient(clientElement, "client", errors);
        }
        else
        {
            errors.Add(new FederationError("client", "is required"));
        }

        var workers = new List<WorkerConfig>();
        var workersOk = true;
        if (!root.TryGetProperty("workers", out var workersElement))
        {
            errors.Add(new FederationError("workers", "is required"));
            workersOk = false;
        }
        else if (workersElement.ValueKind != JsonValueKind.Array)
        {
            errors.Add(new FederationError("workers", $"must be an array, not {Describe(workersElement)}"));
            workersOk = false;
        }
        else
        {
            var index = 0;
            foreach (var item in workersElement.EnumerateArray())
            {
                var worker = ReadWorker(item, $"workers[{index}]", errors);
                if (worker is null)
                {
                    workersOk = false;
                }
                else
                {
                    workers.Add(worker);
                }

                index++;
            }
        }

        return client is null || !workersOk ? null : new FederationConfig { Client = client, Workers = workers };
    }

    private static ClientConfig? ReadClient(JsonElement element, string path, List<FederationError> errors)
    {
        if (!IsObject(element, path, errors))
        {
            return null;
        }

        // Unknown fields are reported but do not stop the rest of the entry from being read and validated.
        var before = errors.Count;
        RejectUnknownFields(element, path, ClientFields, errors, ref before);
        var region = RequiredString(element, path, "region", errors);
        var cidr = RequiredCidr(element, path, errors);
        var defaults = new ClientConfig { Region = "", Cidr = default };
        var config = new ClientConfig
        {
            Region = region ?? "",
            Cidr = cidr,
            RouterCpu = OptionalInt(element, path, "routerCpu", defaults.RouterCpu, errors),
            RouterMemoryMiB = OptionalInt(element, path, "routerMemoryMiB", defaults.RouterMemoryMiB, errors),
            RouterTasks = OptionalInt(element, path, "routerTasks", defaults.RouterTasks, errors),
            CertificateArn = OptionalString(element, path, "certificateArn", errors),
            OpenSearchInstanceType = OptionalString(element, path, "openSearchInstanceType", errors) ?? defaults.OpenSearchInstanceType,
            OpenSearchNodes = OptionalInt(element, path, "openSearchNodes", defaults.OpenSearchNodes, errors),
            OpenSearchVolumeGiB = OptionalInt(element, path, "openSearchVolumeGiB", defaults.OpenSearchVolumeGiB, errors),
            NatGateways = OptionalInt(element, path, "natGateways", defaults.NatGateways, errors),
            MaxAzs = OptionalInt(element, path, "maxAzs", defaults.MaxAzs, errors),
        };
        return errors.Count == before ? config : null;
    }

    private static WorkerConfig? ReadWorker(JsonElement element, string path, List<FederationError> errors)
    {
        if (!IsObject(element, path, errors))
        {
            return null;
        }

        // Unknown fields are reported but do not stop the rest of the entry from being read and validated.
        var before = errors.Count;
        RejectUnknownFields(element, path, WorkerFields, errors, ref before);
        var defaults = new WorkerConfig { Region = "", Cidr = default, Dataset = "", LustreFileSystemPath = "" };
        var maxInstances = element.TryGetProperty("maxInstances", out _)
            ? OptionalInt(element, path, "maxInstances", 0, errors)
            : (int?)null;
        var config = new WorkerConfig
        {
            Region = RequiredString(element, path, "region", errors) ?? "",
            Cidr = RequiredCidr(element, path, errors),
            Dataset = RequiredString(element, path, "dataset", errors) ?? "",
            LustreFileSystemPath = RequiredString(element, path, "lustreFileSystemPath", errors) ?? "",
            Port = OptionalInt(element, path, "port", defaults.Port, errors),
            Cpu = OptionalInt(element, path, "cpu", defaults.Cpu, errors),
            MemoryMiB = OptionalInt(element, path, "memoryMiB", defaults.MemoryMiB, errors),
            MinTasks = OptionalInt(element, path, "minTasks", defaults.MinTasks, errors),
            LocalWorkers = OptionalInt(element, path, "workers", defaults.LocalWorkers, errors),
            MaxTasks = OptionalInt(element, path, "maxTasks", defaults.MaxTasks, errors),
            CpuTargetPercent = OptionalInt(element, path, "cpuTargetPercent", defaults.CpuTargetPercent, errors),
            InstanceType = OptionalString(element, path, "instanceType", errors) ?? defaults.InstanceType,
            MaxInstances = maxInstances,
            FsxFileSystemStorageGiB = OptionalInt(element, path, "fsxFileSystemStorageGiB", defaults.FsxFileSystemStorageGiB, errors),
            FsxThroughputPerTiB = OptionalInt(element, path, "fsxThroughputPerTiB", defaults.FsxThroughputPerTiB, errors),
            AutoImport = OptionalBool(element, path, "autoImport", defaults.AutoImport, errors),
            SyncCpu = OptionalInt(element, path, "syncCpu", defaults.SyncCpu, errors),
            SyncMemoryMiB = OptionalInt(element, path, "syncMemoryMiB", defaults.SyncMemoryMiB, errors),
            NatGateways = OptionalInt(element, path, "natGateways", defaults.NatGateways, errors),
            MaxAzs = OptionalInt(element, path, "maxAzs", defaults.MaxAzs, errors),
        };
        return errors.Count == before ? config : null;
    }

    private static bool IsObject(JsonElement element, string path, List<FederationError> errors)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            errors.Add(new FederationError(path, $"must be an object, not {Describe(element)}"));
            return false;
        }

        return true;
    }

    /// <summary>Reports fields not in <paramref name="allowed"/>; advances <paramref name="errorMark"/> past them.</summary>
    private static void RejectUnknownFields(JsonElement element, string path, string[] allowed, List<FederationError> errors, ref int errorMark)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (Array.IndexOf(allowed, property.Name) < 0)
            {
                var fieldPath = path == "$" ? property.Name : $"{path}.{property.Name}";
                errors.Add(new FederationError(fieldPath, $"unknown field (allowed: {string.Join(", ", allowed)})"));
            }
        }

        errorMark = errors.Count;
    }

    private static string? RequiredString(JsonElement element, string path, string name, List<FederationError> errors)
    {
        if (!element.TryGetProperty(name, out var value))
        {
            errors.Add(new FederationError($"{path}.{name}", "is required"));
            return null;
        }

        if (value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString()))
        {
            errors.Add(new FederationError($"{path}.{name}", $"must be a non-empty string, not {Describe(value)}"));
            return null;
        }

        return value.GetString();
    }

    private static string? OptionalString(JsonElement element, string path, string name, List<FederationError> errors)
    {
        if (!element.TryGetProperty(name, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(value.GetString()))
        {
            errors.Add(new FederationError($"{path}.{name}", $"must be a non-empty string, not {Describe(value)}"));
            return null;
        }

        return value.GetString();
    }

    private static int OptionalInt(JsonElement element, string path, string name, int fallback, List<FederationError> errors)
    {
        if (!element.TryGetProperty(name, out var value))
        {
            return fallback;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var result))
        {
            errors.Add(new FederationError($"{path}.{name}", $"must be an integer, not {Describe(value)}"));
            return fallback;
        }

        return result;
    }

    private static bool OptionalBool(JsonElement element, string path, string name, bool fallback, List<FederationError> errors)
    {
        if (!element.TryGetProperty(name, out var value))
        {
            return fallback;
        }

        if (value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            errors.Add(new FederationError($"{path}.{name}", $"must be true or false, not {Describe(value)}"));
            return fallback;
        }

        return value.GetBoolean();
    }

    private static Ipv4Cidr RequiredCidr(JsonElement element, string path, List<FederationError> errors)
    {
        var text = RequiredString(element, path, "cidr", errors);
        if (text is null)
        {
            return default;
        }

        if (!Ipv4Cidr.TryParse(text, out var cidr, out var error))
        {
            errors.Add(new FederationError($"{path}.cidr", error!));
            return default;
        }

        return cidr;
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{value.GetString()}\"",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {value.GetRawText()}",
        _ => "null",
    };
}
