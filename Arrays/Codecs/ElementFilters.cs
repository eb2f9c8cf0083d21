using System.Numerics;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Proxima.Arrays.Codecs;

/// <summary>numcodecs filters that work element by element (delta, fixedscaleoffset, astype, quantize, bitround).</summary>
internal static class ElementFilters
{
    public static IBytesCodec? Create(string id, JsonElement config, string location)
    {
        switch (id)
        {
            case "delta":
                {
                    (DataType dec, bool decBig) = Dtype(config, "dtype", location);
                    (DataType enc, bool encBig) = config.TryGetProperty("astype", out JsonElement a) && a.ValueKind == JsonValueKind.String ? Dtype(config, "astype", location) : (dec, decBig);
                    return new ElementFilter("delta", ElementFilter.Mode.Delta, enc, encBig, dec, decBig, 1, 0);
                }

            case "fixedscaleoffset":
                {
                    (DataType dec, bool decBig) = Dtype(config, "dtype", location);
                    (DataType enc, bool encBig) = config.TryGetProperty("astype", out JsonElement a) && a.ValueKind == JsonValueKind.String ? Dtype(config, "astype", location) : (dec, decBig);
                    double scale = NumcodecsFactory.GetDouble(config, "scale") ?? 1;
                    double offset = NumcodecsFactory.GetDouble(config, "offset") ?? 0;
                    return new ElementFilter("fixedscaleoffset", ElementFilter.Mode.FixedScaleOffset, enc, encBig, dec, decBig, scale, offset);
                }

            case "astype":
                {
                    (DataType dec, bool decBig) = Dtype(config, "decode_dtype", location);
                    (DataType enc, bool encBig) = Dtype(config, "encode_dtype", location);
                    return new ElementFilter("astype", ElementFilter.Mode.AsType, enc, encBig, dec, decBig, 1, 0);
                }

            case "quantize":
                {
                    (DataType dec, bool decBig) = Dtype(config, "dtype", location);
                    (DataType enc, bool encBig) = config.TryGetProperty("astype", out JsonElement a) && a.ValueKind == JsonValueKind.String ? Dtype(config, "astype", location) : (dec, decBig);
                    return new ElementFilter("quantize", ElementFilter.Mode.AsType, enc, encBig, dec, decBig, 1, 0);
                }

            case "bitround":
                return new IdentityCodec("bitround");
            default:
                return null;
        }
    }

    private static (DataType Type, bool BigEndian) Dtype(JsonElement config, string name, string location)
    {
        string? s = NumcodecsFactory.GetString(config, name);
        if (s is null)
        {
            throw new ArrayFormatException(location, $"filter '{NumcodecsFactory.GetString(config, "id")}' lacks '{name}'");
        }

        if (!s.StartsWith('<') && !s.StartsWith('>') && !s.StartsWith('|'))
        {
            // NumPy names ("float32") are accepted too.
            DataType? t = DataTypes.FromNumpyName(s);
            if (t is null)
            {
                throw new ArrayFormatException(location, $"filter dtype '{s}' is not a plain number type");
            }

            return (t.Value, false);
        }

        return DataTypes.TryParseTypestr(s, out DataType type, out bool big)
            ? (type, big)
            : throw new ArrayFormatException(location, $"filter dtype '{s}' is not a plain number type");
    }
}

/// <summary>A filter that decodes nothing (bitround only drops mantissa bits when encoding).</summary>
internal sealed class IdentityCodec(string name) : IBytesCodec
{
    public string Name => name;

    public int EncodedLength(int decodedLength) => decodedLength;

    public int Decode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (source.Length != destination.Length)
        {
            throw new CodecException(source.Length > destination.Length ? ChunkErrorKind.ExceedsExpectedSize : ChunkErrorKind.Truncated, $"{name}: {source.Length} bytes, expected {destination.Length}");
        }

        source.CopyTo(destination);
        return source.Length;
    }

    public byte[] Encode(ReadOnlySpan<byte> source) => source.ToArray();
}

/// <summary>Element-wise decode from an encoded dtype to a decoded dtype (numcodecs semantics).</summary>
internal sealed class ElementFilter : IBytesCodec
{
    internal enum Mode
    {
        AsType,
        Delta,
        FixedScaleOffset,
    }

    private readonly Mode _mode;
    private readonly DataType _enc;
    private readonly bool _encBig;
    private readonly DataType _dec;
    private readonly bool _decBig;
    private readonly double _scale;
    private readonly double _offset;

    public ElementFilter(string name, Mode mode, DataType enc, bool encBig, DataType dec, bool decBig, double scale, double offset)
    {
        Name = name;
        _mode = mode;
        _enc = enc;
        _encBig = encBig && enc.Size() > 1;
        _dec = dec;
        _decBig = decBig && dec.Size() > 1;
        _scale = scale;
        _offset = offset;
    }

    public string Name { get; }

