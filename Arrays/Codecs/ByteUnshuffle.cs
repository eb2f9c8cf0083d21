using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Proxima.Arrays.Codecs;

/// <summary>
/// Byte unshuffle as c-blosc's <c>unshuffle</c> does it: <c>src</c> holds <c>typesize</c> planes of
/// <c>length / typesize</c> bytes (plane k = byte k of every item), <c>dst</c> gets the items back; the
/// <c>length % typesize</c> tail bytes are copied as they are. Typesizes 2, 4 and 8 run on AVX2 (4) or SSE2 byte
/// interleaves with a scalar tail; the rest, and machines without them, run the scalar loop. The planes need not be
/// adjacent (<see cref="UnshufflePlanes"/>): a blosc stream stored raw is read where it lies in the encoded buffer
/// rather than copied next to the others first.
/// </summary>
internal static unsafe class ByteUnshuffle
{
    /// <summary>The widest path this process uses for typesize 4 (tests compare it with the environment's switches).</summary>
    public static string Path => Avx2.IsSupported ? "Vector256" : Sse2.IsSupported ? "Vector128" : "Scalar";

    public static void Unshuffle(ReadOnlySpan<byte> src, Span<byte> dst, int typesize)
    {
        int length = src.Length;
        if (dst.Length < length)
        {
            throw new ArgumentException($"destination holds {dst.Length} bytes, source {length}", nameof(dst));
        }

        if (typesize <= 1)
        {
            src.CopyTo(dst);
            return;
        }

        int n = length / typesize;
        fixed (byte* s = src)
        fixed (byte* d = dst)
        {
            UnshuffleRange(s, n, typesize, 0, n, d);
        }

        src[(n * typesize)..].CopyTo(dst[(n * typesize)..length]);
    }

    /// <summary>
    /// Items [<paramref name="from"/>, <paramref name="to"/>) of <paramref name="typesize"/>-byte planes of
    /// <paramref name="n"/> bytes each at <paramref name="s"/>, written whole to <paramref name="d"/> (item
    /// <paramref name="from"/> first): lets a caller unshuffle a block's rows straight to where they go in its output.
    /// </summary>
    public static void UnshuffleRange(byte* s, int n, int typesize, int from, int to, byte* d)
    {
        byte** planes = stackalloc byte*[typesize];
        for (int k = 0; k < typesize; k++)
        {
            planes[k] = s + ((long)k * n);
        }

        UnshufflePlanes(planes, typesize, from, to, d);
    }

    /// <summary>
    /// Items [<paramref name="from"/>, <paramref name="to"/>) of <paramref name="typesize"/> planes, plane k starting at
    /// <c>planes[k]</c> (its byte j is byte k of item j), written whole to <paramref name="d"/> (item <paramref name="from"/> first).
    /// </summary>
    public static void UnshufflePlanes(byte** planes, int typesize, int from, int to, byte* d)
    {
        int done = typesize switch
        {
            2 => Unshuffle2(planes, from, to, d),
            4 => Unshuffle4(planes, from, to, d),
            8 => Unshuffle8(planes, from, to, d),
            _ => from,
        };
        for (int j = done; j < to; j++)
        {
            byte* o = d + ((long)(j - from) * typesize);
            for (int k = 0; k < typesize; k++)
            {
                o[k] = planes[k][j];
            }
        }
    }

    /// <summary>Items [from, to) one byte at a time to <paramref name="d"/> (the reference the vector paths are tested against).</summary>
    internal static void Scalar(byte* s, int n, int typesize, int from, int to, byte* d)
    {
        for (int j = from; j < to; j++)
        {
            byte* o = d + ((long)(j - from) * typesize);
            for (int k = 0; k < typesize; k++)
            {
                o[k] = s[((long)k * n) + j];
            }
        }
    }

    private static int Unshuffle2(byte** planes, int from, int to, byte* d)
    {
        if (!Sse2.IsSupported)
        {
            return from;
        }

        byte* s = planes[0];
        byte* p1 = planes[1];
        int j = from;
        for (; j + 16 <= to; j += 16)
        {
            Vector128<byte> a = Sse2.LoadVector128(s + j);
            Vector128<byte> b = Sse2.LoadVector128(p1 + j);
            byte* o = d + (2L * (j - from));
            Sse2.Store(o, Sse2.UnpackLow(a, b));
            Sse2.Store(o + 16, Sse2.UnpackHigh(a, b));
        }

        return j;
    }

