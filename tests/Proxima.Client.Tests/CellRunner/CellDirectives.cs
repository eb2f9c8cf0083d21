using System.Text.RegularExpressions;

namespace Proxima.CellRunner;

/// <summary>A package the cell asks for with <c>#r "nuget: ID, VERSION"</c>.</summary>
internal sealed record PackageRequest(string Id, string? Version);

/// <summary>
/// The .NET Interactive package directives of a C# cell (<c>#i "nuget: SOURCE"</c>, <c>#r "nuget: ID[, VERSION]"</c>)
/// and the cell's code with those lines blanked (so compiler line numbers still match the cell).
/// </summary>
internal sealed partial class CellDirectives
{
    private CellDirectives(IReadOnlyList<string> sources, IReadOnlyList<PackageRequest> packages, string code)
    {
        Sources = sources;
        Packages = packages;
        Code = code;
    }

    public IReadOnlyList<string> Sources { get; }

    public IReadOnlyList<PackageRequest> Packages { get; }

    public string Code { get; }

    public static CellDirectives Parse(string cell)
    {
        var sources = new List<string>();
        var packages = new List<PackageRequest>();
        var lines = cell.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (SourceDirective().Match(line) is { Success: true } source)
            {
                sources.Add(source.Groups["source"].Value.Trim());
                lines[i] = string.Empty;
            }
            else if (PackageDirective().Match(line) is { Success: true } package)
            {
                var version = package.Groups["version"].Success ? package.Groups["version"].Value.Trim() : null;
                packages.Add(new PackageRequest(package.Groups["id"].Value.Trim(), string.IsNullOrEmpty(version) ? null : version));
                lines[i] = string.Empty;
            }
            else if (line.StartsWith("#i ", StringComparison.Ordinal) || line.StartsWith("#r \"nuget:", StringComparison.Ordinal))
            {
                throw new FormatException($"cell line {i + 1}: unrecognised package directive '{line}'");
            }
        }

        return new CellDirectives(sources, packages, string.Join('\n', lines));
    }

    [GeneratedRegex("""^#i\s+"nuget:\s*(?<source>[^"]+)"$""")]
    private static partial Regex SourceDirective();

    [GeneratedRegex("""^#r\s+"nuget:\s*(?<id>[^,"]+)(,\s*(?<version>[^"]*))?"$""")]
    private static partial Regex PackageDirective();
}
