using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Proxima.Catalog;

namespace Proxima.CatalogSync.Discovery;

/// <summary>A dataset found on disk: where it is, what it looks like, and the stat-only fingerprint of its metadata.</summary>
/// <param name="RelativePath">Store path relative to the region root, '/'-separated (e.g. <c>reanalysis/era5/t2m.zarr</c>).</param>
/// <param name="Fingerprint">Hash of the metadata files' relative names, sizes and mtimes.</param>
/// <param name="Modified">Newest metadata mtime.</param>
internal sealed record DiscoveredStore(string RelativePath, DatasetFormat Format, string Fingerprint, DateTimeOffset Modified);

/// <summary>
/// Walks a region root for datasets without reading any file: a directory holding <c>.zmetadata</c>, <c>.zgroup</c> or
/// <c>.zarray</c> is a Zarr v2 store, one holding <c>zarr.json</c> a Zarr v3 store (not descended into);
/// <c>*.kerchunk.json</c>/<c>*.refs.json</c> files are kerchunk reference sets; a directory with <c>.nc</c> files is one
/// NetCDF collection. Hidden entries and directory symlinks are skipped.
/// </summary>
internal static class StoreDiscovery
{
    private static readonly string[] ZarrV2Root = [".zmetadata", ".zgroup", ".zarray", ".zattrs"];
    private static readonly string[] ZarrV2Array = [".zarray", ".zattrs", ".zgroup"];

    /// <summary>
    /// Yields every dataset under <paramref name="root"/>. A directory that cannot be listed is reported through
    /// <paramref name="onUnreadable"/> (relative path, reason) and skipped, so the caller can keep what it knew under it.
    /// </summary>
    public static async IAsyncEnumerable<DiscoveredStore> DiscoverAsync(string root, Action<string, string>? onUnreadable, [EnumeratorCancellation] CancellationToken ct, Func<string, IEnumerable<FileSystemInfo>>? lister = null)
    {
        var pending = new Stack<string>();
        pending.Push(root);
        var found = new List<DiscoveredStore>();
        var subdirs = new List<string>();
        while (pending.Count > 0)
        {
            ct.ThrowIfCancellationRequested();
            string dir = pending.Pop();
            found.Clear();
            subdirs.Clear();
            string? error = null;
            try
            {
                ScanDirectory(root, dir, found, subdirs, lister ?? DefaultLister);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error = e.Message;
            }

            if (error is not null)
            {
                onUnreadable?.Invoke(Relative(root, dir), error);
                continue;
            }

            foreach (var store in found)
            {
                yield return store;
            }

            subdirs.Sort(StringComparer.Ordinal);
            for (int i = subdirs.Count - 1; i >= 0; i--)
            {
                pending.Push(subdirs[i]);
            }

            await Task.CompletedTask.ConfigureAwait(false);
        }
    }

    private static IEnumerable<FileSystemInfo> DefaultLister(string dir) => new DirectoryInfo(dir).EnumerateFileSystemInfos();

