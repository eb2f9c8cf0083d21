"""Zarr v3 stores written from the v3 specification (zarr-python 2.13 cannot write v3):
zarr.json metadata, default and v2 chunk keys, bytes/transpose/blosc/gzip/zstd/crc32c codecs and
sharding_indexed with the index at the end or the start. Expected values are the NumPy arrays."""
import itertools
import json
import os
import struct
import sys

import numcodecs
import numpy as np

from refcommon import Manifest

out = sys.argv[1]
stores = os.path.join(out, "v3")
os.makedirs(stores, exist_ok=True)
m = Manifest(out)
rng = np.random.default_rng(3)

_T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (0x82F63B78 ^ (c >> 1)) if c & 1 else c >> 1
    _T.append(c)


def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c = _T[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


CODE = {"bool": "b1", "int8": "i1", "uint8": "u1", "int16": "i2", "uint16": "u2", "int32": "i4", "uint32": "u4",
        "int64": "i8", "uint64": "u8", "float16": "f2", "float32": "f4", "float64": "f8"}


def encode_bytes(b, codecs, start):
    for c in codecs[start:]:
        n, cfg = c["name"], c.get("configuration", {})
        if n == "gzip":
            b = numcodecs.GZip(cfg["level"]).encode(b)
        elif n == "zstd":
            b = numcodecs.Zstd(cfg["level"]).encode(b)
        elif n == "blosc":
            shuffle = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}[cfg["shuffle"]]
            ts = cfg.get("typesize", 1)
            b = numcodecs.Blosc(cfg["cname"], cfg["clevel"], shuffle, cfg.get("blocksize", 0)).encode(np.frombuffer(b, dtype=f"u{ts}"))
        elif n == "crc32c":
            b = bytes(b) + struct.pack("<I", crc32c(bytes(b)))
        else:
            raise ValueError(n)
    return bytes(b)


def encode_chunk(arr, codecs, dtype, fill):
    for i, c in enumerate(codecs):
        n, cfg = c["name"], c.get("configuration", {})
        if n == "transpose":
            arr = np.transpose(arr, cfg["order"])
        elif n == "bytes":
            e = ">" if cfg.get("endian") == "big" else "<"
            b = np.ascontiguousarray(arr).astype(e + CODE[dtype] if CODE[dtype] not in ("b1", "i1", "u1") else CODE[dtype]).tobytes()
            return encode_bytes(b, codecs, i + 1)
        elif n == "sharding_indexed":
            return encode_shard(arr, cfg, dtype, fill)
    raise ValueError("no array->bytes codec")


def encode_shard(arr, cfg, dtype, fill):
    inner = cfg["chunk_shape"]
    grid = [s // c for s, c in zip(arr.shape, inner)]
    index = np.full(grid + [2], np.iinfo("u8").max, dtype="<u8")
    body = []
    order = list(itertools.product(*[range(g) for g in grid]))
    # Store inner chunks in reverse order: the spec allows any order, the index says where each is.
    for idx in reversed(order):
        sub = arr[tuple(slice(i * c, (i + 1) * c) for i, c in zip(idx, inner))]
        if np.all(sub == fill) or (isinstance(fill, float) and np.isnan(fill) and np.all(np.isnan(sub))):
            continue
        body.append((idx, encode_chunk(sub, cfg["codecs"], dtype, fill)))
    index_codecs = cfg.get("index_codecs", [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "crc32c"}])
    index_len = len(encode_chunk(index, index_codecs, "uint64", 0))
    at_start = cfg.get("index_location", "end") == "start"
    offset = index_len if at_start else 0
    data = b""
    for idx, b in body:
        index[idx] = (offset, len(b))
        offset += len(b)
        data += b
    ib = encode_chunk(index, index_codecs, "uint64", 0)
    return ib + data if at_start else data + ib


def write_array(path, data, chunk_shape, codecs, fill=0, key="default", sep="/", dims=None, attrs=None, skip_chunks=()):
    dtype = {np.dtype(f"<{v}").name if v != "b1" else "bool": k for k, v in CODE.items()}[data.dtype.name] if False else [k for k, v in CODE.items() if np.dtype(v).name == data.dtype.name][0]
    os.makedirs(path, exist_ok=True)
    meta = {"zarr_format": 3, "node_type": "array", "shape": list(data.shape), "data_type": dtype,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunk_shape)}},
            "chunk_key_encoding": {"name": key, "configuration": {"separator": sep}},
            "fill_value": fill_json(fill), "codecs": codecs, "attributes": attrs or {}}
    if dims is not None:
        meta["dimension_names"] = dims
    with open(os.path.join(path, "zarr.json"), "w") as f:
        json.dump(meta, f)
    grid = [-(-s // c) for s, c in zip(data.shape, chunk_shape)]
    for idx in itertools.product(*[range(g) for g in grid]):
        if idx in skip_chunks:
            continue
        full = np.full(chunk_shape, fill, dtype=data.dtype)
        sl = tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(idx, chunk_shape, data.shape))
        part = data[sl]
        full[tuple(slice(0, p) for p in part.shape)] = part
        if key == "default":
            name = "c" + "".join(sep + str(i) for i in idx)
        else:
            name = sep.join(str(i) for i in idx) if idx else "0"
        fp = os.path.join(path, *name.split("/"))
        os.makedirs(os.path.dirname(fp), exist_ok=True)
        with open(fp, "wb") as f:
            f.write(encode_chunk(full, codecs, dtype, fill))
    return meta


def fill_json(v):
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, float) and np.isnan(v):
        return "NaN"
    if isinstance(v, float) and np.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v.item() if hasattr(v, "item") else v


