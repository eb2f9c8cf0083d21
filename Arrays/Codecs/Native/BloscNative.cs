using System.Runtime.InteropServices;

namespace Proxima.Arrays.Codecs.Native;

/// <summary>
/// libblosc1 (c-blosc 1.x). Only thread-safe entry points are used: the <c>_ctx</c> ones, and <c>blosc_getitem</c>
/// (1.x has no <c>blosc_getitem_ctx</c>; its <c>blosc_getitem</c> builds a local context and temporary buffers, no
/// global state).
/// </summary>
internal static unsafe partial class BloscNative
{
    private const string Lib = "libblosc.so.1";

    [LibraryImport(Lib, EntryPoint = "blosc_decompress_ctx")]
    private static partial int DecompressCtx(byte* src, byte* dest, nuint destsize, int numinternalthreads);

    [LibraryImport(Lib, EntryPoint = "blosc_compress_ctx", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int CompressCtx(int clevel, int doshuffle, nuint typesize, nuint nbytes, byte* src, byte* dest, nuint destsize, string compressor, nuint blocksize, int numinternalthreads);

    [LibraryImport(Lib, EntryPoint = "blosc_getitem")]
    private static partial int GetItemNative(byte* src, int start, int nitems, byte* dest);

    /// <summary>
    /// Decompresses only the blocks holding items [start, start + nitems) (items of the header's typesize) into
    /// <paramref name="dst"/> (at least nitems × typesize bytes). The caller has validated the header against
    /// <paramref name="src"/>'s length. Returns the bytes written or a negative blosc error.
    /// </summary>
    public static int GetItems(ReadOnlySpan<byte> src, int start, int nitems, Span<byte> dst)
    {
        try
        {
            fixed (byte* s = src)
            fixed (byte* d = dst)
            {
                return GetItemNative(s, start, nitems, d);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw Unavailable(e);
        }
    }

    public static int Decompress(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        try
        {
            fixed (byte* s = src)
            fixed (byte* d = dst)
            {
                return DecompressCtx(s, d, (nuint)dst.Length, DecodeThreads.Current);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw Unavailable(e);
        }
    }

    public static int Compress(int clevel, int shuffle, int typesize, ReadOnlySpan<byte> src, Span<byte> dst, string compressor, int blocksize)
    {
        try
        {
            fixed (byte* s = src)
            fixed (byte* d = dst)
            {
                return CompressCtx(clevel, shuffle, (nuint)typesize, (nuint)src.Length, s, d, (nuint)dst.Length, compressor, (nuint)blocksize, 1);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw Unavailable(e);
        }
    }

    private static CodecException Unavailable(Exception e) =>
        new(ChunkErrorKind.CodecUnavailable, "blosc codec needs libblosc1 (libblosc.so.1); install the Debian package libblosc1", e);
}
