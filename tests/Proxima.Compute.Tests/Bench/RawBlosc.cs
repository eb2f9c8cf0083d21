using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Proxima.Compute.Tests.Bench;

/// <summary>
/// libblosc's own decompress of in-memory chunks, the practical limit of a Blosc read: called directly (no storage,
/// no managed codec), into one reused destination per thread, with the same thread layout the executor uses
/// (<c>threads</c> chunks at a time, one blosc thread each) or one chunk at a time with blosc's internal threads.
/// </summary>
internal static unsafe partial class RawBlosc
{
    [LibraryImport("libblosc.so.1", EntryPoint = "blosc_decompress_ctx")]
    private static partial int DecompressCtx(byte* src, byte* dest, nuint destsize, int numinternalthreads);

    /// <summary>Chunks spread over <paramref name="threads"/> threads, each chunk decompressed by one blosc thread.</summary>
    public static double ChunkParallel(byte[][] chunks, int decodedBytes, int threads)
    {
        var next = -1;
        var sw = Stopwatch.StartNew();
        var workers = new Thread[threads];
        for (var w = 0; w < threads; w++)
        {
            workers[w] = new Thread(() =>
            {
                var dst = GC.AllocateUninitializedArray<byte>(decodedBytes, pinned: true);
                int i;
                while ((i = Interlocked.Increment(ref next)) < chunks.Length)
                {
                    Decompress(chunks[i], dst, 1);
                }
            });
            workers[w].Start();
        }

        foreach (var t in workers)
        {
            t.Join();
        }

        return sw.Elapsed.TotalSeconds;
    }

    /// <summary>One chunk at a time, blosc splitting each chunk's blocks over <paramref name="internalThreads"/> threads.</summary>
    public static double ChunkSerial(byte[][] chunks, int decodedBytes, int internalThreads)
    {
        var dst = GC.AllocateUninitializedArray<byte>(decodedBytes, pinned: true);
        var sw = Stopwatch.StartNew();
        foreach (var c in chunks)
        {
            Decompress(c, dst, internalThreads);
        }

        return sw.Elapsed.TotalSeconds;
    }

    private static void Decompress(byte[] src, byte[] dst, int threads)
    {
        fixed (byte* s = src)
        fixed (byte* d = dst)
        {
            var n = DecompressCtx(s, d, (nuint)dst.Length, threads);
            if (n != dst.Length)
            {
                throw new InvalidOperationException($"blosc_decompress_ctx returned {n}, expected {dst.Length}");
            }
        }
    }
}
