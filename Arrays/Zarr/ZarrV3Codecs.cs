using System.Buffers;
using System.Text.Json;
using Proxima.Arrays.Codecs;
using Proxima.Arrays.Grid;

namespace Proxima.Arrays.Zarr;

/// <summary>Sharding configuration (<c>sharding_indexed</c>).</summary>
internal sealed record ShardingSpec(int[] InnerChunkShape, ZarrV3Chain Inner, ZarrV3Chain Index, bool IndexAtStart);

/// <summary>
/// A Zarr v3 codec chain: array→array (transpose), one array→bytes (bytes or sharding_indexed), then
/// bytes→bytes (blosc, gzip, zstd, crc32c).
/// </summary>
internal sealed class ZarrV3Chain
{
    private readonly List<int[]> _transposes;
    private readonly bool _bigEndian;
    private readonly List<IBytesCodec> _bytesCodecs;
    private readonly int[] _chunkShape;
    private readonly int _itemSize;

    private ZarrV3Chain(List<int[]> transposes, bool bigEndian, List<IBytesCodec> bytesCodecs, ShardingSpec? sharding, int[] chunkShape, int itemSize)
    {
        _transposes = transposes;
        _bigEndian = bigEndian;
        _bytesCodecs = bytesCodecs;
        Sharding = sharding;
        _chunkShape = chunkShape;
        _itemSize = itemSize;
    }

    public ShardingSpec? Sharding { get; }

    public IReadOnlyList<IBytesCodec> BytesCodecs => _bytesCodecs;

