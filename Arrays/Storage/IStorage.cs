using System.Buffers;

namespace Proxima.Arrays.Storage;

/// <summary>One entry under a prefix: an object (file) or a sub-prefix (directory).</summary>
/// <param name="Key">Full key relative to the storage root, '/'-separated, no trailing slash.</param>
/// <param name="Name">Last path segment.</param>
/// <param name="IsPrefix">True for a directory / common prefix.</param>
/// <param name="Size">Object size in bytes (0 for prefixes).</param>
/// <param name="LastModified">Modification time when known.</param>
public readonly record struct StorageEntry(string Key, string Name, bool IsPrefix, long Size, DateTimeOffset? LastModified);

/// <summary>
/// A key/value view of a root (a directory or an S3 bucket/prefix). Keys are '/'-separated and
/// relative to the root; a missing object is <c>null</c>, never an exception.
/// Implementations are thread-safe.
/// </summary>
public interface IStorage
{
    /// <summary>Human-readable location of <paramref name="key"/> for error messages, e.g. <c>s3://bucket/prefix/key</c>.</summary>
    string Describe(string key);

    /// <summary>
    /// Reads a whole object, or <paramref name="length"/> bytes from <paramref name="offset"/> when
    /// <paramref name="length"/> is not null, into a pooled buffer (dispose it). Returns null when the
    /// object does not exist. Throws <see cref="StorageException"/> if the object (or requested range)
    /// is larger than <paramref name="maxBytes"/>, so a hostile object cannot force a large allocation.
    /// A range that runs past the end of the object returns the bytes that exist.
    /// </summary>
    ValueTask<IMemoryOwner<byte>?> ReadAsync(string key, long offset, long? length, long maxBytes, CancellationToken cancellationToken);

    /// <summary>Size of an object in bytes, or null when it does not exist.</summary>
    ValueTask<long?> GetSizeAsync(string key, CancellationToken cancellationToken);

    /// <summary>Immediate children of <paramref name="prefix"/> ("" for the root): objects and sub-prefixes.</summary>
    IAsyncEnumerable<StorageEntry> ListAsync(string prefix, CancellationToken cancellationToken);
}
