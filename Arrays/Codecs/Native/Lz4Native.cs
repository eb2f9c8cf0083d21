using System.Runtime.InteropServices;

namespace Proxima.Arrays.Codecs.Native;

/// <summary>liblz4 block API.</summary>
internal static unsafe partial class Lz4Native
{
    private const string Lib = "liblz4.so.1";

    [LibraryImport(Lib, EntryPoint = "LZ4_decompress_safe")]
    private static partial int DecompressSafeNative(byte* src, byte* dst, int compressedSize, int dstCapacity);

    [LibraryImport(Lib, EntryPoint = "LZ4_compress_default")]
    private static partial int CompressDefaultNative(byte* src, byte* dst, int srcSize, int dstCapacity);

    [LibraryImport(Lib, EntryPoint = "LZ4_compressBound")]
    private static partial int CompressBoundNative(int inputSize);

    /// <summary>Returns bytes written, or a negative value for malformed input or output overflow.</summary>
    public static int DecompressSafe(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        try
        {
            fixed (byte* s = src)
            fixed (byte* d = dst)
            {
                return DecompressSafeNative(s, d, src.Length, dst.Length);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw Unavailable(e);
        }
    }

    public static byte[] Compress(ReadOnlySpan<byte> src)
    {
        try
        {
            fixed (byte* s = src)
            {
                int bound = CompressBoundNative(src.Length);
                byte[] dst = new byte[bound];
                fixed (byte* d = dst)
                {
                    int n = CompressDefaultNative(s, d, src.Length, bound);
                    if (n <= 0)
                    {
                        throw new CodecException(ChunkErrorKind.Corrupt, "lz4 compress failed");
                    }

                    return dst.AsSpan(0, n).ToArray();
                }
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw Unavailable(e);
        }
    }

    private static CodecException Unavailable(Exception e) =>
        new(ChunkErrorKind.CodecUnavailable, "lz4 codec needs liblz4 (liblz4.so.1); install the Debian package liblz4-1", e);
}