    private static void ScanDirectory(string root, string dir, List<DiscoveredStore> found, List<string> subdirs, Func<string, IEnumerable<FileSystemInfo>> lister)
    {
        var ncFiles = new List<FileInfo>();
        bool v2 = false, v3 = false;
        var kerchunk = new List<FileInfo>();
        foreach (var e in lister(dir))
        {
            string name = e.Name;
            if (e is FileInfo f)
            {
                if (name is ".zmetadata" or ".zgroup" or ".zarray")
                {
                    v2 = true;
                }
                else if (name == "zarr.json")
                {
                    v3 = true;
                }
                else if (name.StartsWith('.'))
                {
                    continue;
                }
                else if (name.EndsWith(".nc", StringComparison.Ordinal) || name.EndsWith(".nc4", StringComparison.Ordinal))
                {
                    ncFiles.Add(f);
                }
                else if (name.EndsWith(".kerchunk.json", StringComparison.Ordinal) || name.EndsWith(".refs.json", StringComparison.Ordinal))
                {
                    kerchunk.Add(f);
                }
            }
            else if (e is DirectoryInfo && !name.StartsWith('.') && (e.Attributes & FileAttributes.ReparsePoint) == 0)
            {
                subdirs.Add(e.FullName);
            }
        }

        string rel = Relative(root, dir);
        if (v2 || v3)
        {
            if (rel.Length == 0)
            {
                throw new InvalidOperationException($"region root '{root}' is itself a Zarr store; point the region at its parent directory");
            }

            var (fp, mod) = v2 ? FingerprintZarr(dir, ZarrV2Root, ZarrV2Array) : FingerprintZarr(dir, ["zarr.json"], ["zarr.json"]);
            found.Add(new DiscoveredStore(rel, v2 ? DatasetFormat.ZarrV2 : DatasetFormat.ZarrV3, fp, mod));
            subdirs.Clear(); // never descend into a store
            return;
        }

        foreach (var k in kerchunk)
        {
            var (fp, mod) = Fingerprint([(k.Name, k)]);
            found.Add(new DiscoveredStore(Join(rel, k.Name), DatasetFormat.Kerchunk, fp, mod));
        }

        if (ncFiles.Count > 0 && rel.Length > 0)
        {
            ncFiles.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            var files = new List<(string, FileInfo)>(ncFiles.Count);
            foreach (var f in ncFiles)
            {
                files.Add((f.Name, f));
            }

            var (fp, mod) = Fingerprint(files);
            found.Add(new DiscoveredStore(rel, DatasetFormat.NetCdfCollection, fp, mod));
        }
    }

    /// <summary>Fingerprint of a Zarr store: root metadata files plus each immediate child directory's metadata files.</summary>
    internal static (string Fingerprint, DateTimeOffset Modified) FingerprintZarr(string dir, string[] rootFiles, string[] childFiles)
    {
        var files = new List<(string, FileInfo)>();
        foreach (string n in rootFiles)
        {
            var f = new FileInfo(Path.Combine(dir, n));
            if (f.Exists)
            {
                files.Add((n, f));
            }
        }

        var children = new List<DirectoryInfo>(new DirectoryInfo(dir).EnumerateDirectories());
        children.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        foreach (var child in children)
        {
            foreach (string n in childFiles)
            {
                var f = new FileInfo(Path.Combine(child.FullName, n));
                if (f.Exists)
                {
                    files.Add((child.Name + "/" + n, f));
                }
            }
        }

        return Fingerprint(files);
    }

    private static (string, DateTimeOffset) Fingerprint(List<(string Name, FileInfo File)> files)
    {
        var sb = new StringBuilder();
        DateTimeOffset newest = DateTimeOffset.MinValue;
        foreach (var (name, f) in files)
        {
            var mtime = f.LastWriteTimeUtc;
            sb.Append(name).Append('|').Append(f.Length.ToString(CultureInfo.InvariantCulture)).Append('|')
              .Append(mtime.Ticks.ToString(CultureInfo.InvariantCulture)).Append('\n');
            if (mtime > newest)
            {
                newest = new DateTimeOffset(mtime, TimeSpan.Zero);
            }
        }

        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())))[..32];
        return (hash, newest == DateTimeOffset.MinValue ? DateTimeOffset.UnixEpoch : newest);
    }

    /// <summary>Bytes of every file under a store directory (or the file itself).</summary>
    internal static long TotalBytes(string path)
    {
        if (File.Exists(path))
        {
            return new FileInfo(path).Length;
        }

        long total = 0;
        foreach (var f in new DirectoryInfo(path).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true }))
        {
            total += f.Length;
        }

        return total;
    }

    internal static string Relative(string root, string path)
    {
        string rel = Path.GetRelativePath(root, path);
        return rel == "." ? "" : rel.Replace(Path.DirectorySeparatorChar, '/');
    }

    private static string Join(string rel, string name) => rel.Length == 0 ? name : rel + "/" + name;
}