def expected(case, name, data, fill, skip_chunks=(), chunk_shape=None):
    v = data.astype("f8")
    if skip_chunks:
        for idx in skip_chunks:
            sl = tuple(slice(i * c, (i + 1) * c) for i, c in zip(idx, chunk_shape))
            v[sl] = fill
    m.add_values(case, name, v)


def group(path, attrs=None, consolidated=None):
    os.makedirs(path, exist_ok=True)
    meta = {"zarr_format": 3, "node_type": "group", "attributes": attrs or {}}
    if consolidated is not None:
        meta["consolidated_metadata"] = {"kind": "inline", "must_understand": False, "metadata": consolidated}
    with open(os.path.join(path, "zarr.json"), "w") as f:
        json.dump(meta, f)


B = {"name": "bytes", "configuration": {"endian": "little"}}
BB = {"name": "bytes", "configuration": {"endian": "big"}}
CRC = {"name": "crc32c"}


def single(case, data, chunk_shape, codecs, fill=0, **kw):
    p = os.path.join(stores, case + ".zarr")
    write_array(p, data, chunk_shape, codecs, fill, **kw)
    m.set_case(case, path=os.path.relpath(p, out), kind="v3")
    expected(case, case, data, fill, kw.get("skip_chunks", ()), chunk_shape)


