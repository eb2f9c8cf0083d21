namespace Proxima.Arrays.Storage;

/// <summary>
/// A storage operation failed or was refused (key escapes the root, object too large, I/O or S3 error).
/// The message names the store and key.
/// </summary>
public sealed class StorageException : IOException
{
    public StorageException(string location, string message, Exception? inner = null)
        : base($"{location}: {message}", inner)
    {
        Location = location;
    }

    /// <summary>The store and key, as <see cref="IStorage.Describe"/> gives it.</summary>
    public string Location { get; }
}
