using System.Buffers;
using System.Buffers.Binary;
using Proxima.Arrays.Codecs.Native;

namespace Proxima.Arrays.Codecs;

/// <summary>
/// Blosc (c-blosc 1.x format): LZ4 buffers decoded block by block by <see cref="BloscFrame"/> (liblz4 + our unshuffle),
/// everything else through libblosc1's thread-safe context API.
/// </summary>
internal sealed class BloscCodec : IBytesCodec
{
    private const int HeaderSize = 16;
    private const int MaxOverhead = 16;

    public BloscCodec(string compressor = "lz4", int level = 5, int shuffle = 1, int typeSize = 4, int blockSize = 0)
    {
        Compressor = compressor;
        Level = level;
        Shuffle = shuffle;
        TypeSize = typeSize;
        BlockSize = blockSize;
    }

    public string Name => "blosc";

    public string Compressor { get; }

    public int Level { get; }

    /// <summary>0 none, 1 byte shuffle, 2 bit shuffle (-1 auto is resolved by the caller).</summary>
    public int Shuffle { get; }

    public int TypeSize { get; }

    public int BlockSize { get; }

    public int EncodedLength(int decodedLength) => -1;

    /// <summary>Reads nbytes/cbytes from a blosc header; false when the buffer is too short to hold one.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> src, out int nbytes, out int cbytes, out int typesize)
    {
        if (src.Length < HeaderSize)
        {
            nbytes = cbytes = typesize = 0;
            return false;
        }

        typesize = src[3];
        nbytes = (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(src[4..]));
        cbytes = (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(src[12..]));
        return true;
    }

    public int Decode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        (int nbytes, int cbytes) = CheckHeader(source, destination.Length);
        if (nbytes == 0)
        {
            return 0;
        }

        if (BloscFrame.TryParse(source[..cbytes], out BloscFrame frame))
        {
            frame.DecodeAll(source[..cbytes], destination[..nbytes], DecodeThreads.Current);
            return nbytes;
        }

        int r = DecodeThreads.Current is int threads && threads > 1 && SplitBlocks(source, nbytes, threads) is int blocksize
            ? BloscNative.DecompressSplit(source[..cbytes], destination[..nbytes], blocksize, source[3], threads)
            : BloscNative.Decompress(source[..cbytes], destination[..nbytes]);
        if (r < 0)
        {
            throw new CodecException(ChunkErrorKind.Corrupt, $"blosc: decompression failed (code {r})");
        }

