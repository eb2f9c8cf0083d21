using Proxima.Client.Tests.Infrastructure;
using Proxima.Tests.Infrastructure;

namespace Proxima.Client.Tests;

/// <summary>
/// Walks the whole <c>proxima</c> command tree through <c>--help</c>, as a user would: every command and
/// subcommand has a description, an Examples section with runnable-looking lines, and a description on
/// every option.
/// </summary>
public sealed class CliHelpTests
{
    [Fact]
    public async Task Every_command_and_subcommand_has_a_description_examples_and_described_options()
    {
        var seen = new List<string>();
        var failures = new List<string>();
        var pending = new Queue<string[]>([[]]);
        while (pending.Count > 0)
        {
            // One level at a time, in parallel: each --help is a process start.
            var level = new List<string[]>();
            while (pending.Count > 0)
            {
                level.Add(pending.Dequeue());
            }

            var helps = await Task.WhenAll(level.Select(path => Run.ProcessAsync("dotnet", [RepoPaths.ProximaDll, .. path, "--help"], RepoPaths.Root)));
            for (var i = 0; i < level.Count; i++)
            {
                var name = string.Join(' ', ["proxima", .. level[i]]);
                seen.Add(name);
                var help = helps[i];
                if (help.ExitCode != 0)
                {
                    failures.Add($"{name} --help: {help.Describe()}");
                    continue;
                }

                failures.AddRange(Check(name, help.Stdout));
                foreach (var sub in Section(help.Stdout, "Commands:"))
                {
                    pending.Enqueue([.. level[i], sub]);
                }
            }
        }

        // The tree the README and issue name; a command added later is walked (and checked) too.
        foreach (var expected in new[] { "proxima", "proxima demo", "proxima up", "proxima sync", "proxima query", "proxima catalog", "proxima catalog search", "proxima catalog regions", "proxima router", "proxima worker" })
        {
            Assert.Contains(expected, seen);
        }

        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    private static IEnumerable<string> Check(string name, string help)
    {
        var lines = help.Split('\n');
        var description = Array.IndexOf(lines, "Description:");
        if (description < 0 || description + 1 >= lines.Length || string.IsNullOrWhiteSpace(lines[description + 1]))
        {
            yield return $"{name}: no description\n{help}";
        }

        var examples = Array.FindIndex(lines, l => l.Trim() == "Examples:");
        var usage = Array.IndexOf(lines, "Usage:");
        if (examples < 0 || (usage >= 0 && examples > usage))
        {
            yield return $"{name}: no 'Examples:' section in its description\n{help}";
        }
        else if (!lines.Skip(examples + 1).TakeWhile(l => l.Trim().Length > 0).Any(l => l.TrimStart().StartsWith(name, StringComparison.Ordinal)))
        {
            yield return $"{name}: its Examples do not start with '{name}'\n{help}";
        }

        foreach (var option in SectionLines(help, "Options:"))
        {
            // "  --name <value>   Description" (wrapped lines are indented past the option column).
            if (option.StartsWith("  -", StringComparison.Ordinal) && !option.Trim().Contains("  ", StringComparison.Ordinal))
            {
                yield return $"{name}: option without a description: '{option.Trim()}'";
            }
        }
    }

    /// <summary>The command names listed under <paramref name="header"/> (two-space indented first words).</summary>
    private static IEnumerable<string> Section(string help, string header) =>
        SectionLines(help, header)
            .Where(l => l.Length > 2 && l.StartsWith("  ", StringComparison.Ordinal) && l[2] != ' ')
            .Select(l => l.Trim().Split(' ')[0]);

    private static IEnumerable<string> SectionLines(string help, string header)
    {
        var lines = help.Split('\n');
        var start = Array.IndexOf(lines, header);
        if (start < 0)
        {
            yield break;
        }

        for (var i = start + 1; i < lines.Length && (lines[i].Length == 0 || lines[i].StartsWith(' ')); i++)
        {
            yield return lines[i].TrimEnd('\r');
        }
    }
}
