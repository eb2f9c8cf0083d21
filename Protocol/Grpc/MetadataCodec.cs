using System.Buffers;
using System.Buffers.Text;

namespace Proxima.Protocol.Grpc;

/// <summary>Wire form of metadata values: text as-is, <c>-bin</c> values as base64.</summary>
internal static class MetadataCodec
{
    /// <summary>Header value for an entry; binary values are emitted unpadded, as the spec suggests.</summary>
    public static string EncodeValue(Metadata.Entry entry)
    {
        if (!entry.IsBinary)
        {
            return entry.Value;
        }

        var bytes = entry.ValueBytes;
        var s = Convert.ToBase64String(bytes);
        var end = s.Length;
        while (end > 0 && s[end - 1] == '=')
        {
            end--;
        }

        return end == s.Length ? s : s[..end];
    }

    /// <summary>Adds a received header to <paramref name="metadata"/>. Binary values are split on
    /// <c>,</c> (joined duplicates) and base64-decoded, padded or not; undecodable values are dropped.</summary>
    public static void AddReceived(Metadata metadata, string key, string value)
    {
        if (!Metadata.IsBinaryKey(key))
        {
            metadata.Add(Metadata.Entry.Received(key, value));
            return;
        }

        var span = value.AsSpan();
        while (true)
        {
            var comma = span.IndexOf(',');
            var part = (comma < 0 ? span : span[..comma]).Trim();
            if (TryDecodeBase64(part, out var bytes))
            {
                metadata.Add(Metadata.Entry.Received(key, bytes));
            }

            if (comma < 0)
            {
                break;
            }

            span = span[(comma + 1)..];
        }
    }

    internal static bool TryDecodeBase64(ReadOnlySpan<char> text, out byte[] bytes)
    {
        bytes = [];
        while (text.Length > 0 && text[^1] == '=')
        {
            text = text[..^1];
        }

        if (text.Length == 0)
        {
            return true;
        }

        if (text.Length % 4 == 1)
        {
            return false;
        }

        var padded = (text.Length + 3) / 4 * 4;
        var rented = ArrayPool<byte>.Shared.Rent(padded);
        try
        {
            for (var i = 0; i < text.Length; i++)
            {
                var c = text[i];
                if (c > 0x7F)
                {
                    return false;
                }

                // Accept the URL-safe alphabet too; some implementations emit it.
                rented[i] = c switch
                {
                    '-' => (byte)'+',
                    '_' => (byte)'/',
                    _ => (byte)c,
                };
            }

            for (var i = text.Length; i < padded; i++)
            {
                rented[i] = (byte)'=';
            }

            var output = new byte[Base64.GetMaxDecodedFromUtf8Length(padded)];
            var status = Base64.DecodeFromUtf8(rented.AsSpan(0, padded), output, out _, out var written);
            if (status != OperationStatus.Done)
            {
                return false;
            }

            bytes = written == output.Length ? output : output.AsSpan(0, written).ToArray();
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }
}
