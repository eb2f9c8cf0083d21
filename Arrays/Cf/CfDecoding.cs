using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Proxima.Arrays.Cf;

/// <summary>
/// How raw stored values become decoded values, following xarray's <c>decode_cf</c> order:
/// <c>_Unsigned</c> reinterpretation, masking of <c>_FillValue</c>/<c>missing_value</c> (compared in
/// packed units, after casting to the decoded dtype, as xarray does), then <c>scale_factor</c> and
/// <c>add_offset</c> computed in the decoded dtype (float32 arithmetic for float32 results).
/// </summary>
public sealed class CfDecoding
{
    private readonly double[] _fillValues;

    internal CfDecoding(DataType storedType, DataType rawType, double[] fillValues, double? scale, double? offset, DataType decodedType)
    {
        StoredType = storedType;
        RawType = rawType;
        _fillValues = fillValues;
        ScaleFactor = scale;
        AddOffset = offset;
        DecodedType = decodedType;
    }

    /// <summary>The dtype on disk.</summary>
    public DataType StoredType { get; }

    /// <summary>The dtype values are interpreted as (differs from <see cref="StoredType"/> under <c>_Unsigned</c>).</summary>
    public DataType RawType { get; }

    /// <summary>Values (in packed units) that decode to NaN.</summary>
    public IReadOnlyList<double> FillValues => _fillValues;

    public double? ScaleFactor { get; }

    public double? AddOffset { get; }

    /// <summary>The dtype xarray would give the decoded variable.</summary>
    public DataType DecodedType { get; }

    /// <summary>True when decoding changes nothing but the element type.</summary>
    public bool IsIdentity => _fillValues.Length == 0 && ScaleFactor is null && AddOffset is null;

    /// <summary>
    /// Builds the decoding for a variable. <paramref name="storeFillValue"/> is the format-level fill
    /// (Zarr's <c>fill_value</c>), which xarray treats as <c>_FillValue</c>.
    /// </summary>
    public static CfDecoding Create(DataType storedType, IReadOnlyDictionary<string, AttributeValue> attributes, double? storeFillValue, bool maskAndScale = true)
    {
        DataType raw = storedType;
        if (!maskAndScale)
        {
            return new CfDecoding(storedType, raw, [], null, null, storedType);
        }

        if (attributes.TryGetValue("_Unsigned", out AttributeValue u))
        {
            string flag = u.AsString().Trim().ToLowerInvariant();
            if (flag == "true")
            {
                raw = storedType switch
                {
                    DataType.Int8 => DataType.UInt8,
                    DataType.Int16 => DataType.UInt16,
                    DataType.Int32 => DataType.UInt32,
                    DataType.Int64 => DataType.UInt64,
                    _ => storedType,
                };
            }
            else if (flag == "false")
            {
                raw = storedType switch
                {
                    DataType.UInt8 => DataType.Int8,
                    DataType.UInt16 => DataType.Int16,
                    DataType.UInt32 => DataType.Int32,
                    DataType.UInt64 => DataType.Int64,
                    _ => storedType,
                };
            }
        }

        var fills = new List<double>(2);
        if (attributes.TryGetValue("missing_value", out AttributeValue mv))
        {
            AddFills(fills, mv.AsDoubleArray(), raw, storedType);
        }

        if (storeFillValue is double sfv)
        {
            AddFills(fills, [sfv], raw, storedType);
        }
        else if (attributes.TryGetValue("_FillValue", out AttributeValue fv))
        {
            AddFills(fills, fv.AsDoubleArray(), raw, storedType);
        }

        DataType decoded = raw;
        if (fills.Count > 0)
        {
            decoded = raw switch
            {
                DataType.Float16 or DataType.Float32 or DataType.Float64 => raw,
                DataType.Int8 or DataType.UInt8 or DataType.Int16 or DataType.UInt16 => DataType.Float32,
                DataType.Bool => DataType.Float32,
                _ => DataType.Float64,
            };
        }

        double? scale = attributes.TryGetValue("scale_factor", out AttributeValue sf) ? sf.AsDouble() : null;
        double? offset = attributes.TryGetValue("add_offset", out AttributeValue ao) ? ao.AsDouble() : null;
        if (scale is not null || offset is not null)
        {
            // xarray's _choose_float_dtype.
            if (decoded is DataType.Float16 or DataType.Float32)
            {
                decoded = DataType.Float32;
            }
            else if (decoded.Size() <= 2 && decoded.IsInteger() && offset is null)
            {
                decoded = DataType.Float32;
            }
            else
            {
                decoded = DataType.Float64;
            }
        }

        return new CfDecoding(storedType, raw, [.. fills], scale, offset, decoded);
    }

