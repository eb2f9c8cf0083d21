namespace Proxima.Compute.Execution;

/// <summary>
/// Chunk-sized buffers of one execution. A chunk takes a free buffer or allocates one, so no more buffers exist
/// than chunks were ever in flight at once: memory stays at chunks in flight × (chunk + gathered box) whatever
/// threads the continuations land on. (<c>ArrayPool.Shared</c> rounds a 25 MB chunk up to 32 MB and keeps one
/// per thread that returned one, so under a busy thread pool it can hold many more.) Dropped with the execution.
/// </summary>
internal sealed class BufferSet
{
    private readonly Stack<Array> _free = new();
    private readonly Lock _lock = new();

    public T[] Rent<T>(int length)
        where T : unmanaged
    {
        lock (_lock)
        {
            while (_free.TryPop(out var a))
            {
                // A too-small one (an edge chunk's box) is dropped rather than kept beside its replacement.
                if (a is T[] t && t.Length >= length)
                {
                    return t;
                }
            }
        }

        return GC.AllocateUninitializedArray<T>(length);
    }

    public void Return(Array buffer)
    {
        lock (_lock)
        {
            _free.Push(buffer);
        }
    }
}
