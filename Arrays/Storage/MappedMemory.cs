using System.Buffers;
using System.IO.MemoryMappedFiles;
using Microsoft.Win32.SafeHandles;

namespace Proxima.Arrays.Storage;

/// <summary>
/// A read-only memory map of a byte range of a file, as the <see cref="IMemoryOwner{T}"/> of a storage read: a codec
/// decompresses straight from the page cache instead of from a copy. Disposing unmaps it. The file must not be
/// truncated while mapped (readers would fault); stores replace chunk files by rename, which keeps the mapped inode.
/// </summary>
internal sealed unsafe class MappedMemory : MemoryManager<byte>
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly int _length;
    private byte* _pointer;

    private MappedMemory(MemoryMappedFile file, MemoryMappedViewAccessor view, byte* pointer, int length)
    {
        _file = file;
        _view = view;
        _pointer = pointer;
        _length = length;
    }

    /// <summary>Maps [offset, offset + length) of an open file (length ≥ 1, inside the file).</summary>
    public static MappedMemory Map(SafeFileHandle handle, long offset, int length)
    {
        var file = MemoryMappedFile.CreateFromFile(handle, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
        MemoryMappedViewAccessor? view = null;
        try
        {
            view = file.CreateViewAccessor(offset, length, MemoryMappedFileAccess.Read);
            byte* p = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);

            // Fill the page tables in one call rather than one fault per 64 KiB as the codec walks it (Linux ≥ 5.14;
            // older kernels refuse the advice and the pages fault in as read).
            _ = Libc.MAdvise(p, (nuint)(view.PointerOffset + length), Libc.MadvPopulateRead);
            return new MappedMemory(file, view, p + view.PointerOffset, length);
        }
        catch
        {
            view?.Dispose();
            file.Dispose();
            throw;
        }
    }

    public override Span<byte> GetSpan() => new(Pointer(), _length);

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _length);
        return new MemoryHandle(Pointer() + elementIndex);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (_pointer is null)
        {
            return;
        }

        _pointer = null;
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }

    private byte* Pointer() => _pointer is null ? throw new ObjectDisposedException(nameof(MappedMemory)) : _pointer;
}
