namespace Proxima.Arrays.Codecs;

/// <summary>
/// Threads a chunk decode may use (Blosc: block ranges on our own threads), for the current async flow; 1 unless
/// a caller that decodes one chunk at a time with the machine's cores asks for more.
/// </summary>
/// <example><code>using (DecodeThreads.Use(Environment.ProcessorCount)) { await variable.ReadChunkAsync(...); }</code></example>
public static class DecodeThreads
{
    private static readonly AsyncLocal<int> Threads = new();

    /// <summary>Threads the current flow's decodes use (at least 1).</summary>
    public static int Current => Math.Max(1, Threads.Value);

    /// <summary>Sets the decode threads of the current async flow until the returned scope is disposed.</summary>
    public static Scope Use(int threads)
    {
        var previous = Threads.Value;
        Threads.Value = Math.Max(1, threads);
        return new Scope(previous);
    }

    /// <summary>Restores the previous setting.</summary>
    public readonly struct Scope : IDisposable
    {
        private readonly int _previous;

        internal Scope(int previous) => _previous = previous;

        /// <inheritdoc />
        public void Dispose() => Threads.Value = _previous;
    }
}
