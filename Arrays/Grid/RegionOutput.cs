using System.Runtime.CompilerServices;
using Proxima.Arrays.Storage;

namespace Proxima.Arrays.Grid;

/// <summary>
/// The fresh result array of a region read. Every element is written by some chunk (or its fill), so it is not zeroed;
/// one of at least <see cref="HugePageBytes"/> is pinned and its 2 MiB-aligned interior advised to transparent huge
/// pages before anything touches it, as NumPy does for its own arrays: the decode threads then fault it in 2 MiB at a
/// time rather than 4 KiB (a 100 MB output is ~50 faults instead of ~25,000, each with the kernel's bookkeeping and a
/// TLB entry of its own). Where THP is off ("never") or unsupported the advice is refused and nothing changes.
/// </summary>
internal static class RegionOutput
{
    /// <summary>Outputs from this size on are advised (NumPy's threshold for <c>madvise(MADV_HUGEPAGE)</c>).</summary>
    public const long HugePageBytes = 4L << 20;

    private const long HugePage = 2L << 20;

    public static unsafe T[] Allocate<T>(int length)
        where T : unmanaged
    {
        long bytes = (long)length * Unsafe.SizeOf<T>();
        if (bytes < HugePageBytes || !OperatingSystem.IsLinux())
        {
            return GC.AllocateUninitializedArray<T>(length);
        }

        // Pinned so the advised range stays the array's (the pinned heap never moves objects).
        T[] result = GC.AllocateUninitializedArray<T>(length, pinned: true);
        byte* p = (byte*)Unsafe.AsPointer(ref result[0]);
        long start = ((long)p + HugePage - 1) & ~(HugePage - 1);
        long end = ((long)p + bytes) & ~(HugePage - 1);
        if (end > start)
        {
            _ = Libc.MAdvise((byte*)start, (nuint)(end - start), Libc.MadvHugePage);
        }

        return result;
    }
}
