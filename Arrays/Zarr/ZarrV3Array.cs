using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Proxima.Arrays.Grid;
using Proxima.Arrays.Storage;

namespace Proxima.Arrays.Zarr;

/// <summary>
/// A Zarr v3 array. With <c>sharding_indexed</c> the exposed chunks are the inner chunks: each read
/// fetches the shard index once (cached) and then only the inner chunk's byte range.
/// </summary>
internal sealed class ZarrV3Array : ChunkSource
{
    private const int MaxCachedIndexes = 4096;
    private const ulong Empty = ulong.MaxValue;

    private readonly IStorage _storage;
    private readonly string _path;
    private readonly bool _defaultKeys;
    private readonly char _separator;
    private readonly ZarrV3Chain _chain;
    private readonly int[] _gridChunkShape;
    private readonly int _chunkBytes;
    private readonly ConcurrentDictionary<string, ulong[]?> _indexCache = new(StringComparer.Ordinal);

    private ZarrV3Array(IStorage storage, string path, long[] shape, int[] exposedChunks, int[] gridChunks, DataType type, bool defaultKeys, char separator, ZarrV3Chain chain, string location)
        : base(shape, exposedChunks, type, location)
    {
        _storage = storage;
        _path = path;
        _defaultKeys = defaultKeys;
        _separator = separator;
        _chain = chain;
        _gridChunkShape = gridChunks;
        _chunkBytes = (int)Math.Min(int.MaxValue, NdIndex.Product(exposedChunks) * Math.Max(1, type.Size()));
    }

    public static DataType ParseDataType(string name) => name switch
    {
        "bool" => DataType.Bool,
        _ => DataTypes.FromNumpyName(name) ?? DataType.Unsupported,
    };

    public static ZarrV3Array Parse(IStorage storage, string path, JsonElement meta, GridDatasetOptions options, out string[]? dimensionNames)
    {
        string location = storage.Describe(StorageExtensions.Join(path, "zarr.json"));
        long[] shape = ZarrJson.LongArray(meta, "shape", location);
        long elements = 1;
        foreach (long s in shape)
        {
            elements = s == 0 ? 0 : elements > options.MaxElements / s ? long.MaxValue : elements * s;
        }

        if (elements > options.MaxElements)
        {
            throw new ArrayFormatException(location, $"shape [{string.Join(", ", shape)}] exceeds the limit of {options.MaxElements} elements");
        }

        string dtypeName = meta.TryGetProperty("data_type", out JsonElement dt) && dt.ValueKind == JsonValueKind.String ? dt.GetString()! : throw new ArrayFormatException(location, "missing 'data_type'");
        DataType type = ParseDataType(dtypeName);

        if (!meta.TryGetProperty("chunk_grid", out JsonElement grid) || grid.ValueKind != JsonValueKind.Object
            || !grid.TryGetProperty("name", out JsonElement gridName) || gridName.GetString() != "regular")
        {
            throw new ArrayFormatException(location, "only the 'regular' chunk_grid is supported");
        }

        int[] chunks = ZarrJson.ChunkArray(grid.GetProperty("configuration"), "chunk_shape", location, shape.Length);

        bool defaultKeys = true;
        char separator = '/';
        if (meta.TryGetProperty("chunk_key_encoding", out JsonElement cke) && cke.ValueKind == JsonValueKind.Object)
        {
            string encName = cke.TryGetProperty("name", out JsonElement en) ? en.GetString() ?? "default" : "default";
            defaultKeys = encName switch
            {
                "default" => true,
                "v2" => false,
                _ => throw new ArrayFormatException(location, $"unsupported chunk_key_encoding '{encName}'"),
            };
            separator = defaultKeys ? '/' : '.';
            if (cke.TryGetProperty("configuration", out JsonElement cc) && cc.ValueKind == JsonValueKind.Object
                && cc.TryGetProperty("separator", out JsonElement sep) && sep.ValueKind == JsonValueKind.String)
            {
                string s = sep.GetString()!;
                separator = s is "/" or "." ? s[0] : throw new ArrayFormatException(location, $"separator must be '/' or '.', got '{s}'");
            }
        }

        if (!meta.TryGetProperty("codecs", out JsonElement codecs))
        {
            throw new ArrayFormatException(location, "missing 'codecs'");
        }

        ZarrV3Chain chain = type == DataType.Unsupported
            ? ZarrV3Chain.Parse(JsonDocument.Parse("[{\"name\":\"bytes\"}]").RootElement, DataType.UInt8, chunks, location)
            : ZarrV3Chain.Parse(codecs, type, chunks, location);
        int[] exposed = chain.Sharding?.InnerChunkShape ?? chunks;

        dimensionNames = null;
        if (meta.TryGetProperty("dimension_names", out JsonElement dn) && dn.ValueKind == JsonValueKind.Array)
        {
            if (dn.GetArrayLength() != shape.Length)
            {
                throw new ArrayFormatException(location, $"dimension_names has {dn.GetArrayLength()} names for {shape.Length} dimensions");
            }

            dimensionNames = new string[shape.Length];
            int i = 0;
            foreach (JsonElement x in dn.EnumerateArray())
            {
                dimensionNames[i] = x.ValueKind == JsonValueKind.String ? x.GetString()! : "dim_" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                i++;
            }
        }

        double? fill = meta.TryGetProperty("fill_value", out JsonElement fv) ? ZarrJson.FillValue(fv, type, false, location) : null;
        return new ZarrV3Array(storage, path, shape, exposed, chunks, type, defaultKeys, separator, chain, storage.Describe(path))
        {
            FillValue = fill,
            FillValueIsMask = false,
        };
    }