    public int EncodedLength(int decodedLength) => decodedLength / _dec.Size() * _enc.Size();

    public int Decode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        int n = destination.Length / _dec.Size();
        if (source.Length != n * _enc.Size())
        {
            throw new CodecException(source.Length > n * _enc.Size() ? ChunkErrorKind.ExceedsExpectedSize : ChunkErrorKind.Truncated, $"{Name}: {source.Length} encoded bytes for {n} elements of {_enc.NumpyName()}");
        }

        byte[]? swapped = null;
        try
        {
            if (_encBig)
            {
                swapped = System.Buffers.ArrayPool<byte>.Shared.Rent(source.Length);
                source.CopyTo(swapped);
                Zarr.ZarrV2Array.SwapInPlace(swapped.AsSpan(0, source.Length), _enc.Size());
                source = swapped.AsSpan(0, source.Length);
            }

            DispatchEnc(source, destination);
            if (_decBig)
            {
                Zarr.ZarrV2Array.SwapInPlace(destination, _dec.Size());
            }

            return destination.Length;
        }
        finally
        {
            if (swapped is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(swapped);
            }
        }
    }

    public byte[] Encode(ReadOnlySpan<byte> source) =>
        throw new NotSupportedException($"encoding with '{Name}' is not supported");

    private void DispatchEnc(ReadOnlySpan<byte> s, Span<byte> d)
    {
        switch (_enc)
        {
            case DataType.Bool:
            case DataType.UInt8: DispatchDec<byte>(s, d); break;
            case DataType.Int8: DispatchDec<sbyte>(s, d); break;
            case DataType.Int16: DispatchDec<short>(s, d); break;
            case DataType.UInt16: DispatchDec<ushort>(s, d); break;
            case DataType.Int32: DispatchDec<int>(s, d); break;
            case DataType.UInt32: DispatchDec<uint>(s, d); break;
            case DataType.Int64: DispatchDec<long>(s, d); break;
            case DataType.UInt64: DispatchDec<ulong>(s, d); break;
            case DataType.Float16: DispatchDec<Half>(s, d); break;
            case DataType.Float32: DispatchDec<float>(s, d); break;
            case DataType.Float64: DispatchDec<double>(s, d); break;
            default: throw new CodecException(ChunkErrorKind.Corrupt, $"{Name}: unsupported dtype");
        }
    }

    private void DispatchDec<TEnc>(ReadOnlySpan<byte> s, Span<byte> d)
        where TEnc : unmanaged, INumberBase<TEnc>
    {
        ReadOnlySpan<TEnc> enc = MemoryMarshal.Cast<byte, TEnc>(s);
        switch (_dec)
        {
            case DataType.Bool:
            case DataType.UInt8: Core(enc, MemoryMarshal.Cast<byte, byte>(d)); break;
            case DataType.Int8: Core(enc, MemoryMarshal.Cast<byte, sbyte>(d)); break;
            case DataType.Int16: Core(enc, MemoryMarshal.Cast<byte, short>(d)); break;
            case DataType.UInt16: Core(enc, MemoryMarshal.Cast<byte, ushort>(d)); break;
            case DataType.Int32: Core(enc, MemoryMarshal.Cast<byte, int>(d)); break;
            case DataType.UInt32: Core(enc, MemoryMarshal.Cast<byte, uint>(d)); break;
            case DataType.Int64: Core(enc, MemoryMarshal.Cast<byte, long>(d)); break;
            case DataType.UInt64: Core(enc, MemoryMarshal.Cast<byte, ulong>(d)); break;
            case DataType.Float16: Core(enc, MemoryMarshal.Cast<byte, Half>(d)); break;
            case DataType.Float32: Core(enc, MemoryMarshal.Cast<byte, float>(d)); break;
            case DataType.Float64: Core(enc, MemoryMarshal.Cast<byte, double>(d)); break;
            default: throw new CodecException(ChunkErrorKind.Corrupt, $"{Name}: unsupported dtype");
        }
    }

    private void Core<TEnc, TDec>(ReadOnlySpan<TEnc> enc, Span<TDec> dec)
        where TEnc : unmanaged, INumberBase<TEnc>
        where TDec : unmanaged, INumberBase<TDec>
    {
        switch (_mode)
        {
            case Mode.AsType:
                for (int i = 0; i < dec.Length; i++)
                {
                    dec[i] = TDec.CreateTruncating(enc[i]);
                }

                break;
            case Mode.Delta:
                {
                    TDec acc = TDec.Zero;
                    for (int i = 0; i < dec.Length; i++)
                    {
                        acc += TDec.CreateTruncating(enc[i]);
                        dec[i] = acc;
                    }

                    break;
                }

            default:
                for (int i = 0; i < dec.Length; i++)
                {
                    dec[i] = TDec.CreateTruncating((double.CreateTruncating(enc[i]) / _scale) + _offset);
                }

                break;
        }
    }
}
