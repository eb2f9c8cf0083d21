using System.Diagnostics;
using System.Security;

namespace Proxima.CellRunner;

/// <summary>
/// Resolves a cell's packages the way the .NET Interactive kernel does: a generated project that references
/// them, restored by the real <c>dotnet</c> CLI from the cell's sources plus the configured feeds, built so
/// every runtime assembly of the package graph lands in one folder. Packages go to a private folder, so a
/// freshly packed version with an unchanged number is never shadowed by an older copy in the global cache.
/// </summary>
internal sealed class PackageRestore(string workDirectory)
{
    public async Task<IReadOnlyList<string>> ResolveAsync(CellDirectives cell, CancellationToken cancellationToken)
    {
        if (cell.Packages.Count == 0)
        {
            return [];
        }

        Directory.CreateDirectory(workDirectory);
        var project = Path.Combine(workDirectory, "cell-packages.csproj");
        await File.WriteAllTextAsync(project, ProjectText(cell), cancellationToken);
        var output = Path.Combine(workDirectory, "out");
        await RunDotnetAsync(["build", project, "-c", "Release", "-o", output, "-nologo", "-v", "quiet"], cancellationToken);
        return Directory.GetFiles(output, "*.dll")
            .Where(path => !Path.GetFileName(path).Equals("cell-packages.dll", StringComparison.OrdinalIgnoreCase))
            .ToList();
    }

    private string ProjectText(CellDirectives cell)
    {
        var references = string.Concat(cell.Packages.Select(p =>
            $"    <PackageReference Include=\"{SecurityElement.Escape(p.Id)}\" Version=\"{SecurityElement.Escape(p.Version ?? "*")}\" />\n"));
        var sources = string.Join(';', cell.Sources.Select(s => SecurityElement.Escape(s)));
        return $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net{Environment.Version.Major}.0</TargetFramework>
                <CopyLocalLockFileAssemblies>true</CopyLocalLockFileAssemblies>
                <EnableDefaultCompileItems>false</EnableDefaultCompileItems>
                <RestoreAdditionalProjectSources>{sources}</RestoreAdditionalProjectSources>
                <RestorePackagesPath>{SecurityElement.Escape(Path.Combine(workDirectory, "packages"))}</RestorePackagesPath>
              </PropertyGroup>
              <ItemGroup>
            {references}  </ItemGroup>
            </Project>
            """;
    }

    private async Task RunDotnetAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = workDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"restoring the cell's packages failed (dotnet {string.Join(' ', arguments)}):\n{await stdout}{await stderr}");
        }
    }
}