    public string ChunkKey(ReadOnlySpan<long> gridIndex)
    {
        var sb = new StringBuilder(_path.Length + 16);
        if (_path.Length > 0)
        {
            sb.Append(_path).Append('/');
        }

        if (_defaultKeys)
        {
            sb.Append('c');
            foreach (long i in gridIndex)
            {
                sb.Append(_separator).Append(i);
            }
        }
        else if (gridIndex.Length == 0)
        {
            sb.Append('0');
        }
        else
        {
            for (int d = 0; d < gridIndex.Length; d++)
            {
                if (d > 0)
                {
                    sb.Append(_separator);
                }

                sb.Append(gridIndex[d]);
            }
        }

        return sb.ToString();
    }

    public override async ValueTask<bool> ReadChunkAsync(long[] chunkIndex, Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (_chain.Sharding is ShardingSpec sharding)
        {
            return await ReadInnerChunkAsync(sharding, chunkIndex, destination, cancellationToken).ConfigureAwait(false);
        }

        string key = ChunkKey(chunkIndex);
        long maxEncoded = ((long)_chunkBytes * 2) + 65536;
        using IMemoryOwner<byte>? encoded = await _storage.ReadAsync(key, 0, null, maxEncoded, cancellationToken).ConfigureAwait(false);
        if (encoded is null)
        {
            return false;
        }

        Decode(_chain, encoded.Memory.Span, destination.Span[.._chunkBytes], key);
        return true;
    }

    private void Decode(ZarrV3Chain chain, ReadOnlySpan<byte> encoded, Span<byte> destination, string key)
    {
        try
        {
            chain.Decode(encoded, destination);
        }
        catch (CodecException e)
        {
            throw new ChunkDecodeException(_storage.Describe(key), e.Kind, e.Message, e);
        }
    }

