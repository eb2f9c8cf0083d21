using System.Buffers;

namespace Proxima.Arrays.Grid;

/// <summary>A byte view of pinned memory (a caller's float/double buffer), so a chunk can decompress straight into it.</summary>
internal sealed unsafe class PinnedBytes : MemoryManager<byte>
{
    private readonly byte* _pointer;
    private readonly int _length;

    public PinnedBytes(MemoryHandle handle, int length)
    {
        _pointer = (byte*)handle.Pointer;
        _length = length;
    }

    public override Span<byte> GetSpan() => new(_pointer, _length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(_pointer + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
