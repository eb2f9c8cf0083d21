using System.Buffers;
using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;

namespace Proxima.Arrays.Storage;

/// <summary>
/// A directory tree as <see cref="IStorage"/>, confined to its root: keys with '..', absolute keys and
/// symlinks whose real target lies outside the root are refused with <see cref="StorageException"/>. Reads of at
/// least <see cref="MapThreshold"/> bytes (whole Blosc chunks) are memory-mapped rather than copied, so a codec
/// decompresses straight from the page cache.
/// </summary>
public sealed class PosixStorage : IWritableStorage
{
    private readonly string _root;
    private readonly string _rootPrefix;

    /// <summary>The default <see cref="MapThreshold"/>: 1 MiB (below it a copy costs less than mapping).</summary>
    public const long DefaultMapThreshold = 1L << 20;

    /// <param name="rootDirectory">An existing directory; symlinks in the root path itself are resolved once.</param>
    /// <param name="mapThreshold">Reads of at least this many bytes are memory-mapped; <see cref="long.MaxValue"/> always copies.</param>
    public PosixStorage(string rootDirectory, long mapThreshold = DefaultMapThreshold)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(mapThreshold, 1);
        MapThreshold = mapThreshold;
        ArgumentException.ThrowIfNullOrEmpty(rootDirectory);
        string full = Path.GetFullPath(rootDirectory);
        string? real = Libc.RealPath(full);
        if (real is null || !Directory.Exists(real))
        {
            throw new StorageException(full, "storage root does not exist or is not a directory");
        }

