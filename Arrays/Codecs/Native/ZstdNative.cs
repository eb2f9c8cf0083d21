using System.Runtime.InteropServices;

namespace Proxima.Arrays.Codecs.Native;

/// <summary>libzstd (one-shot API only).</summary>
internal static unsafe partial class ZstdNative
{
    private const string Lib = "libzstd.so.1";

    public const ulong ContentSizeUnknown = unchecked((ulong)-1);
    public const ulong ContentSizeError = unchecked((ulong)-2);

    [LibraryImport(Lib, EntryPoint = "ZSTD_getFrameContentSize")]
    private static partial ulong GetFrameContentSizeNative(byte* src, nuint srcSize);

    [LibraryImport(Lib, EntryPoint = "ZSTD_decompress")]
    private static partial nuint DecompressNative(byte* dst, nuint dstCapacity, byte* src, nuint srcSize);

    [LibraryImport(Lib, EntryPoint = "ZSTD_compress")]
    private static partial nuint CompressNative(byte* dst, nuint dstCapacity, byte* src, nuint srcSize, int level);

    [LibraryImport(Lib, EntryPoint = "ZSTD_compressBound")]
    private static partial nuint CompressBoundNative(nuint srcSize);

    [LibraryImport(Lib, EntryPoint = "ZSTD_isError")]
    private static partial uint IsErrorNative(nuint code);

    [LibraryImport(Lib, EntryPoint = "ZSTD_getErrorName")]
    private static partial IntPtr GetErrorNameNative(nuint code);

    public static ulong GetFrameContentSize(ReadOnlySpan<byte> src)
    {
        try
        {
            fixed (byte* s = src)
            {
                return GetFrameContentSizeNative(s, (nuint)src.Length);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw Unavailable(e);
        }
    }

    /// <summary>Returns bytes written, or throws with zstd's error name.</summary>
    public static int Decompress(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        try
        {
            fixed (byte* s = src)
            fixed (byte* d = dst)
            {
                nuint r = DecompressNative(d, (nuint)dst.Length, s, (nuint)src.Length);
                if (IsErrorNative(r) != 0)
                {
                    string name = Marshal.PtrToStringUTF8(GetErrorNameNative(r)) ?? "unknown error";
                    ChunkErrorKind kind = name.Contains("Destination buffer is too small", StringComparison.OrdinalIgnoreCase)
                        ? ChunkErrorKind.ExceedsExpectedSize
                        : name.Contains("truncated", StringComparison.OrdinalIgnoreCase) || name.Contains("Src size", StringComparison.OrdinalIgnoreCase)
                            ? ChunkErrorKind.Truncated
                            : ChunkErrorKind.Corrupt;
                    throw new CodecException(kind, "zstd: " + name);
                }

                return (int)r;
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw Unavailable(e);
        }
    }

    public static byte[] Compress(ReadOnlySpan<byte> src, int level)
    {
        try
        {
            fixed (byte* s = src)
            {
                int bound = (int)CompressBoundNative((nuint)src.Length);
                byte[] dst = new byte[bound];
                fixed (byte* d = dst)
                {
                    nuint r = CompressNative(d, (nuint)bound, s, (nuint)src.Length, level);
                    if (IsErrorNative(r) != 0)
                    {
                        throw new CodecException(ChunkErrorKind.Corrupt, "zstd compress: " + Marshal.PtrToStringUTF8(GetErrorNameNative(r)));
                    }

                    return dst.AsSpan(0, (int)r).ToArray();
                }
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw Unavailable(e);
        }
    }

    private static CodecException Unavailable(Exception e) =>
        new(ChunkErrorKind.CodecUnavailable, "zstd codec needs libzstd (libzstd.so.1); install the Debian package libzstd1", e);
}