f4 = (rng.normal(size=(7, 9, 5)) * 10).astype("f4")
single("v3_bytes", f4, (3, 4, 5), [B])
single("v3_bytes_big", f4.astype("f8"), (3, 4, 2), [BB])
single("v3_gzip", f4, (3, 4, 5), [B, {"name": "gzip", "configuration": {"level": 5}}])
single("v3_zstd", f4, (4, 4, 4), [B, {"name": "zstd", "configuration": {"level": 3, "checksum": False}}])
single("v3_blosc", f4, (3, 9, 5), [B, {"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5, "shuffle": "shuffle", "typesize": 4, "blocksize": 0}}])
single("v3_blosc_bitshuffle_zstd", f4, (3, 9, 5), [B, {"name": "blosc", "configuration": {"cname": "zstd", "clevel": 3, "shuffle": "bitshuffle", "typesize": 4, "blocksize": 0}}])
single("v3_crc32c", f4, (3, 4, 5), [B, {"name": "gzip", "configuration": {"level": 1}}, CRC])
single("v3_transpose", f4, (3, 4, 5), [{"name": "transpose", "configuration": {"order": [2, 0, 1]}}, B, {"name": "zstd", "configuration": {"level": 1, "checksum": False}}])
single("v3_transpose_twice_big", f4.astype("i4"), (3, 4, 5), [{"name": "transpose", "configuration": {"order": [1, 2, 0]}}, {"name": "transpose", "configuration": {"order": [0, 2, 1]}}, BB])
single("v3_v2_keys", f4, (3, 4, 5), [B], key="v2", sep=".")
single("v3_v2_keys_slash", f4, (3, 4, 5), [B], key="v2", sep="/")
single("v3_default_dot", f4, (3, 4, 5), [B], key="default", sep=".")
single("v3_missing_chunks", f4, (3, 4, 5), [B], fill=-1.5, skip_chunks=((0, 0, 0), (2, 1, 0)))
single("v3_missing_nan", f4, (3, 4, 5), [B], fill=float("nan"), skip_chunks=((1, 1, 0),))
for t in ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float16", "float64", "bool"]:
    code = CODE[t]
    if t == "bool":
        d = rng.integers(0, 2, (6, 5)).astype(bool)
        fill = False
    elif np.dtype(code).kind in "iu":
        info = np.iinfo(code)
        d = rng.integers(max(info.min, -99999), min(info.max, 99999), (6, 5), endpoint=True).astype(code)
        fill = 0
    else:
        d = rng.normal(size=(6, 5)).astype(code)
        fill = 0.0
    single(f"v3_dtype_{t}", d, (4, 2), [BB if t in ("int16", "uint64") else B], fill=fill)
single("v3_scalar", np.array(2.5, dtype="f8"), (), [B])

# Sharding: 2x2x1 inner chunks per shard, some inner chunks empty (all fill) and therefore absent.
sh = f4.copy()
sh[0:3, 0:2, :] = 0  # an all-fill inner chunk
inner = [B, {"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5, "shuffle": "shuffle", "typesize": 4, "blocksize": 0}}]
for loc in ("end", "start"):
    single(f"v3_shard_{loc}", sh, (6, 4, 5), [{"name": "sharding_indexed", "configuration": {"chunk_shape": [3, 2, 5], "codecs": inner, "index_codecs": [B, CRC], "index_location": loc}}])
single("v3_shard_crc_inner", sh, (7, 9, 5), [{"name": "sharding_indexed", "configuration": {"chunk_shape": [7, 3, 5], "codecs": [B, CRC], "index_codecs": [B, CRC]}}])
single("v3_shard_missing_shard", sh, (3, 4, 5), [{"name": "sharding_indexed", "configuration": {"chunk_shape": [3, 2, 5], "codecs": [B], "index_codecs": [B, CRC]}}], skip_chunks=((1, 1, 0),))

# A group with dimension_names and CF attributes (non-consolidated), and one with inline consolidated metadata.
for consolidated in (False, True):
    case = "v3_group_consolidated" if consolidated else "v3_group"
    p = os.path.join(stores, case + ".zarr")
    time = np.arange(7, dtype="i8") * 6
    lat = np.linspace(60, -60, 9)
    lon = np.arange(5, dtype="f8") * 72
    packed = np.round((f4 - 0) / 0.01).astype("i2")
    packed[0, 0, 0] = -32767
    metas = {
        "time": write_array(os.path.join(p, "time"), time, (7,), [B], dims=["time"], attrs={"units": "hours since 2000-01-01", "calendar": "noleap"}),
        "lat": write_array(os.path.join(p, "lat"), lat, (9,), [B], dims=["lat"], attrs={"units": "degrees_north"}),
        "lon": write_array(os.path.join(p, "lon"), lon, (5,), [B], dims=["lon"], attrs={"units": "degrees_east"}),
        "tas": write_array(os.path.join(p, "tas"), packed, (3, 9, 5), [B, {"name": "zstd", "configuration": {"level": 1, "checksum": False}}], fill=0,
                           dims=["time", "lat", "lon"], attrs={"units": "K", "scale_factor": 0.01, "_FillValue": -32767, "standard_name": "air_temperature"}),
    }
    group(p, {"title": "v3 group"}, metas if consolidated else None)
    m.set_case(case, path=os.path.relpath(p, out), kind="v3")
    m.add_values(case, "time", time, dims=["time"], times=[f"2000-01-01T{h:02d}:00:00" if h < 24 else f"2000-01-02T{h - 24:02d}:00:00" for h in time])
    m.add_values(case, "lat", lat, dims=["lat"])
    m.add_values(case, "lon", lon, dims=["lon"])
    dec = np.where(packed == -32767, np.nan, packed.astype("f4") * np.float32(0.01))
    m.add_values(case, "tas", dec, dims=["time", "lat", "lon"], dtype="float32")

# Hostile: wrong crc32c, corrupt shard index (valid crc, offsets past the end), shard index with bad crc.
p = os.path.join(stores, "hostile_crc.zarr")
write_array(p, f4, (3, 4, 5), [B, CRC])
with open(os.path.join(p, "c", "0", "0", "0"), "r+b") as f:
    f.seek(10)
    b = f.read(1)
    f.seek(10)
    f.write(bytes([b[0] ^ 0xFF]))
shard_codecs = [{"name": "sharding_indexed", "configuration": {"chunk_shape": [3, 2, 5], "codecs": [B], "index_codecs": [B, CRC]}}]
for name, fix_crc in (("hostile_shard_index", True), ("hostile_shard_index_crc", False)):
    p = os.path.join(stores, name + ".zarr")
    write_array(p, sh, (6, 4, 5), shard_codecs)
    fp = os.path.join(p, "c", "0", "0", "0")
    raw = bytearray(open(fp, "rb").read())
    idx = np.frombuffer(bytes(raw[-(4 * 16 + 4):-4]), dtype="<u8").copy()
    idx[2] = len(raw) + 1000  # second inner chunk's offset beyond the shard
    ib = idx.tobytes()
    raw[-(4 * 16 + 4):-4] = ib
    if fix_crc:
        raw[-4:] = struct.pack("<I", crc32c(ib))
    open(fp, "wb").write(bytes(raw))
p = os.path.join(stores, "hostile_absurd.zarr")
write_array(p, np.zeros((2, 2), "f4"), (2, 2), [B])
meta = json.load(open(os.path.join(p, "zarr.json")))
meta["shape"] = [2**30, 2**30, 2**30]
meta["chunk_grid"]["configuration"]["chunk_shape"] = [1, 1, 1]
json.dump(meta, open(os.path.join(p, "zarr.json"), "w"))

m.write()
print("ok", len(m.cases))
