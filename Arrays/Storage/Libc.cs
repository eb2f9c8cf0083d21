using System.Runtime.InteropServices;

namespace Proxima.Arrays.Storage;

/// <summary>libc's realpath(3): resolves every symlink so confinement checks see the real target; madvise(2).</summary>
internal static unsafe partial class Libc
{
    /// <summary>MADV_POPULATE_READ: populate the page tables of a mapping (prefault readable).</summary>
    public const int MadvPopulateRead = 22;

    [LibraryImport("libc", EntryPoint = "madvise")]
    public static partial int MAdvise(byte* address, nuint length, int advice);

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial IntPtr RealPathNative(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(IntPtr p);

    /// <summary>The canonical path, or null when some component does not exist.</summary>
    public static string? RealPath(string path)
    {
        IntPtr p = RealPathNative(path, IntPtr.Zero);
        if (p == IntPtr.Zero)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(p);
        }
        finally
        {
            Free(p);
        }
    }
}
