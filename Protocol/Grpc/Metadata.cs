using System.Collections;
using System.Text;

namespace Proxima.Protocol.Grpc;

/// <summary>
/// gRPC custom metadata: an ordered list of key/value entries sent as HTTP/2 headers or trailers.
/// Keys are lower-case ASCII (<c>0-9 a-z - _ .</c>); keys ending in <c>-bin</c> carry binary values,
/// base64-encoded on the wire (sent unpadded, accepted padded or not).
/// </summary>
public sealed class Metadata : IList<Metadata.Entry>
{
    /// <summary>Suffix that marks a binary-valued key.</summary>
    public const string BinaryHeaderSuffix = "-bin";

    private readonly List<Entry> _entries = [];

    /// <summary>Number of entries.</summary>
    public int Count => _entries.Count;

    public bool IsReadOnly => false;

    public Entry this[int index]
    {
        get => _entries[index];
        set => _entries[index] = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Adds a text entry. Key must not end with <c>-bin</c>.</summary>
    public void Add(string key, string value) => _entries.Add(new Entry(key, value));

    /// <summary>Adds a binary entry. Key must end with <c>-bin</c>.</summary>
    public void Add(string key, byte[] valueBytes) => _entries.Add(new Entry(key, valueBytes));

    public void Add(Entry item) => _entries.Add(item ?? throw new ArgumentNullException(nameof(item)));

    /// <summary>The last entry with this key (case-insensitive), or null.</summary>
    public Entry? Get(string key)
    {
        for (var i = _entries.Count - 1; i >= 0; i--)
        {
            if (string.Equals(_entries[i].Key, key, StringComparison.OrdinalIgnoreCase))
            {
                return _entries[i];
            }
        }

        return null;
    }

    /// <summary>The text value of the last entry with this key, or null.</summary>
    public string? GetValue(string key) => Get(key)?.Value;

    /// <summary>The binary value of the last entry with this key, or null.</summary>
    public byte[]? GetValueBytes(string key) => Get(key)?.ValueBytes;

    public void Clear() => _entries.Clear();

    public bool Contains(Entry item) => _entries.Contains(item);

    public void CopyTo(Entry[] array, int arrayIndex) => _entries.CopyTo(array, arrayIndex);

    public IEnumerator<Entry> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => _entries.GetEnumerator();

    public int IndexOf(Entry item) => _entries.IndexOf(item);

    public void Insert(int index, Entry item) => _entries.Insert(index, item ?? throw new ArgumentNullException(nameof(item)));

    public bool Remove(Entry item) => _entries.Remove(item);

    public void RemoveAt(int index) => _entries.RemoveAt(index);

    internal static bool IsBinaryKey(string key) =>
        key.EndsWith(BinaryHeaderSuffix, StringComparison.OrdinalIgnoreCase);

    /// <summary>One metadata entry.</summary>
    public sealed class Entry
    {
        private readonly string? _value;
        private readonly byte[]? _valueBytes;

        public Entry(string key, string value)
        {
            Key = NormalizeKey(key);
            ArgumentNullException.ThrowIfNull(value);
            if (IsBinaryKey(Key))
            {
                throw new ArgumentException($"Metadata key '{Key}' ends with '-bin' and so needs a binary value.", nameof(key));
            }

            for (var i = 0; i < value.Length; i++)
            {
                // ASCII-Value: printable ASCII including space (gRPC spec).
                if (value[i] < 0x20 || value[i] > 0x7E)
                {
                    throw new ArgumentException($"Metadata value for '{Key}' has a non-printable or non-ASCII character at index {i}.", nameof(value));
                }
            }

            _value = value;
        }

        public Entry(string key, byte[] valueBytes)
        {
            Key = NormalizeKey(key);
            ArgumentNullException.ThrowIfNull(valueBytes);
            if (!IsBinaryKey(Key))
            {
                throw new ArgumentException($"Metadata key '{Key}' has a binary value and so must end with '-bin'.", nameof(key));
            }

            _valueBytes = valueBytes;
        }

        // Received entries: the key comes from the HTTP/2 header table (already lower-case) and the
        // value is accepted as-is, since the spec says receivers must not fail on odd values.
        private Entry(string key, string? value, byte[]? valueBytes)
        {
            Key = key;
            _value = value;
            _valueBytes = valueBytes;
        }

        internal static Entry Received(string key, string value) => new(key, value, null);

        internal static Entry Received(string key, byte[] valueBytes) => new(key, null, valueBytes);

        /// <summary>Lower-case key.</summary>
        public string Key { get; }

        /// <summary>True for keys ending in <c>-bin</c>.</summary>
        public bool IsBinary => _valueBytes is not null;

        /// <summary>The text value. Throws for binary entries.</summary>
        public string Value => _value ?? throw new InvalidOperationException($"Metadata entry '{Key}' is binary; use ValueBytes.");

        /// <summary>The binary value; for text entries, its ASCII bytes.</summary>
        public byte[] ValueBytes => _valueBytes ?? Encoding.ASCII.GetBytes(_value!);

        public override string ToString() => IsBinary ? $"{Key}: <{_valueBytes!.Length} bytes>" : $"{Key}: {_value}";

        private static string NormalizeKey(string key)
        {
            ArgumentException.ThrowIfNullOrEmpty(key);
            var lower = key.ToLowerInvariant();
            for (var i = 0; i < lower.Length; i++)
            {
                var c = lower[i];
                var ok = c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.';
                if (!ok)
                {
                    throw new ArgumentException($"Metadata key '{key}' has an invalid character '{c}' at index {i} (allowed: 0-9 a-z - _ .).", nameof(key));
                }
            }

            if (lower.StartsWith("grpc-", StringComparison.Ordinal))
            {
                throw new ArgumentException($"Metadata key '{key}' uses the reserved 'grpc-' prefix.", nameof(key));
            }

            return lower;
        }
    }
}