        _root = real.TrimEnd('/');
        _rootPrefix = _root + "/";
        if (_root.Length == 0)
        {
            _root = "/";
            _rootPrefix = "/";
        }
    }

    /// <summary>
    /// Reads of at least this many bytes return a read-only memory map of the file's range instead of a pooled copy
    /// (the file must then not be truncated in place while the returned memory is alive; replacing it by rename, as
    /// <see cref="WriteAsync"/> and zarr-python do, is safe).
    /// </summary>
    public long MapThreshold { get; }

    /// <summary>The resolved root directory.</summary>
    public string Root => _root;

    /// <inheritdoc />
    public string Describe(string key) => key.Length == 0 ? _root : _rootPrefix + key;

    /// <summary>
    /// Maps a key to a real path inside the root. Returns null when it does not exist; throws when the
    /// key or a symlink on its way leads outside the root.
    /// </summary>
    internal string? Resolve(string key)
    {
        string norm = KeyValidator.Normalize(key, Describe);
        string candidate = norm.Length == 0 ? _root : _rootPrefix + norm;
        string? real = Libc.RealPath(candidate);
        if (real is null)
        {
            return null;
        }

        if (real != _root && !real.StartsWith(_rootPrefix, StringComparison.Ordinal))
        {
            throw new StorageException(Describe(norm), "key resolves outside the storage root (symlink escape)");
        }

        return real;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Completes synchronously, on the caller's thread: a local file is read with a blocking <c>pread</c> (or mapped)
    /// where it is asked for. .NET's asynchronous file reads on Linux are the same blocking <c>pread</c> queued to a
    /// thread-pool thread, so they block a thread all the same and add a hop there and back per read, which on a
    /// loaded machine costs a wake-up of a parked thread per chunk (a point series reads ~40 chunks in ~20 ms).
    /// </remarks>
    public ValueTask<IMemoryOwner<byte>?> ReadAsync(string key, long offset, long? length, long maxBytes, CancellationToken cancellationToken)
    {
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            return ValueTask.FromResult(Read(key, offset, length, maxBytes));
        }
        catch (Exception e)
        {
            return ValueTask.FromException<IMemoryOwner<byte>?>(e);
        }
    }

    private IMemoryOwner<byte>? Read(string key, long offset, long? length, long maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        string? path = Resolve(key);
        if (path is null)
        {
            return null;
        }

        SafeFileHandle handle;
        try
        {
            if (Directory.Exists(path))
            {
                return null;
            }

            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.None);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StorageException(Describe(key), "cannot open: " + e.Message, e);
        }

        using (handle)
        {
            long size = RandomAccess.GetLength(handle);
            long available = Math.Max(0, size - offset);
            long want = length is null ? available : Math.Min(length.Value, available);
            if (want > maxBytes || want > Array.MaxLength)
            {
                throw new StorageException(Describe(key), $"object of {want} bytes exceeds the allowed {maxBytes} bytes");
            }

            if (want >= MapThreshold)
            {
                try
                {
                    return MappedMemory.Map(handle, offset, (int)want);
                }
                catch (IOException e)
                {
                    throw new StorageException(Describe(key), "cannot map: " + e.Message, e);
                }
            }

            var buffer = new PooledBuffer((int)want);
            try
            {
                int done = 0;
                while (done < want)
                {
                    int n = RandomAccess.Read(handle, buffer.Array.AsSpan(done, (int)want - done), offset + done);
                    if (n == 0)
                    {
                        throw new StorageException(Describe(key), "file shrank while being read");
                    }

                    done += n;
                }

                return buffer;
            }
            catch (Exception e)
            {
                buffer.Dispose();
                if (e is IOException and not StorageException)
                {
                    throw new StorageException(Describe(key), "read failed: " + e.Message, e);
                }

                throw;
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask WriteAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        string norm = KeyValidator.Normalize(key, Describe);
        if (norm.Length == 0)
        {
            throw new StorageException(Describe(key), "cannot write the root");
        }

        // Resolve the parent (creating it) and check it stays inside the root before writing.
        string? parentKey = norm.Contains('/', StringComparison.Ordinal) ? norm[..norm.LastIndexOf('/')] : null;
        string parent = parentKey is null ? _root : _rootPrefix + parentKey;
        Directory.CreateDirectory(parent);
        string? realParent = Libc.RealPath(parent);
        if (realParent is null || (realParent != _root && !realParent.StartsWith(_rootPrefix, StringComparison.Ordinal)))
        {
            throw new StorageException(Describe(norm), "key resolves outside the storage root (symlink escape)");
        }

        string target = Path.Combine(realParent, norm[(norm.LastIndexOf('/') + 1)..]);
        if (File.Exists(target) && new FileInfo(target).LinkTarget is not null)
        {
            throw new StorageException(Describe(norm), "refusing to write through a symlink");
        }

        string temp = target + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            await File.WriteAllBytesAsync(temp, data.ToArray(), cancellationToken).ConfigureAwait(false);
            File.Move(temp, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(temp);
            throw new StorageException(Describe(norm), "write failed: " + e.Message, e);
        }
    }

    /// <inheritdoc />
    public ValueTask DeleteAsync(string key, CancellationToken cancellationToken)
    {
        string? path = Resolve(key);
        if (path is not null && File.Exists(path))
        {
            File.Delete(path);
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<long?> GetSizeAsync(string key, CancellationToken cancellationToken)
    {
        string? path = Resolve(key);
        if (path is null)
        {
            return ValueTask.FromResult<long?>(null);
        }

        var fi = new FileInfo(path);
        return ValueTask.FromResult<long?>(fi.Exists ? fi.Length : null);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<StorageEntry> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string norm = KeyValidator.Normalize(prefix, Describe);
        string? path = Resolve(norm);
        if (path is null || !Directory.Exists(path))
        {
            yield break;
        }

        var dir = new DirectoryInfo(path);
        var entries = new List<FileSystemInfo>(dir.EnumerateFileSystemInfos());
        entries.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        foreach (FileSystemInfo e in entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string key = StorageExtensions.Join(norm, e.Name);
            bool isDir = e is DirectoryInfo;
            long size = 0;
            DateTime modified = e.LastWriteTimeUtc;
            if (e.LinkTarget is not null)
            {
                // Symlinks are listed only when they stay inside the root.
                string? real = Libc.RealPath(e.FullName);
                if (real is null || (real != _root && !real.StartsWith(_rootPrefix, StringComparison.Ordinal)))
                {
                    continue;
                }

                isDir = Directory.Exists(real);
                if (!isDir)
                {
                    // The target's size and time: they fingerprint the data (NetCDF metadata cache).
                    var target = new FileInfo(real);
                    size = target.Length;
                    modified = target.LastWriteTimeUtc;
                }
            }
            else if (e is FileInfo fi)
            {
                size = fi.Length;
            }

            yield return new StorageEntry(key, e.Name, isDir, size, modified);
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }
}
