using System.Diagnostics.CodeAnalysis;
using Proxima.Arrays.Storage;

namespace Proxima.Arrays.NetCdf;

/// <summary>
/// One file of a NetCDF dataset: already open, or opened on first read (a collection opened from its
/// metadata cache). A lazily opened file must still have the size and modification time the cache
/// recorded, so a file replaced after the dataset was opened is an error, never wrong data.
/// </summary>
internal sealed class NetCdfFileSlot : IDisposable
{
    private readonly IStorage? _storage;
    private readonly string _key;
    private readonly long _size;
    private readonly long _modifiedTicks;
    private readonly Lock _lock = new();
    private NetCdfFile? _file;
    private string? _tempPath;
    private Task<NetCdfFile>? _opening;
    private Task? _checking;
    private bool _disposed;

    private NetCdfFileSlot(IStorage? storage, string key, string location, long size, long modifiedTicks)
    {
        _storage = storage;
        _key = key;
        Location = location;
        _size = size;
        _modifiedTicks = modifiedTicks;
    }

    public string Location { get; }

    /// <summary>Where the file's bytes are read from by chunk-index reads (the original storage, never a temp copy).</summary>
    public IStorage Storage => _storage!;

    public string Key => _key;

    /// <summary>True once the file has a libnetcdf handle.</summary>
    public bool IsOpen => Volatile.Read(ref _file) is not null;

    public static NetCdfFileSlot ForOpenFile(IStorage storage, string key, NetCdfFile file, string? tempPath) =>
        new(storage, key, file.Location, -1, 0) { _file = file, _tempPath = tempPath, _checking = Task.CompletedTask };

    public static NetCdfFileSlot ForLazyFile(IStorage storage, string key, long size, long modifiedTicks) =>
        new(storage, key, storage.Describe(key), size, modifiedTicks);

    public bool TryGet([NotNullWhen(true)] out NetCdfFile? file)
    {
        file = Volatile.Read(ref _file);
        return file is not null;
    }

    public Task<NetCdfFile> GetAsync(CancellationToken cancellationToken)
    {
        if (TryGet(out NetCdfFile? file))
        {
            return Task.FromResult(file);
        }

        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_opening is null || _opening.IsFaulted || _opening.IsCanceled)
            {
                // Shared by concurrent chunk reads, so not tied to one caller's token.
                _opening = OpenAsync();
            }

            return _opening.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Before the first chunk-index read of a file of a collection opened from its cache: the file must
    /// still have the cached size and modification time (checked once; an open file needs no check).
    /// </summary>
    public Task CheckUnchangedAsync(CancellationToken cancellationToken)
    {
        Task? checking = Volatile.Read(ref _checking);
        if (checking is { IsCompletedSuccessfully: true })
        {
            return checking;
        }

        lock (_lock)
        {
            if (_checking is null || _checking.IsFaulted || _checking.IsCanceled)
            {
                _checking = Task.Run(CheckUnchanged, CancellationToken.None);
            }

            return _checking.WaitAsync(cancellationToken);
        }
    }

    private void CheckUnchanged()
    {
        if (_storage is PosixStorage posix && posix.Resolve(_key) is string real)
        {
            var info = new FileInfo(real);
            if (!info.Exists || info.Length != _size || info.LastWriteTimeUtc.Ticks != _modifiedTicks)
            {
                throw new ArrayFormatException(Location, "file changed since the collection was opened from its metadata cache (size or modification time differs); open the dataset again");
            }
        }
    }

    private async Task<NetCdfFile> OpenAsync()
    {
        IStorage storage = _storage!;
        CheckUnchanged();
        (NetCdfFile file, string? temp) = await NetCdfReader.OpenLocalAsync(storage, _key, CancellationToken.None).ConfigureAwait(false);
        lock (_lock)
        {
            _tempPath = temp;
            if (_disposed)
            {
                file.Dispose();
                DeleteTemp();
                throw new ObjectDisposedException(nameof(NetCdfFileSlot));
            }

            Volatile.Write(ref _file, file);
        }

        return file;
    }

    private void DeleteTemp()
    {
        if (_tempPath is null)
        {
            return;
        }

        try
        {
            File.Delete(_tempPath);
        }
        catch (IOException)
        {
        }

        _tempPath = null;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _file?.Dispose();
            DeleteTemp();
        }
    }
}
