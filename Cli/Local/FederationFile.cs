using Proxima.Federation;

namespace Proxima.Cli.Local;

/// <summary>The client region of a federation (bin/variables.json, DESIGN.md §2).</summary>
internal sealed record ClientRegion(string Region, string Cidr);

/// <summary>One worker region of a federation.</summary>
internal sealed record WorkerRegion(string Region, string Cidr, string Dataset, string LustreFileSystemPath)
{
    /// <summary>Worker processes in the region's pool (local mode; JSON field <c>workers</c>).</summary>
    public int Workers { get; init; } = 1;
}

/// <summary>
/// What local mode needs of the federation file. Reading and validation are the shared ones the CDK
/// app uses (Shared/Federation), so both deployables accept and reject exactly the same files.
/// </summary>
internal sealed record FederationFile(ClientRegion Client, IReadOnlyList<WorkerRegion> Workers)
{
    public static FederationFile Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FederationFileException(path, "", "file not found");
        }

        try
        {
            return From(FederationReader.ReadFile(path));
        }
        catch (FederationException ex)
        {
            throw FederationFileException.From(ex);
        }
    }

    public static FederationFile Parse(ReadOnlySpan<byte> json, string source)
    {
        try
        {
            return From(FederationReader.Parse(System.Text.Encoding.UTF8.GetString(json), source));
        }
        catch (FederationException ex)
        {
            throw FederationFileException.From(ex);
        }
    }

    private static FederationFile From(FederationConfig config)
    {
        var workers = new List<WorkerRegion>(config.Workers.Count);
        foreach (var w in config.Workers)
        {
            workers.Add(new WorkerRegion(w.Region, w.Cidr.ToString(), w.Dataset, w.LustreFileSystemPath) { Workers = w.LocalWorkers });
        }

        return new FederationFile(new ClientRegion(config.Client.Region, config.Client.Cidr.ToString()), workers);
    }
}

/// <summary>A federation file that cannot be used; the message names the file and every bad field.</summary>
internal sealed class FederationFileException(string file, string field, string problem, string? fullMessage = null)
    : Exception(fullMessage ?? $"{file}: {(field.Length > 0 ? field + ": " : "")}{problem}")
{
    /// <summary>The first bad field's JSON path (<c>workers[1].cidr</c>).</summary>
    public string Field { get; } = field;

    public static FederationFileException From(FederationException ex)
    {
        var first = ex.Errors.Count > 0 ? ex.Errors[0] : new FederationError("$", "invalid");
        return new FederationFileException(ex.Source, first.Path, first.Message, ex.Message);
    }
}
