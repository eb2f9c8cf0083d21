namespace Proxima.Arrays.Storage;

/// <summary>Rejects keys that could address something outside a storage root.</summary>
internal static class KeyValidator
{
    /// <summary>Returns the key normalised (no leading/trailing '/', no empty or '.' segments), or throws.</summary>
    public static string Normalize(string key, Func<string, string> describe)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0)
        {
            return key;
        }

        if (key[0] == '/' || key.Contains('\\', StringComparison.Ordinal) || key.Contains('\0', StringComparison.Ordinal))
        {
            throw new StorageException(describe(key), "key must be relative, '/'-separated and free of '\\' and NUL");
        }

        bool needsRebuild = false;
        foreach (Range r in key.AsSpan().Split('/'))
        {
            ReadOnlySpan<char> seg = key.AsSpan()[r];
            if (seg is "..")
            {
                throw new StorageException(describe(key), "key escapes the storage root ('..' segment)");
            }

            if (seg.Length == 0 || seg is ".")
            {
                needsRebuild = true;
            }
        }

        if (!needsRebuild)
        {
            return key;
        }

        var parts = new List<string>();
        foreach (string seg in key.Split('/'))
        {
            if (seg.Length != 0 && seg != ".")
            {
                parts.Add(seg);
            }
        }

        return string.Join('/', parts);
    }
}