    private static int Unshuffle4(byte** planes, int from, int to, byte* d)
    {
        byte* s = planes[0];
        byte* p1 = planes[1];
        byte* p2 = planes[2];
        byte* p3 = planes[3];
        int j = from;
        if (Avx2.IsSupported)
        {
            for (; j + 32 <= to; j += 32)
            {
                Vector256<byte> a = Avx.LoadVector256(s + j);
                Vector256<byte> b = Avx.LoadVector256(p1 + j);
                Vector256<byte> c = Avx.LoadVector256(p2 + j);
                Vector256<byte> e = Avx.LoadVector256(p3 + j);
                Vector256<ushort> ab0 = Avx2.UnpackLow(a, b).AsUInt16();
                Vector256<ushort> ab1 = Avx2.UnpackHigh(a, b).AsUInt16();
                Vector256<ushort> ce0 = Avx2.UnpackLow(c, e).AsUInt16();
                Vector256<ushort> ce1 = Avx2.UnpackHigh(c, e).AsUInt16();

                // Per 128-bit lane L: r0 = items 16L+0..3, r1 = 4..7, r2 = 8..11, r3 = 12..15.
                Vector256<byte> r0 = Avx2.UnpackLow(ab0, ce0).AsByte();
                Vector256<byte> r1 = Avx2.UnpackHigh(ab0, ce0).AsByte();
                Vector256<byte> r2 = Avx2.UnpackLow(ab1, ce1).AsByte();
                Vector256<byte> r3 = Avx2.UnpackHigh(ab1, ce1).AsByte();
                byte* o = d + (4L * (j - from));
                Avx.Store(o, Avx2.Permute2x128(r0, r1, 0x20));
                Avx.Store(o + 32, Avx2.Permute2x128(r2, r3, 0x20));
                Avx.Store(o + 64, Avx2.Permute2x128(r0, r1, 0x31));
                Avx.Store(o + 96, Avx2.Permute2x128(r2, r3, 0x31));
            }
        }

        if (Sse2.IsSupported)
        {
            for (; j + 16 <= to; j += 16)
            {
                Vector128<byte> a = Sse2.LoadVector128(s + j);
                Vector128<byte> b = Sse2.LoadVector128(p1 + j);
                Vector128<byte> c = Sse2.LoadVector128(p2 + j);
                Vector128<byte> e = Sse2.LoadVector128(p3 + j);
                Vector128<ushort> ab0 = Sse2.UnpackLow(a, b).AsUInt16();
                Vector128<ushort> ab1 = Sse2.UnpackHigh(a, b).AsUInt16();
                Vector128<ushort> ce0 = Sse2.UnpackLow(c, e).AsUInt16();
                Vector128<ushort> ce1 = Sse2.UnpackHigh(c, e).AsUInt16();
                byte* o = d + (4L * (j - from));
                Sse2.Store(o, Sse2.UnpackLow(ab0, ce0).AsByte());
                Sse2.Store(o + 16, Sse2.UnpackHigh(ab0, ce0).AsByte());
                Sse2.Store(o + 32, Sse2.UnpackLow(ab1, ce1).AsByte());
                Sse2.Store(o + 48, Sse2.UnpackHigh(ab1, ce1).AsByte());
            }
        }

        return j;
    }

    private static int Unshuffle8(byte** planes, int from, int to, byte* d)
    {
        if (!Sse2.IsSupported)
        {
            return from;
        }

        byte* s = planes[0];
        int j = from;
        for (; j + 16 <= to; j += 16)
        {
            // Bytes 0..7 of items j..j+15, paired, then quadrupled, then octupled.
            Vector128<ushort> b01l = Sse2.UnpackLow(Sse2.LoadVector128(s + j), Sse2.LoadVector128(planes[1] + j)).AsUInt16();
            Vector128<ushort> b01h = Sse2.UnpackHigh(Sse2.LoadVector128(s + j), Sse2.LoadVector128(planes[1] + j)).AsUInt16();
            Vector128<ushort> b23l = Sse2.UnpackLow(Sse2.LoadVector128(planes[2] + j), Sse2.LoadVector128(planes[3] + j)).AsUInt16();
            Vector128<ushort> b23h = Sse2.UnpackHigh(Sse2.LoadVector128(planes[2] + j), Sse2.LoadVector128(planes[3] + j)).AsUInt16();
            Vector128<ushort> b45l = Sse2.UnpackLow(Sse2.LoadVector128(planes[4] + j), Sse2.LoadVector128(planes[5] + j)).AsUInt16();
            Vector128<ushort> b45h = Sse2.UnpackHigh(Sse2.LoadVector128(planes[4] + j), Sse2.LoadVector128(planes[5] + j)).AsUInt16();
            Vector128<ushort> b67l = Sse2.UnpackLow(Sse2.LoadVector128(planes[6] + j), Sse2.LoadVector128(planes[7] + j)).AsUInt16();
            Vector128<ushort> b67h = Sse2.UnpackHigh(Sse2.LoadVector128(planes[6] + j), Sse2.LoadVector128(planes[7] + j)).AsUInt16();

            // q0..q3: bytes 0..3 of items 0-3, 4-7, 8-11, 12-15; h0..h3: bytes 4..7 of the same items.
            Vector128<uint> q0 = Sse2.UnpackLow(b01l, b23l).AsUInt32();
            Vector128<uint> q1 = Sse2.UnpackHigh(b01l, b23l).AsUInt32();
            Vector128<uint> q2 = Sse2.UnpackLow(b01h, b23h).AsUInt32();
            Vector128<uint> q3 = Sse2.UnpackHigh(b01h, b23h).AsUInt32();
            Vector128<uint> h0 = Sse2.UnpackLow(b45l, b67l).AsUInt32();
            Vector128<uint> h1 = Sse2.UnpackHigh(b45l, b67l).AsUInt32();
            Vector128<uint> h2 = Sse2.UnpackLow(b45h, b67h).AsUInt32();
            Vector128<uint> h3 = Sse2.UnpackHigh(b45h, b67h).AsUInt32();
            byte* o = d + (8L * (j - from));
            Sse2.Store(o, Sse2.UnpackLow(q0, h0).AsByte());
            Sse2.Store(o + 16, Sse2.UnpackHigh(q0, h0).AsByte());
            Sse2.Store(o + 32, Sse2.UnpackLow(q1, h1).AsByte());
            Sse2.Store(o + 48, Sse2.UnpackHigh(q1, h1).AsByte());
            Sse2.Store(o + 64, Sse2.UnpackLow(q2, h2).AsByte());
            Sse2.Store(o + 80, Sse2.UnpackHigh(q2, h2).AsByte());
            Sse2.Store(o + 96, Sse2.UnpackLow(q3, h3).AsByte());
            Sse2.Store(o + 112, Sse2.UnpackHigh(q3, h3).AsByte());
        }

        return j;
    }
}
