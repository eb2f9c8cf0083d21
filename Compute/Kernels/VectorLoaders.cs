using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Proxima.Compute.Kernels;

/// <summary>
/// Loads input elements widened to float64 lanes. One struct per element type, so kernels are written once and
/// specialised by the JIT (float32 data is always accumulated in float64).
/// </summary>
internal interface IWideningLoader<T>
    where T : unmanaged
{
    static abstract Vector512<double> Load512(ref T source, nuint offset);

    static abstract Vector256<double> Load256(ref T source, nuint offset);

    static abstract Vector128<double> Load128(ref T source, nuint offset);

    static abstract double Load(ref T source, nuint offset);
}

internal readonly struct FloatLoader : IWideningLoader<float>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> Load512(ref float source, nuint offset)
        => Vector512.WidenLower(Vector256.LoadUnsafe(ref source, offset).ToVector512Unsafe());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Load256(ref float source, nuint offset)
        => Vector256.WidenLower(Vector128.LoadUnsafe(ref source, offset).ToVector256Unsafe());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<double> Load128(ref float source, nuint offset)
        => Vector128.WidenLower(Vector64.LoadUnsafe(ref source, offset).ToVector128Unsafe());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Load(ref float source, nuint offset) => Unsafe.Add(ref source, offset);
}

internal readonly struct DoubleLoader : IWideningLoader<double>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> Load512(ref double source, nuint offset) => Vector512.LoadUnsafe(ref source, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Load256(ref double source, nuint offset) => Vector256.LoadUnsafe(ref source, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<double> Load128(ref double source, nuint offset) => Vector128.LoadUnsafe(ref source, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Load(ref double source, nuint offset) => Unsafe.Add(ref source, offset);
}

/// <summary>Which code path a kernel runs (tests force each one; production uses <see cref="SimdPaths.Best"/>).</summary>
internal enum SimdPath
{
    Scalar,
    Vector128,
    Vector256,
    Vector512,
}

internal static class SimdPaths
{
    /// <summary>The widest accelerated path on this machine (honours <c>DOTNET_EnableAVX512F=0</c> etc.).</summary>
    public static readonly SimdPath Best =
        Vector512.IsHardwareAccelerated ? SimdPath.Vector512
        : Vector256.IsHardwareAccelerated ? SimdPath.Vector256
        : Vector128.IsHardwareAccelerated ? SimdPath.Vector128
        : SimdPath.Scalar;

    public static bool IsSupported(SimdPath path) => path switch
    {
        SimdPath.Vector512 => Vector512.IsHardwareAccelerated,
        SimdPath.Vector256 => Vector256.IsHardwareAccelerated,
        SimdPath.Vector128 => Vector128.IsHardwareAccelerated,
        _ => true,
    };
}
