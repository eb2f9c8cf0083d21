using System.Buffers;
using System.Text;

namespace Proxima.Protocol.Grpc;

/// <summary>Percent-encoding of <c>grpc-message</c>: UTF-8, then every byte outside
/// <c>%x20-%x7E</c> and <c>%</c> itself as <c>%XX</c>.</summary>
internal static class PercentEncoding
{
    private const string Hex = "0123456789ABCDEF";

    public static string Encode(string value)
    {
        var needs = false;
        foreach (var c in value)
        {
            if (c is < ' ' or > '~' or '%')
            {
                needs = true;
                break;
            }
        }

        if (!needs)
        {
            return value;
        }

        var maxBytes = Encoding.UTF8.GetMaxByteCount(value.Length);
        var rented = ArrayPool<byte>.Shared.Rent(maxBytes);
        try
        {
            var n = Encoding.UTF8.GetBytes(value, rented);
            var sb = new StringBuilder(n + 16);
            for (var i = 0; i < n; i++)
            {
                var b = rented[i];
                if (b is < 0x20 or > 0x7E or (byte)'%')
                {
                    sb.Append('%').Append(Hex[b >> 4]).Append(Hex[b & 0xF]);
                }
                else
                {
                    sb.Append((char)b);
                }
            }

            return sb.ToString();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Decodes; invalid <c>%</c> sequences are kept as-is and invalid UTF-8 becomes U+FFFD
    /// (the spec forbids failing on a bad status message).</summary>
    public static string Decode(string value)
    {
        if (!value.Contains('%', StringComparison.Ordinal))
        {
            return value;
        }

        var rented = ArrayPool<byte>.Shared.Rent(value.Length * 3);
        try
        {
            var n = 0;
            for (var i = 0; i < value.Length; i++)
            {
                var c = value[i];
                if (c == '%' && i + 2 < value.Length && TryHex(value[i + 1], out var hi) && TryHex(value[i + 2], out var lo))
                {
                    rented[n++] = (byte)((hi << 4) | lo);
                    i += 2;
                }
                else if (c < 0x80)
                {
                    rented[n++] = (byte)c;
                }
                else
                {
                    // Not valid on the wire, but keep it rather than drop it.
                    n += Encoding.UTF8.GetBytes(value.AsSpan(i, char.IsHighSurrogate(c) && i + 1 < value.Length ? 2 : 1), rented.AsSpan(n));
                    if (char.IsHighSurrogate(c) && i + 1 < value.Length)
                    {
                        i++;
                    }
                }
            }

            return Encoding.UTF8.GetString(rented, 0, n);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static bool TryHex(char c, out int v)
    {
        v = c switch
        {
            >= '0' and <= '9' => c - '0',
            >= 'A' and <= 'F' => c - 'A' + 10,
            >= 'a' and <= 'f' => c - 'a' + 10,
            _ => -1,
        };
        return v >= 0;
    }
}
