using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Proxima.Arrays.Codecs;
using Proxima.Arrays.Grid;
using Proxima.Arrays.Storage;

namespace Proxima.Arrays.Zarr;

/// <summary>Compression for arrays written by <see cref="ZarrWriter"/>.</summary>
public enum ZarrCompression
{
    None,

    /// <summary>Blosc lz4 with byte shuffle (zarr-python's default).</summary>
    BloscLz4,
    Zlib,
    Gzip,
    Zstd,
}

/// <summary>One array to write: name, dimension names, shape, chunks, element type, attributes.</summary>
public sealed record ZarrArrayDefinition
{
    public required string Name { get; init; }

    public required IReadOnlyList<string> Dims { get; init; }

    public required IReadOnlyList<long> Shape { get; init; }

    public required IReadOnlyList<int> Chunks { get; init; }

    public required DataType Type { get; init; }

    /// <summary>Zarr fill_value (also what xarray will treat as _FillValue). Null writes <c>null</c>; NaN is the float default.</summary>
    public double? FillValue { get; init; }

    public ZarrCompression Compression { get; init; } = ZarrCompression.BloscLz4;

    /// <summary>Attributes (units, calendar, standard_name...) as JSON-serialisable values.</summary>
    public IReadOnlyDictionary<string, object?> Attributes { get; init; } = new Dictionary<string, object?>();
}

/// <summary>Options for <see cref="ZarrWriter"/>.</summary>
public sealed record ZarrWriterOptions
{
    /// <summary>2 (default; readable by zarr-python 2 and xarray) or 3.</summary>
    public int ZarrFormat { get; init; } = 2;

    /// <summary>Write consolidated metadata (.zmetadata for v2, inline consolidated_metadata for v3). Default true.</summary>
    public bool Consolidated { get; init; } = true;
}

