using System.Numerics;
using System.Runtime.InteropServices;
using Proxima.Arrays.Cf;
using Proxima.Arrays.Grid;

namespace Proxima.Arrays;

/// <summary>
/// One chunk of a <see cref="GridVariable"/> opened for decoding a range of elements at a time into a small caller
/// buffer (see <see cref="GridVariable.OpenChunkRangesAsync{T}"/>), so a consumer can reduce each range while it is
/// still in the CPU cache instead of reading the whole decoded chunk back from memory. Values are decoded as
/// <see cref="GridVariable.ReadChunkAsync{T}"/> decodes them. Not thread-safe; dispose to release the encoded bytes.
/// </summary>
public sealed class ChunkRanges<T> : IDisposable
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly ChunkByteRanges _bytes;
    private readonly CfDecoding _decoding;
    private readonly int _length;

    internal ChunkRanges(ChunkByteRanges bytes, CfDecoding decoding, int length)
    {
        _bytes = bytes;
        _decoding = decoding;
        _length = length;
        BlockElements = Math.Max(1, bytes.BlockBytes / System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
    }

    /// <summary>Elements of one compressed block: ranges starting and ending on multiples of it decode every block once.</summary>
    public int BlockElements { get; }

    /// <summary>Decodes elements [<paramref name="start"/>, + destination.Length) of the chunk (C order) into <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the chunk.</exception>
    /// <exception cref="ChunkDecodeException">The chunk's bytes are corrupt.</exception>
    public void Read(int start, Span<T> destination)
    {
        if (start < 0 || destination.Length > _length - start)
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"elements {start}..{start + destination.Length} are outside the chunk's {_length}");
        }

        Span<byte> bytes = MemoryMarshal.AsBytes(destination);
        _bytes.Read(start * System.Runtime.CompilerServices.Unsafe.SizeOf<T>(), bytes);
        if (!_decoding.IsIdentity)
        {
            _decoding.Decode(bytes, destination);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _bytes.Dispose();
}
