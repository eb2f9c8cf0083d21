using BenchmarkDotNet.Running;
using Proxima.Benchmarks;

// End-to-end comparisons by name; anything else goes to BenchmarkDotNet's switcher.
return args is [var name, .. var rest] && EndToEnd.TryGet(name) is { } run
    ? await run(rest)
    : Run(args);

static int Run(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(EndToEnd).Assembly).Run(args);
    return 0;
}
