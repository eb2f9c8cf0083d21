using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Proxima.Arrays.Storage;
using Proxima.Arrays.Zarr;

namespace Proxima.Arrays.Kerchunk;

/// <summary>
/// A kerchunk reference set (version 0 or 1: templates, <c>gen</c>, inline text and base64) as a
/// read-only <see cref="IStorage"/> of Zarr keys. References to byte ranges are read from the storage
/// the reference file lives in (relative paths, absolute paths inside a POSIX root, or s3:// URLs in
/// an S3 storage's bucket), or through a caller-supplied resolver.
/// </summary>
public sealed class KerchunkStorage : IStorage
{
    private const int MaxReferences = 5_000_000;

    private readonly Dictionary<string, Reference> _refs;
    private readonly string _location;
    private readonly Func<string, (IStorage Storage, string Key)> _resolve;

    private KerchunkStorage(Dictionary<string, Reference> refs, string location, Func<string, (IStorage, string)> resolve)
    {
        _refs = refs;
        _location = location;
        _resolve = resolve;
    }

    private readonly record struct Reference(byte[]? Inline, string? Url, long Offset, long Length);

    /// <summary>Number of keys in the reference set (after expanding <c>gen</c>).</summary>
    public int Count => _refs.Count;

    /// <summary>
    /// Loads the references in <paramref name="refsKey"/> of <paramref name="storage"/>.
    /// <paramref name="resolveUrl"/> maps a referenced URL to a storage and key; by default URLs are
    /// resolved inside <paramref name="storage"/> (escaping it is an error).
    /// </summary>
    public static async Task<KerchunkStorage> OpenAsync(IStorage storage, string refsKey, Func<string, (IStorage Storage, string Key)>? resolveUrl = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(storage);
        string location = storage.Describe(refsKey);
        byte[] bytes = await storage.ReadAllBytesAsync(refsKey, StorageExtensions.MaxMetadataBytes, cancellationToken).ConfigureAwait(false)
            ?? throw new ArrayFormatException(location, "reference file does not exist");
        JsonElement root = ZarrJson.RequireObject(ZarrJson.Parse(bytes, location), location, "kerchunk references");
        string baseDir = refsKey.Contains('/', StringComparison.Ordinal) ? refsKey[..refsKey.LastIndexOf('/')] : "";
        resolveUrl ??= url => DefaultResolve(storage, baseDir, url, location);

        var refs = new Dictionary<string, Reference>(StringComparer.Ordinal);
        var templates = new Dictionary<string, string>(StringComparer.Ordinal);
        JsonElement refsObj = root;
        if (root.TryGetProperty("version", out JsonElement version))
        {
            if (version.ValueKind != JsonValueKind.Number || version.GetInt32() != 1)
            {
                throw new ArrayFormatException(location, $"unsupported kerchunk version {version.GetRawText()}");
            }

            if (root.TryGetProperty("templates", out JsonElement t) && t.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty p in t.EnumerateObject())
                {
                    templates[p.Name] = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText();
                }
            }

            refsObj = root.TryGetProperty("refs", out JsonElement r) && r.ValueKind == JsonValueKind.Object ? r : throw new ArrayFormatException(location, "version 1 references need a 'refs' object");
            if (root.TryGetProperty("gen", out JsonElement gen) && gen.ValueKind == JsonValueKind.Array)
            {
                foreach (JsonElement g in gen.EnumerateArray())
                {
                    ExpandGen(g, templates, refs, location);
                }
            }
        }

        foreach (JsonProperty p in refsObj.EnumerateObject())
        {
            if (refs.Count >= MaxReferences)
            {
                throw new ArrayFormatException(location, $"more than {MaxReferences} references");
            }

            refs[p.Name] = ParseReference(p.Name, p.Value, templates, location);
        }

