using Microsoft.CodeAnalysis.Scripting;

namespace Proxima.CellRunner;

/// <summary>
/// Script options like the .NET Interactive C# kernel's: the shared framework (with ASP.NET Core, which the
/// kernel hosts) referenced, its default namespaces imported, and the cell's package assemblies.
/// </summary>
internal static class KernelOptions
{
    private static readonly string[] DefaultImports =
        ["System", "System.Text", "System.Collections", "System.Collections.Generic", "System.Threading.Tasks", "System.Linq"];

    public static ScriptOptions With(IReadOnlyList<string> packageAssemblies)
    {
        var framework = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!)
            .Split(Path.PathSeparator)
            .Where(path => path.Contains($"{Path.DirectorySeparatorChar}shared{Path.DirectorySeparatorChar}", StringComparison.Ordinal));
        return ScriptOptions.Default
            .WithReferences(framework.Concat(packageAssemblies))
            .WithImports(DefaultImports)
            .WithAllowUnsafe(false);
    }
}