    private async ValueTask<bool> ReadInnerChunkAsync(ShardingSpec sharding, long[] chunkIndex, Memory<byte> destination, CancellationToken cancellationToken)
    {
        int rank = chunkIndex.Length;
        var shardIndex = new long[rank];
        long position = 0;
        for (int d = 0; d < rank; d++)
        {
            int per = _gridChunkShape[d] / sharding.InnerChunkShape[d];
            shardIndex[d] = chunkIndex[d] / per;
            position = (position * per) + (chunkIndex[d] % per);
        }

        string key = ChunkKey(shardIndex);
        ulong[]? index = await GetShardIndexAsync(sharding, key, cancellationToken).ConfigureAwait(false);
        if (index is null)
        {
            return false;
        }

        ulong offset = index[2 * position];
        ulong nbytes = index[(2 * position) + 1];
        if (offset == Empty && nbytes == Empty)
        {
            return false;
        }

        long maxEncoded = ((long)_chunkBytes * 2) + 65536;
        if (nbytes > (ulong)maxEncoded || offset > long.MaxValue)
        {
            throw new ChunkDecodeException(_storage.Describe(key), ChunkErrorKind.Corrupt, $"shard index entry {position} (offset {offset}, {nbytes} bytes) is out of range");
        }

        using IMemoryOwner<byte>? encoded = await _storage.ReadAsync(key, (long)offset, (long)nbytes, maxEncoded, cancellationToken).ConfigureAwait(false);
        if (encoded is null)
        {
            return false;
        }

        if ((ulong)encoded.Memory.Length != nbytes)
        {
            throw new ChunkDecodeException(_storage.Describe(key), ChunkErrorKind.Corrupt, $"shard index entry {position} points past the end of the shard (offset {offset}, {nbytes} bytes)");
        }

        Decode(sharding.Inner, encoded.Memory.Span, destination.Span[.._chunkBytes], key);
        return true;
    }

    private async ValueTask<ulong[]?> GetShardIndexAsync(ShardingSpec sharding, string key, CancellationToken cancellationToken)
    {
        if (_indexCache.TryGetValue(key, out ulong[]? cached))
        {
            return cached;
        }

        long? size = await _storage.GetSizeAsync(key, cancellationToken).ConfigureAwait(false);
        if (size is null)
        {
            return null;
        }

        int entries = 1;
        for (int d = 0; d < _gridChunkShape.Length; d++)
        {
            entries = checked(entries * (_gridChunkShape[d] / sharding.InnerChunkShape[d]));
        }

        int decodedLength = checked(entries * 16);
        int encodedLength = sharding.Index.FixedEncodedLength(decodedLength);
        if (encodedLength < 0)
        {
            throw new ArrayFormatException(_storage.Describe(key), "shard index codecs must have a fixed size (bytes, crc32c)");
        }

        if (size.Value < encodedLength)
        {
            throw new ChunkDecodeException(_storage.Describe(key), ChunkErrorKind.Truncated, $"shard of {size.Value} bytes cannot hold its {encodedLength}-byte index");
        }

        long offset = sharding.IndexAtStart ? 0 : size.Value - encodedLength;
        using IMemoryOwner<byte>? raw = await _storage.ReadAsync(key, offset, encodedLength, encodedLength, cancellationToken).ConfigureAwait(false);
        if (raw is null || raw.Memory.Length != encodedLength)
        {
            throw new ChunkDecodeException(_storage.Describe(key), ChunkErrorKind.Truncated, "shard index could not be read whole");
        }

        byte[] decoded = new byte[decodedLength];
        Decode(sharding.Index, raw.Memory.Span, decoded, key);
        var index = new ulong[entries * 2];
        for (int i = 0; i < index.Length; i++)
        {
            index[i] = BinaryPrimitives.ReadUInt64LittleEndian(decoded.AsSpan(i * 8));
        }

        long limit = size.Value;
        for (int i = 0; i < entries; i++)
        {
            ulong o = index[2 * i], n = index[(2 * i) + 1];
            if (o == Empty && n == Empty)
            {
                continue;
            }

            if (o > (ulong)limit || n > (ulong)limit || o + n > (ulong)limit)
            {
                throw new ChunkDecodeException(_storage.Describe(key), ChunkErrorKind.Corrupt, $"corrupt shard index: entry {i} (offset {o}, {n} bytes) lies outside the {limit}-byte shard");
            }
        }

        if (_indexCache.Count >= MaxCachedIndexes)
        {
            _indexCache.Clear();
        }

        _indexCache[key] = index;
        return index;
    }
}