        return new KerchunkStorage(refs, location, resolveUrl);
    }

    private static Reference ParseReference(string key, JsonElement v, Dictionary<string, string> templates, string location)
    {
        switch (v.ValueKind)
        {
            case JsonValueKind.String:
                {
                    string s = v.GetString()!;
                    if (s.StartsWith("base64:", StringComparison.Ordinal))
                    {
                        try
                        {
                            return new Reference(Convert.FromBase64String(s[7..]), null, 0, -1);
                        }
                        catch (FormatException e)
                        {
                            throw new ArrayFormatException(location, $"reference '{key}' has invalid base64", e);
                        }
                    }

                    return new Reference(Encoding.UTF8.GetBytes(s), null, 0, -1);
                }

            case JsonValueKind.Object:
                // Inline JSON (e.g. a .zarray written as an object).
                return new Reference(Encoding.UTF8.GetBytes(v.GetRawText()), null, 0, -1);
            case JsonValueKind.Array:
                {
                    int n = v.GetArrayLength();
                    if (n is not (1 or 3) || v[0].ValueKind != JsonValueKind.String)
                    {
                        throw new ArrayFormatException(location, $"reference '{key}' must be [url] or [url, offset, length]");
                    }

                    string url = Render(v[0].GetString()!, templates, null, location);
                    if (n == 1)
                    {
                        return new Reference(null, url, 0, -1);
                    }

                    if (!v[1].TryGetInt64(out long off) || !v[2].TryGetInt64(out long len) || off < 0 || len < 0)
                    {
                        throw new ArrayFormatException(location, $"reference '{key}' has a bad offset or length");
                    }

                    return new Reference(null, url, off, len);
                }

            default:
                throw new ArrayFormatException(location, $"reference '{key}' has unsupported value {v.GetRawText()}");
        }
    }

    private static void ExpandGen(JsonElement g, Dictionary<string, string> templates, Dictionary<string, Reference> refs, string location)
    {
        string keyT = g.GetProperty("key").GetString()!;
        string urlT = g.GetProperty("url").GetString()!;
        string? offT = g.TryGetProperty("offset", out JsonElement o) ? o.ValueKind == JsonValueKind.String ? o.GetString() : o.GetRawText() : null;
        string? lenT = g.TryGetProperty("length", out JsonElement l) ? l.ValueKind == JsonValueKind.String ? l.GetString() : l.GetRawText() : null;
        if ((offT is null) != (lenT is null))
        {
            throw new ArrayFormatException(location, "a gen entry needs both 'offset' and 'length' or neither");
        }

        var names = new List<string>();
        var values = new List<long[]>();
        foreach (JsonProperty d in g.GetProperty("dimensions").EnumerateObject())
        {
            names.Add(d.Name);
            if (d.Value.ValueKind == JsonValueKind.Array)
            {
                values.Add([.. d.Value.EnumerateArray().Select(x => x.GetInt64())]);
            }
            else
            {
                long start = d.Value.TryGetProperty("start", out JsonElement s) ? s.GetInt64() : 0;
                long stop = d.Value.GetProperty("stop").GetInt64();
                long step = d.Value.TryGetProperty("step", out JsonElement st) ? st.GetInt64() : 1;
                if (step <= 0 || (stop - start) / step > MaxReferences)
                {
                    throw new ArrayFormatException(location, $"gen dimension '{d.Name}' is empty or too large");
                }

                var list = new List<long>();
                for (long x = start; x < stop; x += step)
                {
                    list.Add(x);
                }

                values.Add([.. list]);
            }
        }

        var idx = new int[names.Count];
        var vars = new Dictionary<string, long>(StringComparer.Ordinal);
        while (true)
        {
            for (int i = 0; i < names.Count; i++)
            {
                if (values[i].Length == 0)
                {
                    return;
                }

                vars[names[i]] = values[i][idx[i]];
            }

            if (refs.Count >= MaxReferences)
            {
                throw new ArrayFormatException(location, $"gen expands to more than {MaxReferences} references");
            }

            string key = Render(keyT, templates, vars, location);
            string url = Render(urlT, templates, vars, location);
            refs[key] = offT is null
                ? new Reference(null, url, 0, -1)
                : new Reference(null, url, long.Parse(Render(offT, templates, vars, location), CultureInfo.InvariantCulture), long.Parse(Render(lenT!, templates, vars, location), CultureInfo.InvariantCulture));

            int k = names.Count - 1;
            while (k >= 0 && ++idx[k] >= values[k].Length)
            {
                idx[k] = 0;
                k--;
            }

            if (k < 0)
            {
                return;
            }
        }
    }

    /// <summary>Renders <c>{{ expr }}</c> placeholders: template names, gen variables, integer arithmetic (+ - * // % and parentheses).</summary>
    internal static string Render(string text, Dictionary<string, string> templates, Dictionary<string, long>? vars, string location)
    {
        if (!text.Contains("{{", StringComparison.Ordinal))
        {
            return text;
        }

        var sb = new StringBuilder();
        int pos = 0;
        while (pos < text.Length)
        {
            int open = text.IndexOf("{{", pos, StringComparison.Ordinal);
            if (open < 0)
            {
                sb.Append(text, pos, text.Length - pos);
                break;
            }

            int close = text.IndexOf("}}", open, StringComparison.Ordinal);
            if (close < 0)
            {
                throw new ArrayFormatException(location, $"unclosed '{{{{' in '{text}'");
            }

            sb.Append(text, pos, open - pos);
            string expr = text[(open + 2)..close].Trim();
            if (templates.TryGetValue(expr, out string? t))
            {
                sb.Append(t);
            }
            else
            {
                sb.Append(new Expr(expr, vars, location).Evaluate().ToString(CultureInfo.InvariantCulture));
            }

            pos = close + 2;
        }

        return sb.ToString();
    }

    private ref struct Expr
    {
        private readonly ReadOnlySpan<char> _s;
        private readonly Dictionary<string, long>? _vars;
        private readonly string _location;
        private int _p;

        public Expr(string s, Dictionary<string, long>? vars, string location)
        {
            _s = s;
            _vars = vars;
            _location = location;
            _p = 0;
        }

        public long Evaluate()
        {
            long v = Sum();
            Skip();
            if (_p != _s.Length)
            {
                throw Error();
            }

            return v;
        }

        private long Sum()
        {
            long v = Product();
            while (true)
            {
                Skip();
                if (_p < _s.Length && _s[_p] is '+' or '-')
                {
                    char op = _s[_p++];
                    long r = Product();
                    v = op == '+' ? checked(v + r) : checked(v - r);
                }
                else
                {
                    return v;
                }
            }
        }

        private long Product()
        {
            long v = Atom();
            while (true)
            {
                Skip();
                if (_p < _s.Length && _s[_p] is '*' or '%' or '/')
                {
                    char op = _s[_p++];
                    if (op == '/' && _p < _s.Length && _s[_p] == '/')
                    {
                        _p++;
                    }

                    long r = Atom();
                    v = op switch
                    {
                        '*' => checked(v * r),
                        '%' => r == 0 ? throw Error() : v % r,
                        _ => r == 0 ? throw Error() : CfFloorDiv(v, r),
                    };
                }
                else
                {
                    return v;
                }
            }
        }

        private static long CfFloorDiv(long a, long b) => (long)Math.Floor((double)a / b);

        private long Atom()
        {
            Skip();
            if (_p >= _s.Length)
            {
                throw Error();
            }

            if (_s[_p] == '(')
            {
                _p++;
                long v = Sum();
                Skip();
                if (_p >= _s.Length || _s[_p] != ')')
                {
                    throw Error();
                }

                _p++;
                return v;
            }

            if (_s[_p] == '-')
            {
                _p++;
                return -Atom();
            }

            int start = _p;
            if (char.IsAsciiDigit(_s[_p]))
            {
                while (_p < _s.Length && char.IsAsciiDigit(_s[_p]))
                {
                    _p++;
                }

                return long.Parse(_s[start.._p], CultureInfo.InvariantCulture);
            }

            while (_p < _s.Length && (char.IsAsciiLetterOrDigit(_s[_p]) || _s[_p] == '_'))
            {
                _p++;
            }

            string name = _s[start.._p].ToString();
            if (name.Length == 0 || _vars is null || !_vars.TryGetValue(name, out long value))
            {
                throw Error();
            }

            return value;
        }

        private void Skip()
        {
            while (_p < _s.Length && _s[_p] == ' ')
            {
                _p++;
            }
        }

        private readonly ArrayFormatException Error() => new(_location, $"unsupported template expression '{_s.ToString()}'");
    }

    private static (IStorage, string) DefaultResolve(IStorage storage, string baseDir, string url, string location)
    {
        if (url.StartsWith("s3://", StringComparison.OrdinalIgnoreCase))
        {
            if (storage is S3Storage s3)
            {
                string rest = url[5..];
                int slash = rest.IndexOf('/', StringComparison.Ordinal);
                string bucket = slash < 0 ? rest : rest[..slash];
                string key = slash < 0 ? "" : rest[(slash + 1)..];
                string prefix = s3.Prefix.Length == 0 ? "" : s3.Prefix + "/";
                if (bucket == s3.Bucket && key.StartsWith(prefix, StringComparison.Ordinal))
                {
                    return (storage, key[prefix.Length..]);
                }
            }

            throw new StorageException(location, $"reference '{url}' lies outside this storage; pass a resolver");
        }

        string path = url.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? url[7..] : url;
        if (path.StartsWith('/'))
        {
            if (storage is PosixStorage posix && path.StartsWith(posix.Root + "/", StringComparison.Ordinal))
            {
                return (storage, path[(posix.Root.Length + 1)..]);
            }

            throw new StorageException(location, $"reference '{url}' lies outside the storage root");
        }

        if (path.Contains("://", StringComparison.Ordinal))
        {
            throw new StorageException(location, $"reference '{url}' uses an unsupported protocol");
        }

        return (storage, StorageExtensions.Join(baseDir, path));
    }

    /// <inheritdoc />
    public string Describe(string key) => $"{_location}#{key}";

    /// <inheritdoc />
    public async ValueTask<IMemoryOwner<byte>?> ReadAsync(string key, long offset, long? length, long maxBytes, CancellationToken cancellationToken)
    {
        if (!_refs.TryGetValue(key, out Reference r))
        {
            return null;
        }

        if (r.Inline is byte[] inline)
        {
            long start = Math.Min(offset, inline.Length);
            long n = Math.Min(length ?? long.MaxValue, inline.Length - start);
            if (n > maxBytes)
            {
                throw new StorageException(Describe(key), $"object of {n} bytes exceeds the allowed {maxBytes} bytes");
            }

            var buf = new PooledBuffer((int)n);
            inline.AsSpan((int)start, (int)n).CopyTo(buf.Span);
            return buf;
        }

        (IStorage target, string targetKey) = _resolve(r.Url!);
        long refOffset = r.Offset + offset;
        long? refLength = r.Length < 0 ? length : Math.Max(0, Math.Min(length ?? long.MaxValue, r.Length - offset));
        IMemoryOwner<byte>? data = await target.ReadAsync(targetKey, refOffset, refLength, maxBytes, cancellationToken).ConfigureAwait(false);
        if (data is null)
        {
            throw new StorageException(Describe(key), $"referenced file {target.Describe(targetKey)} does not exist");
        }

        return data;
    }

    /// <inheritdoc />
    public async ValueTask<long?> GetSizeAsync(string key, CancellationToken cancellationToken)
    {
        if (!_refs.TryGetValue(key, out Reference r))
        {
            return null;
        }

        if (r.Inline is not null)
        {
            return r.Inline.Length;
        }

        if (r.Length >= 0)
        {
            return r.Length;
        }

        (IStorage target, string targetKey) = _resolve(r.Url!);
        return await target.GetSizeAsync(targetKey, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<StorageEntry> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string p = prefix.Trim('/');
        string start = p.Length == 0 ? "" : p + "/";
        var seen = new SortedDictionary<string, bool>(StringComparer.Ordinal);
        foreach (string key in _refs.Keys)
        {
            if (!key.StartsWith(start, StringComparison.Ordinal) || key.Length == start.Length)
            {
                continue;
            }

            string rest = key[start.Length..];
            int slash = rest.IndexOf('/', StringComparison.Ordinal);
            if (slash < 0)
            {
                seen.TryAdd(rest, false);
            }
            else
            {
                seen[rest[..slash]] = true;
            }
        }

        foreach ((string name, bool isPrefix) in seen)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return new StorageEntry(StorageExtensions.Join(p, name), name, isPrefix, 0, null);
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }
}
