using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;
using Proxima.CellRunner;

// Usage: CellRunner CELL_FILE — runs the cell in the current directory, printing what the cell prints.
if (args.Length != 1)
{
    Console.Error.WriteLine("usage: CellRunner CELL_FILE");
    return 2;
}

var cell = CellDirectives.Parse(await File.ReadAllTextAsync(args[0]));
var work = Path.Combine(Path.GetTempPath(), $"proxima-cell-{Environment.ProcessId}");
try
{
    var packages = await new PackageRestore(work).ResolveAsync(cell, CancellationToken.None);
    foreach (var package in packages)
    {
        // What was restored, so a caller can check it is the package it just packed (stderr: the cell owns stdout).
        await using var file = File.OpenRead(package);
        Console.Error.WriteLine($"cell: restored {Path.GetFileName(package)} sha256 {Convert.ToHexString(await System.Security.Cryptography.SHA256.HashDataAsync(file))}");
    }

    await CSharpScript.RunAsync(cell.Code, KernelOptions.With(packages));
    return 0;
}
catch (CompilationErrorException e)
{
    Console.Error.WriteLine("cell does not compile:\n" + string.Join('\n', e.Diagnostics));
    return 1;
}
finally
{
    if (Directory.Exists(work))
    {
        Directory.Delete(work, recursive: true);
    }
}