    private static void AddFills(List<double> fills, double[]? values, DataType raw, DataType stored)
    {
        if (values is null)
        {
            return;
        }

        foreach (double v in values)
        {
            if (double.IsNaN(v))
            {
                continue;
            }

            double x = v;

            // A signed fill on an _Unsigned variable is reinterpreted like the data (xarray casts it to the unsigned type).
            if (raw != stored && raw.IsInteger() && x < 0)
            {
                x += Math.Pow(2, 8 * raw.Size());
            }

            if (!fills.Contains(x))
            {
                fills.Add(x);
            }
        }
    }

    /// <summary>
    /// Decodes raw native-endian elements of <see cref="RawType"/> into <paramref name="destination"/> (float or double).
    /// </summary>
    internal void Decode<TOut>(ReadOnlySpan<byte> raw, Span<TOut> destination)
        where TOut : unmanaged, IFloatingPointIeee754<TOut>
    {
        if (DecodedType == DataType.Float64)
        {
            DecodeVia<double, TOut>(raw, destination);
        }
        else if (DecodedType.IsInteger())
        {
            // Nothing to mask or scale: convert straight to the requested type.
            DecodeVia<TOut, TOut>(raw, destination);
        }
        else
        {
            DecodeVia<float, TOut>(raw, destination);
        }
    }

    private void DecodeVia<TDec, TOut>(ReadOnlySpan<byte> raw, Span<TOut> destination)
        where TDec : unmanaged, IFloatingPointIeee754<TDec>
        where TOut : unmanaged, IFloatingPointIeee754<TOut>
    {
        switch (RawType)
        {
            case DataType.Bool:
            case DataType.UInt8:
                Kernel<byte, TDec, TOut>(raw, destination);
                break;
            case DataType.Int8:
                Kernel<sbyte, TDec, TOut>(raw, destination);
                break;
            case DataType.Int16:
                Kernel<short, TDec, TOut>(raw, destination);
                break;
            case DataType.UInt16:
                Kernel<ushort, TDec, TOut>(raw, destination);
                break;
            case DataType.Int32:
                Kernel<int, TDec, TOut>(raw, destination);
                break;
            case DataType.UInt32:
                Kernel<uint, TDec, TOut>(raw, destination);
                break;
            case DataType.Int64:
                Kernel<long, TDec, TOut>(raw, destination);
                break;
            case DataType.UInt64:
                Kernel<ulong, TDec, TOut>(raw, destination);
                break;
            case DataType.Float16:
                Kernel<Half, TDec, TOut>(raw, destination);
                break;
            case DataType.Float32:
                Kernel<float, TDec, TOut>(raw, destination);
                break;
            case DataType.Float64:
                Kernel<double, TDec, TOut>(raw, destination);
                break;
            default:
                throw new NotSupportedException($"cannot decode {RawType} as numbers");
        }
    }

