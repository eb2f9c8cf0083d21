namespace Proxima.Arrays;

/// <summary>
/// Metadata or data in a store does not follow its format (bad JSON, absurd shape, unknown codec,
/// corrupt chunk). The message names the store and key; <see cref="Location"/> holds them too.
/// </summary>
public class ArrayFormatException : Exception
{
    public ArrayFormatException(string location, string message)
        : base($"{location}: {message}")
    {
        Location = location;
    }

    public ArrayFormatException(string location, string message, Exception? inner)
        : base($"{location}: {message}", inner)
    {
        Location = location;
    }

    /// <summary>Store and key (or file and variable) the problem was found in.</summary>
    public string Location { get; }
}

/// <summary>Why a chunk could not be decoded.</summary>
public enum ChunkErrorKind
{
    /// <summary>The encoded chunk is shorter than its header or frame says.</summary>
    Truncated,

    /// <summary>Decoding would produce more bytes than the chunk's expected size (a decompression bomb).</summary>
    ExceedsExpectedSize,

    /// <summary>Decoding produced fewer bytes than the chunk's expected size.</summary>
    SizeMismatch,

    /// <summary>The codec reported corrupt input.</summary>
    Corrupt,

    /// <summary>A checksum (crc32c) did not match.</summary>
    ChecksumMismatch,

    /// <summary>The native library the codec needs is not installed.</summary>
    CodecUnavailable,
}

/// <summary>A chunk could not be decoded; <see cref="Kind"/> says why.</summary>
public sealed class ChunkDecodeException : ArrayFormatException
{
    public ChunkDecodeException(string location, ChunkErrorKind kind, string message, Exception? inner = null)
        : base(location, message, inner)
    {
        Kind = kind;
    }

    public ChunkErrorKind Kind { get; }
}

/// <summary>Raised by codecs, which do not know the store and key; readers wrap it in <see cref="ChunkDecodeException"/>.</summary>
internal sealed class CodecException : Exception
{
    public CodecException(ChunkErrorKind kind, string message, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
    }

    public ChunkErrorKind Kind { get; }
}