    public static ZarrV3Chain Parse(JsonElement codecs, DataType type, int[] chunkShape, string location, int depth = 0)
    {
        if (codecs.ValueKind != JsonValueKind.Array)
        {
            throw new ArrayFormatException(location, "'codecs' must be an array");
        }

        if (depth > 2)
        {
            throw new ArrayFormatException(location, "sharding nested too deeply");
        }

        int itemSize = Math.Max(1, type.Size());
        var transposes = new List<int[]>();
        bool big = false;
        bool haveArrayToBytes = false;
        var bytesCodecs = new List<IBytesCodec>();
        ShardingSpec? sharding = null;
        int[] shape = chunkShape;
        foreach (JsonElement c in codecs.EnumerateArray())
        {
            string name = c.TryGetProperty("name", out JsonElement n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : throw new ArrayFormatException(location, $"codec without a name: {c.GetRawText()}");
            JsonElement cfg = c.TryGetProperty("configuration", out JsonElement cf) ? cf : default;
            switch (name)
            {
                case "transpose":
                    {
                        if (haveArrayToBytes)
                        {
                            throw new ArrayFormatException(location, "transpose after the array→bytes codec");
                        }

                        int[] order = ParseOrder(cfg, shape.Length, location);
                        transposes.Add(order);
                        var next = new int[shape.Length];
                        for (int i = 0; i < shape.Length; i++)
                        {
                            next[i] = shape[order[i]];
                        }

                        shape = next;
                        break;
                    }

                case "bytes":
                case "endian":
                    {
                        string endian = cfg.ValueKind == JsonValueKind.Object && cfg.TryGetProperty("endian", out JsonElement e) && e.ValueKind == JsonValueKind.String ? e.GetString()! : "little";
                        big = endian == "big";
                        haveArrayToBytes = true;
                        break;
                    }

                case "sharding_indexed":
                    {
                        if (haveArrayToBytes || transposes.Count > 0)
                        {
                            throw new ArrayFormatException(location, "sharding_indexed must be the only array→bytes codec and come first");
                        }

                        int[] inner = ZarrJson.ChunkArray(cfg, "chunk_shape", location, shape.Length);
                        for (int d = 0; d < inner.Length; d++)
                        {
                            if (shape[d] % inner[d] != 0)
                            {
                                throw new ArrayFormatException(location, $"shard shape [{string.Join(", ", shape)}] is not a multiple of inner chunk shape [{string.Join(", ", inner)}]");
                            }
                        }

                        ZarrV3Chain innerChain = Parse(cfg.GetProperty("codecs"), type, inner, location, depth + 1);
                        var indexShape = new int[inner.Length + 1];
                        for (int d = 0; d < inner.Length; d++)
                        {
                            indexShape[d] = shape[d] / inner[d];
                        }

                        indexShape[^1] = 2;
                        JsonElement indexCodecs = cfg.TryGetProperty("index_codecs", out JsonElement ic) ? ic : JsonDocument.Parse("[{\"name\":\"bytes\",\"configuration\":{\"endian\":\"little\"}},{\"name\":\"crc32c\"}]").RootElement;
                        ZarrV3Chain indexChain = Parse(indexCodecs, DataType.UInt64, indexShape, location, depth + 1);
                        bool atStart = cfg.TryGetProperty("index_location", out JsonElement loc) && loc.ValueKind == JsonValueKind.String && loc.GetString() == "start";
                        sharding = new ShardingSpec(inner, innerChain, indexChain, atStart);
                        haveArrayToBytes = true;
                        break;
                    }

                case "crc32c":
                    bytesCodecs.Add(new Crc32cCodec());
                    break;
                case "gzip":
                    bytesCodecs.Add(new DeflateFamilyCodec(gzip: true, Int(cfg, "level") ?? 5));
                    break;
                case "zlib":
                    bytesCodecs.Add(new DeflateFamilyCodec(gzip: false, Int(cfg, "level") ?? 5));
                    break;
                case "zstd":
                    bytesCodecs.Add(new ZstdCodec(Int(cfg, "level") ?? 0));
                    break;
                case "blosc":
                    {
                        string cname = cfg.ValueKind == JsonValueKind.Object ? NumcodecsFactory.GetString(cfg, "cname") ?? "lz4" : "lz4";
                        string shuffle = cfg.ValueKind == JsonValueKind.Object ? NumcodecsFactory.GetString(cfg, "shuffle") ?? "noshuffle" : "noshuffle";
                        int typesize = Int(cfg, "typesize") ?? itemSize;
                        bytesCodecs.Add(new BloscCodec(cname, Int(cfg, "clevel") ?? 5, shuffle switch { "shuffle" => 1, "bitshuffle" => 2, _ => 0 }, typesize, Int(cfg, "blocksize") ?? 0));
                        break;
                    }

                default:
                    if (c.TryGetProperty("must_understand", out JsonElement mu) && mu.ValueKind == JsonValueKind.False)
                    {
                        break;
                    }

                    throw new ArrayFormatException(location, $"unsupported codec '{name}'");
            }
        }

        if (!haveArrayToBytes)
        {
            throw new ArrayFormatException(location, "codec chain has no array→bytes codec (bytes or sharding_indexed)");
        }

        if (sharding is not null && bytesCodecs.Count > 0)
        {
            throw new ArrayFormatException(location, "bytes→bytes codecs around a whole shard are not supported");
        }

        return new ZarrV3Chain(transposes, big, bytesCodecs, sharding, chunkShape, itemSize);
    }

    private static int? Int(JsonElement cfg, string name) => cfg.ValueKind == JsonValueKind.Object ? NumcodecsFactory.GetInt(cfg, name) : null;

    private static int[] ParseOrder(JsonElement cfg, int rank, string location)
    {
        if (cfg.ValueKind != JsonValueKind.Object || !cfg.TryGetProperty("order", out JsonElement o))
        {
            throw new ArrayFormatException(location, "transpose lacks 'order'");
        }

        var order = new int[rank];
        if (o.ValueKind == JsonValueKind.String)
        {
            // Early drafts: "C" or "F".
            for (int i = 0; i < rank; i++)
            {
                order[i] = o.GetString() == "F" ? rank - 1 - i : i;
            }

            return order;
        }

        if (o.ValueKind != JsonValueKind.Array || o.GetArrayLength() != rank)
        {
            throw new ArrayFormatException(location, $"transpose order must list {rank} axes");
        }

        var seen = new bool[rank];
        int k = 0;
        foreach (JsonElement x in o.EnumerateArray())
        {
            int a = x.TryGetInt32(out int v) ? v : -1;
            if (a < 0 || a >= rank || seen[a])
            {
                throw new ArrayFormatException(location, $"transpose order {o.GetRawText()} is not a permutation");
            }

            seen[a] = true;
            order[k++] = a;
        }

        return order;
    }

    /// <summary>Decodes one (non-sharded) chunk into native-endian C-order bytes of the chunk shape.</summary>
    public void Decode(ReadOnlySpan<byte> encoded, Span<byte> destination)
    {
        if (_transposes.Count == 0)
        {
            CodecPipeline.Decode(_bytesCodecs, encoded, destination);
            if (_bigEndian)
            {
                ZarrV2Array.SwapInPlace(destination, _itemSize);
            }

            return;
        }

        byte[] a = ArrayPool<byte>.Shared.Rent(destination.Length);
        byte[] b = ArrayPool<byte>.Shared.Rent(destination.Length);
        try
        {
            Span<byte> cur = a.AsSpan(0, destination.Length);
            Span<byte> other = b.AsSpan(0, destination.Length);
            CodecPipeline.Decode(_bytesCodecs, encoded, cur);
            if (_bigEndian)
            {
                ZarrV2Array.SwapInPlace(cur, _itemSize);
            }

            // Shapes after each transpose, to undo them last-first.
            int rank = _chunkShape.Length;
            var shapes = new List<int[]> { _chunkShape };
            foreach (int[] order in _transposes)
            {
                int[] prev = shapes[^1];
                var next = new int[rank];
                for (int i = 0; i < rank; i++)
                {
                    next[i] = prev[order[i]];
                }

                shapes.Add(next);
            }

            Span<int> inverse = stackalloc int[rank];
            for (int t = _transposes.Count - 1; t >= 0; t--)
            {
                int[] order = _transposes[t];
                for (int i = 0; i < rank; i++)
                {
                    inverse[order[i]] = i;
                }

                Span<byte> target = t == 0 ? destination : other;
                NdIndex.Transpose(cur, target, shapes[t + 1], inverse, _itemSize);
                if (t != 0)
                {
                    Span<byte> tmp = cur;
                    cur = other;
                    other = tmp;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(a);
            ArrayPool<byte>.Shared.Return(b);
        }
    }

    /// <summary>Encoded length of a chunk when every bytes→bytes codec has a fixed overhead (crc32c); -1 otherwise.</summary>
    public int FixedEncodedLength(int decodedLength)
    {
        int len = decodedLength;
        foreach (IBytesCodec c in _bytesCodecs)
        {
            len = c.EncodedLength(len);
            if (len < 0)
            {
                return -1;
            }
        }

        return len;
    }
}