/// <summary>
/// Writes a Zarr group (v2 with <c>_ARRAY_DIMENSIONS</c> as xarray expects, or v3 with
/// <c>dimension_names</c>) to any <see cref="IWritableStorage"/>. Add arrays, write their data, then
/// <see cref="CompleteAsync"/> to write consolidated metadata. Not thread-safe for one array's definition,
/// but chunks of different arrays or chunks may be written concurrently.
/// </summary>
public sealed class ZarrWriter
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = true,
    };

    private readonly IWritableStorage _storage;
    private readonly string _path;
    private readonly ZarrWriterOptions _options;
    private readonly Dictionary<string, object?> _groupAttributes;
    private readonly Dictionary<string, (ZarrArrayDefinition Def, List<IBytesCodec> Codecs, JsonObject Meta, JsonObject? Attrs)> _arrays = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    private ZarrWriter(IWritableStorage storage, string path, ZarrWriterOptions options, IReadOnlyDictionary<string, object?>? attributes)
    {
        _storage = storage;
        _path = path.Trim('/');
        _options = options;
        _groupAttributes = attributes is null ? [] : new Dictionary<string, object?>(attributes);
    }

    /// <summary>Starts a group at <paramref name="path"/> and writes its group metadata.</summary>
    public static async Task<ZarrWriter> CreateAsync(IWritableStorage storage, string path, IReadOnlyDictionary<string, object?>? attributes = null, ZarrWriterOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(storage);
        options ??= new ZarrWriterOptions();
        if (options.ZarrFormat is not (2 or 3))
        {
            throw new ArgumentException($"ZarrWriterOptions.ZarrFormat must be 2 or 3, got {options.ZarrFormat}");
        }

        var w = new ZarrWriter(storage, path, options, attributes);
        await w.WriteGroupMetadataAsync(null, cancellationToken).ConfigureAwait(false);
        return w;
    }

    private string Key(string name) => StorageExtensions.Join(_path, name);

    private async Task WriteGroupMetadataAsync(JsonObject? consolidated, CancellationToken cancellationToken)
    {
        if (_options.ZarrFormat == 2)
        {
            await WriteJsonAsync(Key(".zgroup"), new JsonObject { ["zarr_format"] = 2 }, cancellationToken).ConfigureAwait(false);
            await WriteJsonAsync(Key(".zattrs"), Attrs(_groupAttributes), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var group = new JsonObject { ["zarr_format"] = 3, ["node_type"] = "group", ["attributes"] = Attrs(_groupAttributes) };
            if (consolidated is not null)
            {
                group["consolidated_metadata"] = new JsonObject { ["kind"] = "inline", ["must_understand"] = false, ["metadata"] = consolidated };
            }

            await WriteJsonAsync(Key("zarr.json"), group, cancellationToken).ConfigureAwait(false);
        }
    }

    private static JsonObject Attrs(IReadOnlyDictionary<string, object?> attributes)
    {
        var o = new JsonObject();
        foreach ((string k, object? v) in attributes)
        {
            o[k] = JsonSerializer.SerializeToNode(v, JsonOptions);
        }

        return o;
    }

    private async Task WriteJsonAsync(string key, JsonNode node, CancellationToken cancellationToken) =>
        await _storage.WriteAsync(key, JsonSerializer.SerializeToUtf8Bytes(node, JsonOptions), cancellationToken).ConfigureAwait(false);

    /// <summary>Declares an array and writes its metadata.</summary>
    public async Task AddArrayAsync(ZarrArrayDefinition definition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        int rank = definition.Shape.Count;
        if (definition.Dims.Count != rank || definition.Chunks.Count != rank)
        {
            throw new ArgumentException($"array '{definition.Name}': dims ({definition.Dims.Count}), shape ({rank}) and chunks ({definition.Chunks.Count}) must have the same rank");
        }

        if (definition.Type == DataType.Unsupported || string.IsNullOrEmpty(definition.Name) || definition.Name.Contains('/', StringComparison.Ordinal) || definition.Name.StartsWith('.'))
        {
            throw new ArgumentException($"array '{definition.Name}': bad name or type");
        }

        for (int d = 0; d < rank; d++)
        {
            if (definition.Chunks[d] <= 0 || definition.Shape[d] < 0)
            {
                throw new ArgumentException($"array '{definition.Name}': chunk and shape lengths must be positive");
            }
        }

        int itemSize = definition.Type.Size();
        var codecs = new List<IBytesCodec>();
        switch (definition.Compression)
        {
            case ZarrCompression.BloscLz4:
                codecs.Add(new BloscCodec("lz4", 5, 1, itemSize));
                break;
            case ZarrCompression.Zlib:
                codecs.Add(new DeflateFamilyCodec(false, 5));
                break;
            case ZarrCompression.Gzip:
                codecs.Add(new DeflateFamilyCodec(true, 5));
                break;
            case ZarrCompression.Zstd:
                codecs.Add(new ZstdCodec(3));
                break;
        }

        double? fill = definition.FillValue ?? (definition.Type.IsFloat() ? double.NaN : null);
        JsonNode? fillNode = fill is null ? null
            : double.IsNaN(fill.Value) ? "NaN"
            : double.IsPositiveInfinity(fill.Value) ? "Infinity"
            : double.IsNegativeInfinity(fill.Value) ? "-Infinity"
            : definition.Type.IsFloat() ? JsonValue.Create(fill.Value)
            : definition.Type == DataType.Bool ? JsonValue.Create(fill.Value != 0)
            : JsonValue.Create((long)fill.Value);

        var shape = new JsonArray([.. definition.Shape.Select(x => (JsonNode)x)]);
        var chunks = new JsonArray([.. definition.Chunks.Select(x => (JsonNode)x)]);
        JsonObject meta;
        JsonObject? attrs = Attrs(definition.Attributes);
        if (_options.ZarrFormat == 2)
        {
            string endian = itemSize == 1 ? "|" : "<";
            string code = definition.Type switch
            {
                DataType.Bool => "b1",
                DataType.Int8 => "i1",
                DataType.UInt8 => "u1",
                DataType.Int16 => "i2",
                DataType.UInt16 => "u2",
                DataType.Int32 => "i4",
                DataType.UInt32 => "u4",
                DataType.Int64 => "i8",
                DataType.UInt64 => "u8",
                DataType.Float16 => "f2",
                DataType.Float32 => "f4",
                _ => "f8",
            };
            JsonNode? compressor = definition.Compression switch
            {
                ZarrCompression.BloscLz4 => new JsonObject { ["id"] = "blosc", ["cname"] = "lz4", ["clevel"] = 5, ["shuffle"] = 1, ["blocksize"] = 0 },
                ZarrCompression.Zlib => new JsonObject { ["id"] = "zlib", ["level"] = 5 },
                ZarrCompression.Gzip => new JsonObject { ["id"] = "gzip", ["level"] = 5 },
                ZarrCompression.Zstd => new JsonObject { ["id"] = "zstd", ["level"] = 3 },
                _ => null,
            };
            meta = new JsonObject
            {
                ["zarr_format"] = 2,
                ["shape"] = shape,
                ["chunks"] = chunks,
                ["dtype"] = endian + code,
                ["compressor"] = compressor,
                ["fill_value"] = fillNode,
                ["filters"] = null,
                ["order"] = "C",
                ["dimension_separator"] = ".",
            };
            attrs["_ARRAY_DIMENSIONS"] = new JsonArray([.. definition.Dims.Select(x => (JsonNode)x)]);
            await WriteJsonAsync(Key(definition.Name + "/.zarray"), meta, cancellationToken).ConfigureAwait(false);
            await WriteJsonAsync(Key(definition.Name + "/.zattrs"), attrs, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var codecList = new JsonArray { new JsonObject { ["name"] = "bytes", ["configuration"] = new JsonObject { ["endian"] = "little" } } };
            switch (definition.Compression)
            {
                case ZarrCompression.BloscLz4:
                    codecList.Add(new JsonObject { ["name"] = "blosc", ["configuration"] = new JsonObject { ["cname"] = "lz4", ["clevel"] = 5, ["shuffle"] = "shuffle", ["typesize"] = itemSize, ["blocksize"] = 0 } });
                    break;
                case ZarrCompression.Gzip:
                case ZarrCompression.Zlib:
                    codecs[0] = new DeflateFamilyCodec(true, 5);
                    codecList.Add(new JsonObject { ["name"] = "gzip", ["configuration"] = new JsonObject { ["level"] = 5 } });
                    break;
                case ZarrCompression.Zstd:
                    codecList.Add(new JsonObject { ["name"] = "zstd", ["configuration"] = new JsonObject { ["level"] = 3, ["checksum"] = false } });
                    break;
            }

            meta = new JsonObject
            {
                ["zarr_format"] = 3,
                ["node_type"] = "array",
                ["shape"] = shape,
                ["data_type"] = definition.Type == DataType.Bool ? "bool" : definition.Type.NumpyName(),
                ["chunk_grid"] = new JsonObject { ["name"] = "regular", ["configuration"] = new JsonObject { ["chunk_shape"] = chunks } },
                ["chunk_key_encoding"] = new JsonObject { ["name"] = "default", ["configuration"] = new JsonObject { ["separator"] = "/" } },
                ["fill_value"] = fillNode ?? 0,
                ["codecs"] = codecList,
                ["attributes"] = attrs,
                ["dimension_names"] = new JsonArray([.. definition.Dims.Select(x => (JsonNode)x)]),
            };
            await WriteJsonAsync(Key(definition.Name + "/zarr.json"), meta, cancellationToken).ConfigureAwait(false);
        }

        lock (_lock)
        {
            _arrays[definition.Name] = (definition, codecs, meta, attrs);
        }
    }

    /// <summary>Writes one chunk: <paramref name="data"/> is the full chunk in C order (edge chunks padded).</summary>
    public async Task WriteChunkAsync<T>(string name, long[] chunkIndex, ReadOnlyMemory<T> data, CancellationToken cancellationToken = default)
        where T : unmanaged
    {
        (ZarrArrayDefinition def, List<IBytesCodec> codecs) = Get<T>(name);
        long elements = NdIndex.Product(def.Chunks.ToArray());
        if (data.Length != elements || chunkIndex.Length != def.Shape.Count)
        {
            throw new ArgumentException($"array '{name}': a chunk has {elements} elements and {def.Shape.Count} indices");
        }

        byte[] encoded = CodecPipeline.Encode(codecs, MemoryMarshal.AsBytes(data.Span));
        await _storage.WriteAsync(Key(name + "/" + ChunkName(chunkIndex)), encoded, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes one chunk given as raw little-endian bytes of the array's type (full chunk, C order).</summary>
    internal async Task WriteChunkBytesAsync(string name, long[] chunkIndex, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        (ZarrArrayDefinition Def, List<IBytesCodec> Codecs, JsonObject Meta, JsonObject? Attrs) a;
        lock (_lock)
        {
            a = _arrays[name];
        }

        byte[] encoded = CodecPipeline.Encode(a.Codecs, data.Span);
        await _storage.WriteAsync(Key(name + "/" + ChunkName(chunkIndex)), encoded, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Copies every numeric variable of <paramref name="source"/> (Zarr, NetCDF, a collection, kerchunk)
    /// into a new Zarr store, keeping stored types, chunking, attributes and CF packing, so xarray
    /// decodes the copy exactly as it decodes the source. Missing chunks stay missing.
    /// </summary>
    public static async Task<ZarrWriter> ConvertAsync(GridDataset source, IWritableStorage storage, string path, ZarrCompression compression = ZarrCompression.BloscLz4, ZarrWriterOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var groupAttrs = new Dictionary<string, object?>();
        foreach ((string k, AttributeValue v) in source.Attributes)
        {
            groupAttrs[k] = v.Json;
        }

        ZarrWriter w = await CreateAsync(storage, path, groupAttrs, options, cancellationToken).ConfigureAwait(false);
        foreach (GridVariable v in source.Variables)
        {
            if (!v.IsNumeric || v.Name.Contains('/', StringComparison.Ordinal))
            {
                continue;
            }

            var attrs = new Dictionary<string, object?>();
            foreach ((string k, AttributeValue a) in v.Attributes)
            {
                if (k != "_FillValue")
                {
                    attrs[k] = a.Json;
                }
            }

            // Zarr v2's fill_value is what xarray masks with, so it carries the source's _FillValue.
            double? fill = v.Source.FillValueIsMask && v.Source.FillValue is not null ? v.Source.FillValue
                : v.Attributes.TryGetValue("_FillValue", out AttributeValue fv) ? fv.AsDouble() : null;
            await w.AddArrayAsync(new ZarrArrayDefinition
            {
                Name = v.Name,
                Dims = v.Dims,
                Shape = v.Shape,
                Chunks = v.ChunkShape,
                Type = v.StoredType,
                FillValue = fill,
                Compression = compression,
                Attributes = attrs,
            }, cancellationToken).ConfigureAwait(false);

            int bytes = v.ChunkElementCount * v.StoredType.Size();
            byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(1, bytes));
            try
            {
                long[] grid = [.. v.ChunkGrid];
                bool empty = Array.Exists(grid, g => g == 0);
                var idx = new long[grid.Length];
                while (!empty)
                {
                    Array.Clear(buffer, 0, bytes);
                    if (await v.Source.ReadChunkAsync((long[])idx.Clone(), buffer.AsMemory(0, bytes), cancellationToken).ConfigureAwait(false))
                    {
                        await w.WriteChunkBytesAsync(v.Name, (long[])idx.Clone(), buffer.AsMemory(0, bytes), cancellationToken).ConfigureAwait(false);
                    }

                    int k = grid.Length - 1;
                    while (k >= 0 && ++idx[k] >= grid[k])
                    {
                        idx[k] = 0;
                        k--;
                    }

                    if (k < 0)
                    {
                        break;
                    }
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        await w.CompleteAsync(cancellationToken).ConfigureAwait(false);
        return w;
    }

    /// <summary>Writes a whole array given in C order, chunk by chunk (edge chunks padded with the fill value).</summary>
    public async Task WriteArrayAsync<T>(string name, ReadOnlyMemory<T> data, CancellationToken cancellationToken = default)
        where T : unmanaged
    {
        (ZarrArrayDefinition def, _) = Get<T>(name);
        long[] shape = [.. def.Shape];
        int[] chunks = [.. def.Chunks];
        if (data.Length != NdIndex.Product(shape))
        {
            throw new ArgumentException($"array '{name}' has {NdIndex.Product(shape)} elements, got {data.Length}");
        }

        int rank = shape.Length;
        long[] chunkShapeLong = [.. chunks.Select(c => (long)c)];
        int chunkElements = (int)NdIndex.Product(chunks);
        T fill = FillAs<T>(def);
        var grid = new long[rank];
        for (int d = 0; d < rank; d++)
        {
            grid[d] = (shape[d] + chunks[d] - 1) / chunks[d];
            if (grid[d] == 0)
            {
                return;
            }
        }

        var idx = new long[rank];
        T[] buffer = ArrayPool<T>.Shared.Rent(Math.Max(1, chunkElements));
        try
        {
            while (true)
            {
                var start = new long[rank];
                var count = new long[rank];
                var zero = new long[rank];
                for (int d = 0; d < rank; d++)
                {
                    start[d] = idx[d] * chunks[d];
                    count[d] = Math.Min(chunks[d], shape[d] - start[d]);
                }

                Span<T> chunk = buffer.AsSpan(0, chunkElements);
                chunk.Fill(fill);
                if (rank == 0)
                {
                    chunk[0] = data.Span[0];
                }
                else
                {
                    NdIndex.CopyBox<T>(data.Span, shape, start, chunk, chunkShapeLong, zero, count);
                }

                await WriteChunkAsync<T>(name, (long[])idx.Clone(), buffer.AsMemory(0, chunkElements), cancellationToken).ConfigureAwait(false);
                int k = rank - 1;
                while (k >= 0 && ++idx[k] >= grid[k])
                {
                    idx[k] = 0;
                    k--;
                }

                if (k < 0)
                {
                    break;
                }
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(buffer);
        }
    }

    /// <summary>Writes consolidated metadata when enabled.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken = default)
    {
        if (!_options.Consolidated)
        {
            return;
        }

        var metadata = new JsonObject();
        lock (_lock)
        {
            if (_options.ZarrFormat == 2)
            {
                metadata[".zgroup"] = new JsonObject { ["zarr_format"] = 2 };
                metadata[".zattrs"] = Attrs(_groupAttributes);
                foreach ((string name, var a) in _arrays)
                {
                    metadata[name + "/.zarray"] = a.Meta.DeepClone();
                    metadata[name + "/.zattrs"] = a.Attrs!.DeepClone();
                }
            }
            else
            {
                foreach ((string name, var a) in _arrays)
                {
                    metadata[name] = a.Meta.DeepClone();
                }
            }
        }

        if (_options.ZarrFormat == 2)
        {
            await WriteJsonAsync(Key(".zmetadata"), new JsonObject { ["metadata"] = metadata, ["zarr_consolidated_format"] = 1 }, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await WriteGroupMetadataAsync(metadata, cancellationToken).ConfigureAwait(false);
        }
    }

    private string ChunkName(long[] idx)
    {
        if (_options.ZarrFormat == 3)
        {
            return idx.Length == 0 ? "c" : "c/" + string.Join('/', idx);
        }

        return idx.Length == 0 ? "0" : string.Join('.', idx);
    }

    private (ZarrArrayDefinition, List<IBytesCodec>) Get<T>(string name)
        where T : unmanaged
    {
        (ZarrArrayDefinition Def, List<IBytesCodec> Codecs, JsonObject Meta, JsonObject? Attrs) a;
        lock (_lock)
        {
            if (!_arrays.TryGetValue(name, out a))
            {
                throw new ArgumentException($"array '{name}' was not added");
            }
        }

        Type expected = a.Def.Type switch
        {
            DataType.Bool or DataType.UInt8 => typeof(byte),
            DataType.Int8 => typeof(sbyte),
            DataType.Int16 => typeof(short),
            DataType.UInt16 => typeof(ushort),
            DataType.Int32 => typeof(int),
            DataType.UInt32 => typeof(uint),
            DataType.Int64 => typeof(long),
            DataType.UInt64 => typeof(ulong),
            DataType.Float16 => typeof(Half),
            DataType.Float32 => typeof(float),
            _ => typeof(double),
        };
        if (typeof(T) != expected)
        {
            throw new ArgumentException($"array '{name}' holds {a.Def.Type.NumpyName()}; write {expected.Name} values, not {typeof(T).Name}");
        }

        return (a.Def, a.Codecs);
    }

    private static T FillAs<T>(ZarrArrayDefinition def)
        where T : unmanaged
    {
        double f = def.FillValue ?? (def.Type.IsFloat() ? double.NaN : 0);
        object boxed = typeof(T) == typeof(float) ? (float)f
            : typeof(T) == typeof(double) ? f
            : typeof(T) == typeof(Half) ? (Half)f
            : typeof(T) == typeof(byte) ? (byte)f
            : typeof(T) == typeof(sbyte) ? (sbyte)f
            : typeof(T) == typeof(short) ? (short)f
            : typeof(T) == typeof(ushort) ? (ushort)f
            : typeof(T) == typeof(int) ? (int)f
            : typeof(T) == typeof(uint) ? (uint)f
            : typeof(T) == typeof(long) ? (long)f
            : (object)(ulong)f;
        return Unsafe.Unbox<T>(boxed);
    }
}