        return r;
    }

    /// <summary>
    /// Decodes a chunk of <paramref name="chunkBytes"/> bytes straight into a region's output: the elements of each
    /// run (items of <paramref name="itemSize"/> bytes) land at the run's place in <paramref name="destination"/>, each
    /// piece passed to <paramref name="finish"/> once written.
    /// </summary>
    /// <returns>False, having written nothing, when the buffer is not one <see cref="BloscFrame"/> decodes this way
    /// (the caller decodes the chunk whole and copies).</returns>
    public bool DecodeRuns(ReadOnlySpan<byte> source, ReadOnlySpan<Grid.ChunkRun> runs, int itemSize, int chunkBytes, Span<byte> destination, Grid.RunFinisher? finish)
    {
        (int nbytes, int cbytes) = CheckHeader(source, chunkBytes);
        if (nbytes != chunkBytes || source[3] != itemSize || nbytes % itemSize != 0 || runs.IsEmpty
            || (long)runs[^1].ChunkElement + runs[^1].Length > nbytes / itemSize || !BloscFrame.TryParse(source[..cbytes], out BloscFrame frame))
        {
            return false;
        }

        frame.DecodeRuns(source[..cbytes], runs, destination, finish);
        return true;
    }

    /// <summary>The header's nbytes and cbytes, checked against the buffer and the chunk's <paramref name="capacity"/>.</summary>
    private static (int NBytes, int CBytes) CheckHeader(ReadOnlySpan<byte> source, int capacity)
    {
        if (!TryReadHeader(source, out int nbytes, out int cbytes, out _))
        {
            throw new CodecException(ChunkErrorKind.Truncated, $"blosc: {source.Length} bytes is shorter than the 16-byte header");
        }

        if (cbytes > source.Length)
        {
            throw new CodecException(ChunkErrorKind.Truncated, $"blosc: header says {cbytes} compressed bytes but only {source.Length} are present");
        }

        if (cbytes < HeaderSize)
        {
            throw new CodecException(ChunkErrorKind.Corrupt, $"blosc: header compressed size {cbytes} is invalid");
        }

        if (nbytes > capacity)
        {
            throw new CodecException(ChunkErrorKind.ExceedsExpectedSize, $"blosc: header says {nbytes} decompressed bytes, more than the chunk's {capacity}");
        }

        return (nbytes, cbytes);
    }

    /// <summary>
    /// The blocksize when a chunk decoded with <paramref name="threads"/> threads is split into block ranges decompressed
    /// on our own threads (compressed, at least two blocks per thread, blocks whole items); null to let libblosc do it.
    /// </summary>
    private static int? SplitBlocks(ReadOnlySpan<byte> source, int nbytes, int threads)
    {
        const byte Memcpyed = 0x2;
        int typesize = source[3];
        int blocksize = (int)BinaryPrimitives.ReadUInt32LittleEndian(source[8..]);
        bool split = (source[2] & Memcpyed) == 0 && typesize >= 1 && blocksize > 0 && blocksize % typesize == 0 && nbytes % typesize == 0
            && (long)blocksize * threads * 2 <= nbytes;
        return split ? blocksize : null;
    }

    /// <summary>
    /// Decodes at least the bytes of the listed elements (ascending element offsets of <paramref name="itemSize"/>
    /// bytes) into <paramref name="destination"/> (the whole decoded chunk's length), decompressing only the blosc
    /// blocks that hold them; other bytes of <paramref name="destination"/> are unspecified. An LZ4 buffer whose
    /// typesize is the item size goes through <see cref="BloscFrame.DecodeElements"/> (only the needed elements are
    /// gathered from the byte planes); otherwise, when more than half the blocks are needed (or the buffer is stored
    /// uncompressed) the whole chunk is decoded, else the needed blocks by <c>blosc_getitem</c>.
    /// </summary>
    /// <returns>The number of decompressed bytes (the work done), at most <paramref name="destination"/>'s length.</returns>
    public int DecodeElements(ReadOnlySpan<byte> source, ReadOnlySpan<int> elements, int itemSize, Span<byte> destination)
    {
        if (!TryReadHeader(source, out int nbytes, out int cbytes, out int typesize) || cbytes > source.Length || cbytes < HeaderSize || nbytes != destination.Length || typesize < 1)
        {
            return Decode(source, destination);
        }

        if (typesize == itemSize && !elements.IsEmpty && BloscFrame.TryParse(source[..cbytes], out BloscFrame frame))
        {
            return frame.DecodeElements(source[..cbytes], elements, destination);
        }

        const byte Memcpyed = 0x2;
        int blocksize = (int)BinaryPrimitives.ReadUInt32LittleEndian(source[8..]);
        if ((source[2] & Memcpyed) != 0 || blocksize <= 0 || blocksize % typesize != 0 || nbytes % typesize != 0 || elements.IsEmpty)
        {
            return Decode(source, destination);
        }

        int nblocks = (nbytes + blocksize - 1) / blocksize;
        int needed = 0;
        int last = -1;
        foreach (int e in elements)
        {
            int b0 = (int)((long)e * itemSize / blocksize);
            int b1 = (int)((((long)e + 1) * itemSize - 1) / blocksize);
            int from = Math.Max(b0, last + 1);
            if (b1 >= from)
            {
                needed += b1 - from + 1;
                last = b1;
            }
        }

        if (needed * 2 > nblocks)
        {
            return Decode(source, destination);
        }

        // Runs of consecutive needed blocks, one blosc_getitem each (it decompresses whole blocks anyway).
        int done = 0;
        int runStart = -1;
        int runEnd = -1;
        foreach (int e in elements)
        {
            int b0 = (int)((long)e * itemSize / blocksize);
            int b1 = (int)((((long)e + 1) * itemSize - 1) / blocksize);
            if (runStart >= 0 && b0 <= runEnd + 1)
            {
                runEnd = Math.Max(runEnd, b1);
                continue;
            }

            if (runStart >= 0)
            {
                done += GetBlocks(source, runStart, runEnd, blocksize, typesize, destination);
            }

            runStart = b0;
            runEnd = b1;
        }

        done += GetBlocks(source, runStart, runEnd, blocksize, typesize, destination);
        return done;
    }

    /// <summary>
    /// Decodes the listed elements (ascending element offsets of <paramref name="itemSize"/> bytes) of an LZ4 blosc
    /// buffer of <paramref name="chunkBytes"/> decoded bytes packed into <paramref name="destination"/> (element i of the
    /// list at byte i × itemSize; <see cref="BloscFrame.DecodeElementsPacked"/>). False, with nothing written, when the
    /// buffer is not one <see cref="BloscFrame"/> decodes or its header does not say <paramref name="chunkBytes"/> bytes
    /// of <paramref name="itemSize"/>-byte items: the caller then decodes the chunk (which reports any corruption).
    /// </summary>
    /// <returns>True when decoded.</returns>
    public static bool TryDecodeElementsPacked(ReadOnlySpan<byte> source, ReadOnlySpan<int> elements, int itemSize, int chunkBytes, Span<byte> destination)
    {
        if (!TryReadHeader(source, out int nbytes, out int cbytes, out int typesize) || cbytes > source.Length || cbytes < HeaderSize
            || nbytes != chunkBytes || typesize != itemSize || !BloscFrame.TryParse(source[..cbytes], out BloscFrame frame))
        {
            return false;
        }

        frame.DecodeElementsPacked(source[..cbytes], elements, destination);
        return true;
    }

    private static int GetBlocks(ReadOnlySpan<byte> source, int firstBlock, int lastBlock, int blocksize, int typesize, Span<byte> destination)
    {
        int start = firstBlock * blocksize;
        int end = Math.Min(destination.Length, (lastBlock + 1) * blocksize);
        int r = BloscNative.GetItems(source, start / typesize, (end - start) / typesize, destination[start..end]);
        if (r < 0)
        {
            throw new CodecException(ChunkErrorKind.Corrupt, $"blosc: partial decompression of blocks {firstBlock}..{lastBlock} failed (code {r})");
        }

        return r;
    }

    /// <summary>
    /// The block size of a blosc buffer that decodes to exactly <paramref name="decodedBytes"/> bytes, for decoding it in
    /// item ranges (<see cref="DecodeItems"/>); false when the header describes a buffer that cannot be read that way
    /// (shorter than the chunk, blocks not whole items).
    /// </summary>
    /// <exception cref="CodecException">The buffer is shorter than its header or than the compressed size the header
    /// gives (a truncated chunk), or the header claims more than <paramref name="decodedBytes"/> — the errors a whole
    /// decode of the chunk would raise.</exception>
    public static bool TryGetBlocks(ReadOnlySpan<byte> source, int decodedBytes, out int blockBytes, out int typesize)
    {
        blockBytes = 0;
        (int nbytes, _) = CheckHeader(source, decodedBytes);
        typesize = source[3];
        if (nbytes != decodedBytes || typesize < 1)
        {
            return false;
        }

        blockBytes = (int)BinaryPrimitives.ReadUInt32LittleEndian(source[8..]);
        return blockBytes > 0 && blockBytes % typesize == 0 && nbytes % typesize == 0;
    }

    /// <summary>
    /// Decodes items [<paramref name="startItem"/>, + <paramref name="destination"/>.Length / typesize) of a blosc buffer
    /// checked by <see cref="TryGetBlocks"/> into <paramref name="destination"/>, on the caller's thread. A range of whole
    /// blocks of a buffer <see cref="BloscFrame"/> parses (Blosc-lz4, byte or no shuffle) is decoded by it straight into
    /// <paramref name="destination"/>; anything else by <c>blosc_getitem</c> (the blocks holding the items decompressed
    /// whole into its own buffer and copied out, so ranges on block boundaries decode each block once).
    /// </summary>
    public static void DecodeItems(ReadOnlySpan<byte> source, int startItem, int typesize, Span<byte> destination)
    {
        if (TryDecodeBlockRange(source, (long)startItem * typesize, destination))
        {
            return;
        }

        int r = BloscNative.GetItems(source, startItem, destination.Length / typesize, destination);
        if (r != destination.Length)
        {
            throw new CodecException(ChunkErrorKind.Corrupt, $"blosc: decompression of items {startItem}..{startItem + (destination.Length / typesize)} failed (code {r})");
        }
    }

    /// <summary>
    /// A range of whole blocks of an LZ4 buffer (starting on a block boundary, ending on one or at the end) decoded by
    /// <see cref="BloscFrame"/> straight into <paramref name="destination"/>, one block at a time through a pooled
    /// scratch for the byte planes; false, having written nothing, for any other range or buffer.
    /// </summary>
    private static bool TryDecodeBlockRange(ReadOnlySpan<byte> source, long startByte, Span<byte> destination)
    {
        if (!TryReadHeader(source, out int nbytes, out int cbytes, out _) || cbytes > source.Length || !BloscFrame.TryParse(source[..cbytes], out BloscFrame frame)
            || startByte % frame.BlockSize != 0 || startByte + destination.Length > nbytes
            || (destination.Length % frame.BlockSize != 0 && startByte + destination.Length != nbytes))
        {
            return false;
        }

        int first = (int)(startByte / frame.BlockSize);
        byte[] scratch = ArrayPool<byte>.Shared.Rent(frame.BlockSize);
        try
        {
            for (int block = first, at = 0; at < destination.Length; block++)
            {
                int length = frame.BlockLength(block);
                frame.DecodeBlock(source[..cbytes], block, destination.Slice(at, length), scratch);
                at += length;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }

        return true;
    }

    public byte[] Encode(ReadOnlySpan<byte> source)
    {
        byte[] dst = new byte[source.Length + MaxOverhead];
        int n = BloscNative.Compress(Level, Shuffle, Math.Max(1, TypeSize), source, dst, Compressor, BlockSize);
        if (n <= 0)
        {
            throw new CodecException(ChunkErrorKind.Corrupt, $"blosc: compression failed (code {n}; compressor '{Compressor}' may not be built in)");
        }

        return dst.AsSpan(0, n).ToArray();
    }
}
