namespace Proxima.Arrays.Storage;

/// <summary>A storage that can also write and delete objects (for writers, conversion and tests).</summary>
public interface IWritableStorage : IStorage
{
    /// <summary>Writes (replaces) an object.</summary>
    ValueTask WriteAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>Deletes an object; a missing object is not an error.</summary>
    ValueTask DeleteAsync(string key, CancellationToken cancellationToken);
}
