using System.Buffers;

namespace Proxima.Arrays.Storage;

/// <summary>Convenience reads over <see cref="IStorage"/>.</summary>
public static class StorageExtensions
{
    /// <summary>Default bound for metadata documents (.zarray, zarr.json, .zmetadata, kerchunk JSON).</summary>
    public const long MaxMetadataBytes = 256L * 1024 * 1024;

    /// <summary>Reads a whole object into a new array, or null when it does not exist.</summary>
    public static async ValueTask<byte[]?> ReadAllBytesAsync(this IStorage storage, string key, long maxBytes = MaxMetadataBytes, CancellationToken cancellationToken = default)
    {
        using IMemoryOwner<byte>? owner = await storage.ReadAsync(key, 0, null, maxBytes, cancellationToken).ConfigureAwait(false);
        return owner?.Memory.ToArray();
    }

    /// <summary>Reads a byte range into a new array, or null when the object does not exist.</summary>
    public static async ValueTask<byte[]?> ReadRangeAsync(this IStorage storage, string key, long offset, long length, CancellationToken cancellationToken = default)
    {
        using IMemoryOwner<byte>? owner = await storage.ReadAsync(key, offset, length, length, cancellationToken).ConfigureAwait(false);
        return owner?.Memory.ToArray();
    }

    /// <summary>True when the object exists.</summary>
    public static async ValueTask<bool> ExistsAsync(this IStorage storage, string key, CancellationToken cancellationToken = default)
        => await storage.GetSizeAsync(key, cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>Joins key segments with '/', ignoring empty ones.</summary>
    public static string Join(string prefix, string name)
    {
        if (prefix.Length == 0)
        {
            return name;
        }

        if (name.Length == 0)
        {
            return prefix;
        }

        return prefix.EndsWith('/') ? prefix + name : prefix + "/" + name;
    }
}

/// <summary>An <see cref="IMemoryOwner{T}"/> over an <see cref="ArrayPool{T}"/> rental with an exact length.</summary>
internal sealed class PooledBuffer : IMemoryOwner<byte>
{
    private byte[]? _array;
    private readonly int _length;

    public PooledBuffer(int length)
    {
        _array = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        _length = length;
    }

    public byte[] Array => _array ?? throw new ObjectDisposedException(nameof(PooledBuffer));

    public int Length => _length;

    public Memory<byte> Memory => Array.AsMemory(0, _length);

    public Span<byte> Span => Array.AsSpan(0, _length);

    public void Dispose()
    {
        byte[]? a = Interlocked.Exchange(ref _array, null);
        if (a is not null)
        {
            ArrayPool<byte>.Shared.Return(a);
        }
    }
}