    /// <summary>
    /// float→float / double→double with up to two fill values: vectorised compare, multiply, add and
    /// select (multiply and add stay separate roundings, as NumPy does them).
    /// </summary>
    private void SimdSameType<T>(ReadOnlySpan<T> raw, Span<T> destination)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int nf = _fillValues.Length;
        T f0 = nf > 0 ? T.CreateTruncating(_fillValues[0]) : T.NaN;
        T f1 = nf > 1 ? T.CreateTruncating(_fillValues[1]) : T.NaN;
        bool hasScale = ScaleFactor is not null;
        bool hasOffset = AddOffset is not null;
        T scale = T.CreateTruncating(ScaleFactor ?? 1.0);
        T offset = T.CreateTruncating(AddOffset ?? 0.0);
        int i = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated && raw.Length >= System.Numerics.Vector<T>.Count)
        {
            var vf0 = new System.Numerics.Vector<T>(f0);
            var vf1 = new System.Numerics.Vector<T>(f1);
            var vs = new System.Numerics.Vector<T>(scale);
            var vo = new System.Numerics.Vector<T>(offset);
            var nan = new System.Numerics.Vector<T>(T.NaN);
            ReadOnlySpan<System.Numerics.Vector<T>> src = MemoryMarshal.Cast<T, System.Numerics.Vector<T>>(raw);
            Span<System.Numerics.Vector<T>> dst = MemoryMarshal.Cast<T, System.Numerics.Vector<T>>(destination);
            if (!hasScale && !hasOffset && Unsafe.AreSame(ref MemoryMarshal.GetReference(raw), ref MemoryMarshal.GetReference(destination)))
            {
                // Masking in place (decompressed straight into the output): only vectors holding a fill value are written.
                for (int k = 0; k < src.Length; k++)
                {
                    System.Numerics.Vector<T> v = src[k];
                    System.Numerics.Vector<T> mask = System.Numerics.Vector.Equals(v, vf0) | System.Numerics.Vector.Equals(v, vf1);
                    if (mask != System.Numerics.Vector<T>.Zero)
                    {
                        dst[k] = System.Numerics.Vector.ConditionalSelect(mask, nan, v);
                    }
                }

                src = [];
            }

            for (int k = 0; k < src.Length; k++)
            {
                System.Numerics.Vector<T> v = src[k];
                System.Numerics.Vector<T> mask = System.Numerics.Vector.Equals(v, vf0) | System.Numerics.Vector.Equals(v, vf1);
                if (hasScale)
                {
                    v *= vs;
                }

                if (hasOffset)
                {
                    v += vo;
                }

                dst[k] = System.Numerics.Vector.ConditionalSelect(mask, nan, v);
            }

            i = dst.Length * System.Numerics.Vector<T>.Count;
        }

        for (; i < raw.Length; i++)
        {
            T v = raw[i];
            if (v == f0 || v == f1)
            {
                v = T.NaN;
            }
            else
            {
                if (hasScale)
                {
                    v *= scale;
                }

                if (hasOffset)
                {
                    v += offset;
                }
            }

            destination[i] = v;
        }
    }

    private void Kernel<TRaw, TDec, TOut>(ReadOnlySpan<byte> rawBytes, Span<TOut> destination)
        where TRaw : unmanaged, INumberBase<TRaw>
        where TDec : unmanaged, IFloatingPointIeee754<TDec>
        where TOut : unmanaged, IFloatingPointIeee754<TOut>
    {
        ReadOnlySpan<TRaw> raw = MemoryMarshal.Cast<byte, TRaw>(rawBytes);
        int n = Math.Min(raw.Length, destination.Length);

        // Fast path: float32 stored, float32 wanted, nothing to mask or scale.
        if (typeof(TRaw) == typeof(TOut) && IsIdentity)
        {
            ReadOnlySpan<TOut> same = MemoryMarshal.Cast<TRaw, TOut>(raw[..n]);
            if (!Unsafe.AreSame(ref MemoryMarshal.GetReference(same), ref MemoryMarshal.GetReference(destination)))
            {
                same.CopyTo(destination); // decoded in place already when the chunk decompressed into the output
            }

            return;
        }

        int nf = _fillValues.Length;
        if (nf <= 2 && typeof(TRaw) == typeof(TDec) && typeof(TDec) == typeof(TOut) && (typeof(TOut) == typeof(float) || typeof(TOut) == typeof(double)))
        {
            SimdSameType(MemoryMarshal.Cast<TRaw, TOut>(raw[..n]), destination[..n]);
            return;
        }

        TDec f0 = nf > 0 ? TDec.CreateTruncating(_fillValues[0]) : TDec.NaN;
        TDec f1 = nf > 1 ? TDec.CreateTruncating(_fillValues[1]) : TDec.NaN;
        bool hasScale = ScaleFactor is not null;
        bool hasOffset = AddOffset is not null;
        TDec scale = TDec.CreateTruncating(ScaleFactor ?? 1.0);
        TDec offset = TDec.CreateTruncating(AddOffset ?? 0.0);

        if (nf <= 2)
        {
            for (int i = 0; i < n; i++)
            {
                TDec v = TDec.CreateTruncating(raw[i]);
                if (v == f0 || v == f1)
                {
                    v = TDec.NaN;
                }
                else
                {
                    if (hasScale)
                    {
                        v *= scale;
                    }

                    if (hasOffset)
                    {
                        v += offset;
                    }
                }

                destination[i] = TOut.CreateTruncating(v);
            }

            return;
        }

        Span<TDec> fills = nf <= 16 ? stackalloc TDec[nf] : new TDec[nf];
        for (int k = 0; k < nf; k++)
        {
            fills[k] = TDec.CreateTruncating(_fillValues[k]);
        }

        for (int i = 0; i < n; i++)
        {
            TDec v = TDec.CreateTruncating(raw[i]);
            bool masked = false;
            for (int k = 0; k < nf; k++)
            {
                masked |= v == fills[k];
            }

            if (masked)
            {
                v = TDec.NaN;
            }
            else
            {
                if (hasScale)
                {
                    v *= scale;
                }

                if (hasOffset)
                {
                    v += offset;
                }
            }

            destination[i] = TOut.CreateTruncating(v);
        }
    }
}
