using System.Buffers.Binary;
using Proxima.Arrays.Codecs.Native;

namespace Proxima.Arrays.Codecs;

/// <summary>
/// A c-blosc 1.x buffer (format version 2) whose blocks we decode ourselves: LZ4 (or LZ4HC) streams through
/// liblz4's <c>LZ4_decompress_safe</c> with the exact destination capacity, then our own byte unshuffle
/// (<see cref="ByteUnshuffle"/>). Decoding block by block lets a caller unshuffle straight into its output, or gather only
/// the elements it needs from the decompressed byte planes, where libblosc would unshuffle and copy every byte.
/// Anything else (blosclz/zstd/zlib/snappy, bit shuffle, memcpyed buffers, other format versions, reserved flag bits)
/// is not parsed: <see cref="TryParse"/> returns false and the caller falls back to libblosc.
/// </summary>
/// <remarks>
/// Layout as c-blosc 1.x <c>blosc_d</c> reads it: a 16-byte header (version, compressor version, flags, typesize,
/// nbytes, blocksize, cbytes), one int32 start offset per block, then per block either one stream or, when split,
/// <c>typesize</c> streams of <c>blocksize / typesize</c> bytes each. A block is split unless flag 0x10 (dont_split)
/// is set, typesize exceeds 16, the block holds fewer than 128 items, or it is the leftover last block. Each stream is
/// an int32 compressed size and that many bytes; a size equal to the stream's decoded size means stored raw.
/// </remarks>
internal readonly struct BloscFrame
{
    private const int HeaderSize = 16;
    private const byte ByteShuffleFlag = 0x1;
    private const byte MemcpyedFlag = 0x2;
    private const byte BitShuffleFlag = 0x4;
    private const byte ReservedFlag = 0x8;
    private const byte DontSplitFlag = 0x10;
    private const int Lz4Format = 1;
    private const int MaxSplits = 16;
    private const int MinBufferSize = 128;

    private BloscFrame(int nbytes, int blockSize, int typeSize, int blocks, bool shuffle, bool dontSplit)
    {
        NBytes = nbytes;
        BlockSize = blockSize;
        TypeSize = typeSize;
        Blocks = blocks;
        Shuffle = shuffle;
        DontSplit = dontSplit;
    }

    /// <summary>Decoded size of the whole buffer.</summary>
    public int NBytes { get; }

    /// <summary>Decoded size of every block but a shorter leftover last one.</summary>
    public int BlockSize { get; }

    public int TypeSize { get; }

    public int Blocks { get; }

    /// <summary>Byte shuffle applies (flag set and typesize above 1, as blosc_d decides).</summary>
    public bool Shuffle { get; }

    private bool DontSplit { get; }

    /// <summary>
    /// Parses the header and block table of <paramref name="source"/> (already cut to the header's cbytes, with
    /// nbytes checked against the destination by the caller). False when the buffer is something we do not decode
    /// ourselves; the caller then uses libblosc, which also reports any corruption of those.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> source, out BloscFrame frame)
    {
        frame = default;
        if (source.Length < HeaderSize || source[0] != 2)
        {
            return false;
        }

        byte flags = source[2];
        if ((flags & (MemcpyedFlag | BitShuffleFlag | ReservedFlag)) != 0 || flags >> 5 != Lz4Format)
        {
            return false;
        }

        int typesize = source[3];
        long nbytes = BinaryPrimitives.ReadUInt32LittleEndian(source[4..]);
        long blocksize = BinaryPrimitives.ReadUInt32LittleEndian(source[8..]);
        if (typesize < 1 || nbytes < 1 || nbytes > int.MaxValue || blocksize < 1 || blocksize > nbytes || blocksize % typesize != 0)
        {
            return false;
        }

        long blocks = (nbytes + blocksize - 1) / blocksize;
        if (HeaderSize + (blocks * 4) > source.Length)
        {
            return false;
        }

        frame = new BloscFrame((int)nbytes, (int)blocksize, typesize, (int)blocks, (flags & ByteShuffleFlag) != 0 && typesize > 1, (flags & DontSplitFlag) != 0);
        return true;
    }

    /// <summary>
    /// Decodes every block into <paramref name="destination"/> (<see cref="NBytes"/> bytes), on up to
    /// <paramref name="threads"/> of our own threads (contiguous block ranges, at least two blocks per thread).
    /// </summary>
    public unsafe void DecodeAll(ReadOnlySpan<byte> source, Span<byte> destination, int threads)
    {
        int parts = Math.Max(1, Math.Min(threads, Blocks / 2));
        if (parts == 1)
        {
            DecodeBlocks(source, 0, Blocks, destination);
            return;
        }

        BloscFrame frame = this;
        fixed (byte* s = source)
        fixed (byte* d = destination)
        {
            nint sp = (nint)s;
            nint dp = (nint)d;
            int sourceLength = source.Length;
            int destinationLength = destination.Length;
            Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, p =>
            {
                int first = (int)((long)frame.Blocks * p / parts);
                int end = (int)((long)frame.Blocks * (p + 1) / parts);
                frame.DecodeBlocks(new ReadOnlySpan<byte>((void*)sp, sourceLength), first, end, new Span<byte>((void*)dp, destinationLength));
            });
        }
    }

    /// <summary>
    /// Decodes at least the listed elements (ascending element offsets, items of <see cref="TypeSize"/> bytes) into
    /// <paramref name="destination"/> (the whole decoded buffer): blocks holding none are skipped, blocks holding few
    /// are decompressed and only those elements gathered from the byte planes, the others decoded whole.
    /// </summary>
    /// <returns>Bytes decompressed (the work done).</returns>
    public int DecodeElements(ReadOnlySpan<byte> source, ReadOnlySpan<int> elements, Span<byte> destination)
    {
        byte[] scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(BlockSize);
        try
        {
            int itemsPerBlock = BlockSize / TypeSize;
            int done = 0;
            int i = 0;
            while (i < elements.Length)
            {
                int block = elements[i] / itemsPerBlock;
                int j = i + 1;
                int blockEnd = (block + 1) * itemsPerBlock;
                while (j < elements.Length && elements[j] < blockEnd)
                {
                    j++;
                }

                int length = BlockLength(block);
                Span<byte> planes = scratch.AsSpan(0, length);

                // Gathering costs a few scattered byte moves per element; unshuffling the block, a fraction of one.
                if (Shuffle && (j - i) * 8 <= length / TypeSize)
                {
                    Decompress(source, block, planes);
                    Gather(planes, block, elements[i..j], destination);
                }
                else
                {
                    DecodeBlock(source, block, destination.Slice(block * BlockSize, length), scratch);
                }

                done += length;
                i = j;
            }

            return done;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// Decodes the listed elements (ascending element offsets, items of <see cref="TypeSize"/> bytes) packed into
    /// <paramref name="destination"/> (<c>elements.Length × TypeSize</c> bytes: element i of the list at byte
    /// i × TypeSize), so a caller that wants a few elements of a chunk needs no chunk-sized buffer. Blocks holding none
    /// are skipped; of each other block the streams are decompressed (a stream stored raw is read where it lies) and
    /// only the listed items are put together from the byte planes — runs of consecutive items by the SIMD unshuffle,
    /// single items byte by byte.
    /// </summary>
    /// <returns>Bytes decompressed (the work done).</returns>
    public unsafe int DecodeElementsPacked(ReadOnlySpan<byte> source, ReadOnlySpan<int> elements, Span<byte> destination)
    {
        int ts = TypeSize;
        if (destination.Length < (long)elements.Length * ts)
        {
            throw new ArgumentException($"{elements.Length} elements of {ts} bytes need {(long)elements.Length * ts} bytes; the destination holds {destination.Length}", nameof(destination));
        }

        int itemsPerBlock = BlockSize / ts;
        byte[] scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(BlockSize);
        Span<int> rawAt = stackalloc int[MaxSplits];
        byte** planes = stackalloc byte*[ts];
        try
        {
            fixed (byte* src = source)
            fixed (byte* scratchPointer = scratch)
            fixed (int* el = elements)
            fixed (byte* dst = destination)
            {
                int done = 0;
                int i = 0;
                while (i < elements.Length)
                {
                    int e0 = el[i];
                    if ((uint)e0 >= (uint)(NBytes / ts))
                    {
                        throw new ArgumentOutOfRangeException(nameof(elements), $"element {e0} lies past the buffer's {NBytes / ts} items");
                    }

                    int block = e0 / itemsPerBlock;
                    int first = block * itemsPerBlock;
                    int length = BlockLength(block);
                    int perPlane = length / ts;
                    int blockEnd = first + perPlane;
                    int j = i + 1;
                    while (j < elements.Length && el[j] < blockEnd)
                    {
                        if (el[j] <= el[j - 1])
                        {
                            throw new ArgumentException($"element offsets must ascend; entry {j} is {el[j]} after {el[j - 1]}", nameof(elements));
                        }

                        j++;
                    }

                    if (Shuffle)
                    {
                        LocatePlanes(source, src, block, scratch, scratchPointer, rawAt, planes);
                        GatherPacked(planes, ts, first, el + i, j - i, dst + ((long)i * ts));
                    }
                    else
                    {
                        Decompress(source, block, scratch.AsSpan(0, length));
                        for (int k = i; k < j; k++)
                        {
                            Buffer.MemoryCopy(scratchPointer + ((long)(el[k] - first) * ts), dst + ((long)k * ts), ts, ts);
                        }
                    }

                    done += length;
                    i = j;
                }

                return done;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// Items <c>el[0..count)</c> (ascending, all in the block whose first item is <paramref name="first"/>) from the
    /// block's byte <paramref name="planes"/> to <paramref name="d"/>, one after another.
    /// </summary>
    private static unsafe void GatherPacked(byte** planes, int ts, int first, int* el, int count, byte* d)
    {
        int k = 0;
        while (k < count)
        {
            // A run of consecutive items goes through the vector unshuffle.
            int r = k + 1;
            while (r < count && el[r] == el[r - 1] + 1)
            {
                r++;
            }

            if (r - k >= 16)
            {
                ByteUnshuffle.UnshufflePlanes(planes, ts, el[k] - first, el[r - 1] - first + 1, d + ((long)k * ts));
                k = r;
                continue;
            }

            if (ts == 4)
            {
                byte* p0 = planes[0];
                byte* p1 = planes[1];
                byte* p2 = planes[2];
                byte* p3 = planes[3];
                for (; k < r; k++)
                {
                    int j = el[k] - first;
                    uint v = p0[j] | ((uint)p1[j] << 8) | ((uint)p2[j] << 16) | ((uint)p3[j] << 24);
                    *(uint*)(d + ((long)k * 4)) = System.BitConverter.IsLittleEndian ? v : System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(v);
                }

                continue;
            }

            for (; k < r; k++)
            {
                int j = el[k] - first;
                byte* o = d + ((long)k * ts);
                for (int b = 0; b < ts; b++)
                {
                    o[b] = planes[b][j];
                }
            }
        }
    }

    /// <summary>
    /// Decodes the chunk's elements listed by <paramref name="runs"/> (ascending in the chunk, items of
    /// <see cref="TypeSize"/> bytes) straight to their places in <paramref name="destination"/> (the region's output
    /// as bytes): each block is decompressed into an L2-sized scratch and its rows unshuffled from the byte planes to
    /// where they go, so the chunk never exists whole; <paramref name="finish"/> then sees each piece while it is in
    /// cache. Blocks holding no run are skipped.
    /// </summary>
    public unsafe void DecodeRuns(ReadOnlySpan<byte> source, ReadOnlySpan<Grid.ChunkRun> runs, Span<byte> destination, Grid.RunFinisher? finish)
    {
        int ts = TypeSize;
        int itemsPerBlock = BlockSize / ts;
        byte[] scratch = System.Buffers.ArrayPool<byte>.Shared.Rent(BlockSize);
        Span<int> rawAt = stackalloc int[MaxSplits];
        byte** planes = stackalloc byte*[ts];
        try
        {
            fixed (byte* src = source)
            fixed (byte* scratchPointer = scratch)
            fixed (byte* dst = destination)
            {
                int r = 0;
                int pos = runs.IsEmpty ? 0 : runs[0].ChunkElement;
                while (r < runs.Length)
                {
                    int block = pos / itemsPerBlock;
                    int length = BlockLength(block);
                    int first = block * itemsPerBlock;
                    int perPlane = length / ts;
                    int end = first + perPlane;
                    if (Shuffle)
                    {
                        LocatePlanes(source, src, block, scratch, scratchPointer, rawAt, planes);
                    }
                    else
                    {
                        Decompress(source, block, scratch.AsSpan(0, length));
                    }

                    // Every run overlapping this block (the part before it went with earlier blocks); one reaching
                    // past it is continued by the next block.
                    int k = r;
                    for (; k < runs.Length && runs[k].ChunkElement < end; k++)
                    {
                        Grid.ChunkRun run = runs[k];
                        int from = Math.Max(run.ChunkElement, first);
                        int runEnd = run.ChunkElement + run.Length;
                        int to = Math.Min(runEnd, end);
                        long at = ((long)run.DestinationElement + (from - run.ChunkElement)) * ts;
                        long bytes = (long)(to - from) * ts;
                        if (at < 0 || at + bytes > destination.Length)
                        {
                            throw new ArgumentOutOfRangeException(nameof(runs), $"run at element {run.DestinationElement} lies past the {destination.Length}-byte output");
                        }

                        if (Shuffle)
                        {
                            ByteUnshuffle.UnshufflePlanes(planes, ts, from - first, to - first, dst + at);
                        }
                        else
                        {
                            Buffer.MemoryCopy(scratchPointer + ((long)(from - first) * ts), dst + at, bytes, bytes);
                        }

                        finish?.Invoke(destination.Slice((int)at, (int)bytes));

                        if (runEnd > end)
                        {
                            break;
                        }
                    }

                    r = k;
                    pos = r < runs.Length ? Math.Max(runs[r].ChunkElement, end) : 0;
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    private void DecodeBlocks(ReadOnlySpan<byte> source, int first, int end, Span<byte> destination)
    {
        byte[]? scratch = Shuffle ? System.Buffers.ArrayPool<byte>.Shared.Rent(BlockSize) : null;
        try
        {
            for (int b = first; b < end; b++)
            {
                DecodeBlock(source, b, destination.Slice(b * BlockSize, BlockLength(b)), scratch);
            }
        }
        finally
        {
            if (scratch is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(scratch);
            }
        }
    }

    /// <summary>Decoded length of block <paramref name="block"/> (the last one may be a shorter leftover).</summary>
    public int BlockLength(int block) => block == Blocks - 1 ? NBytes - (block * BlockSize) : BlockSize;

    /// <summary>
    /// Decodes block <paramref name="block"/> into <paramref name="destination"/> (its <see cref="BlockLength"/> bytes);
    /// <paramref name="scratch"/> holds the byte planes when the block is shuffled (at least <see cref="BlockSize"/> bytes).
    /// </summary>
    public unsafe void DecodeBlock(ReadOnlySpan<byte> source, int block, Span<byte> destination, Span<byte> scratch)
    {
        int length = BlockLength(block);
        if (!Shuffle)
        {
            Decompress(source, block, destination[..length]);
            return;
        }

        if (destination.Length < length || scratch.Length < length)
        {
            throw new ArgumentException($"block {block} needs {length} bytes of destination and scratch; got {destination.Length} and {scratch.Length}");
        }

        Span<int> rawAt = stackalloc int[MaxSplits];
        byte** planes = stackalloc byte*[TypeSize];
        int n = length / TypeSize;
        fixed (byte* src = source)
        fixed (byte* s = scratch)
        fixed (byte* d = destination)
        {
            LocatePlanes(source, src, block, scratch, s, rawAt, planes);
            ByteUnshuffle.UnshufflePlanes(planes, TypeSize, 0, n, d);

            // A tail shorter than an item (only a leftover block, always one stream) is not shuffled.
            long tail = length - ((long)n * TypeSize);
            if (tail > 0)
            {
                Buffer.MemoryCopy(planes[0] + ((long)n * TypeSize), d + ((long)n * TypeSize), tail, tail);
            }
        }
    }

    /// <summary>
    /// Decompresses block <paramref name="block"/>'s streams into <paramref name="planes"/> (its <see cref="BlockLength"/>
    /// bytes): still byte-shuffled when <see cref="Shuffle"/> is set, read them with <see cref="Gather"/>.
    /// </summary>
    public void Decompress(ReadOnlySpan<byte> source, int block, Span<byte> planes) => DecompressStreams(source, block, planes, []);

    /// <summary>
    /// As <see cref="Decompress"/>, but with <paramref name="rawAt"/> (room for <see cref="MaxSplits"/>) a stream stored
    /// raw is not copied: rawAt[j] is where stream j lies in <paramref name="source"/>, or -1 when it was decompressed
    /// into its place in <paramref name="planes"/>.
    /// </summary>
    /// <returns>The block's number of streams (1, or <see cref="TypeSize"/> when split).</returns>
    private int DecompressStreams(ReadOnlySpan<byte> source, int block, Span<byte> planes, Span<int> rawAt)
    {
        int length = BlockLength(block);
        long start = BinaryPrimitives.ReadUInt32LittleEndian(source[(HeaderSize + (block * 4))..]);
        if (start < HeaderSize + ((long)Blocks * 4) || start >= source.Length)
        {
            throw new CodecException(ChunkErrorKind.Corrupt, $"blosc: block {block} starts at byte {start}, outside the {source.Length}-byte buffer");
        }

        bool leftover = block == Blocks - 1 && NBytes % BlockSize != 0;
        int splits = !DontSplit && TypeSize <= MaxSplits && length / TypeSize >= MinBufferSize && !leftover ? TypeSize : 1;
        int stream = length / splits;
        int pos = (int)start;
        for (int j = 0; j < splits; j++)
        {
            if (pos > source.Length - 4)
            {
                throw new CodecException(ChunkErrorKind.Truncated, $"blosc: block {block} stream {j} header lies past the {source.Length}-byte buffer");
            }

            int csize = BinaryPrimitives.ReadInt32LittleEndian(source[pos..]);
            pos += 4;
            if (csize < 0 || csize > source.Length - pos)
            {
                throw new CodecException(ChunkErrorKind.Truncated, $"blosc: block {block} stream {j} says {csize} compressed bytes, {source.Length - pos} remain");
            }

            ReadOnlySpan<byte> src = source.Slice(pos, csize);
            if (csize == stream && !rawAt.IsEmpty)
            {
                rawAt[j] = pos;
            }
            else if (csize == stream)
            {
                src.CopyTo(planes.Slice(j * stream, stream));
            }
            else
            {
                if (!rawAt.IsEmpty)
                {
                    rawAt[j] = -1;
                }

                int r = Lz4Native.DecompressSafe(src, planes.Slice(j * stream, stream));
                if (r != stream)
                {
                    throw new CodecException(
                        ChunkErrorKind.Corrupt,
                        $"blosc: lz4 stream {j} of block {block} does not decode to exactly its {stream} bytes (liblz4 returned {r}; a stream that would decode past them is refused)");
                }
            }

            pos += csize;
        }

        return splits;
    }

    /// <summary>
    /// Decompresses shuffled block <paramref name="block"/> and points <c>planes[k]</c> (<see cref="TypeSize"/> of them)
    /// at its byte plane k: in <paramref name="scratch"/> (at least <see cref="BlockLength"/> bytes) where decompressed,
    /// in the encoded buffer <paramref name="source"/> (pinned at <paramref name="sourcePointer"/>) where stored raw.
    /// </summary>
    private unsafe void LocatePlanes(ReadOnlySpan<byte> source, byte* sourcePointer, int block, Span<byte> scratch, byte* scratchPointer, Span<int> rawAt, byte** planes)
    {
        int perPlane = BlockLength(block) / TypeSize;
        int splits = DecompressStreams(source, block, scratch, rawAt);
        for (int k = 0; k < TypeSize; k++)
        {
            planes[k] = splits == 1
                ? (rawAt[0] >= 0 ? sourcePointer + rawAt[0] : scratchPointer) + ((long)k * perPlane)
                : rawAt[k] >= 0 ? sourcePointer + rawAt[k] : scratchPointer + ((long)k * perPlane);
        }
    }

    /// <summary>
    /// Copies the listed elements (ascending element offsets in the whole buffer, items of <see cref="TypeSize"/> bytes,
    /// all inside block <paramref name="block"/>) from the block's decompressed <paramref name="planes"/> into
    /// <paramref name="destination"/> (the whole decoded buffer) at their own offsets.
    /// </summary>
    public void Gather(ReadOnlySpan<byte> planes, int block, ReadOnlySpan<int> elements, Span<byte> destination)
    {
        int ts = TypeSize;
        int baseItem = block * (BlockSize / ts);
        if (!Shuffle)
        {
            int baseByte = block * BlockSize;
            foreach (int e in elements)
            {
                int b = e * ts;
                planes.Slice(b - baseByte, ts).CopyTo(destination.Slice(b, ts));
            }

            return;
        }

        // Plane k holds byte k of every item of the block; a leftover tail (length not a multiple of typesize) is
        // not shuffled, but whole items never reach into it.
        int perPlane = BlockLength(block) / ts;
        switch (ts)
        {
            case 4:
                foreach (int e in elements)
                {
                    int j = e - baseItem;
                    int b = e * 4;
                    destination[b] = planes[j];
                    destination[b + 1] = planes[perPlane + j];
                    destination[b + 2] = planes[(2 * perPlane) + j];
                    destination[b + 3] = planes[(3 * perPlane) + j];
                }

                break;
            default:
                foreach (int e in elements)
                {
                    int j = e - baseItem;
                    int b = e * ts;
                    for (int k = 0; k < ts; k++)
                    {
                        destination[b + k] = planes[(k * perPlane) + j];
                    }
                }

                break;
        }
    }
}
