"""Point-read reference: one hourly grid written as Zarr v2 with Blosc (lz4, and zstd with small blocks so a point
touches few of them), zlib and no compressor, and as Zarr v3 sharded (zarr-python 2.13 cannot write v3: written from the
spec, bytes+blosc inner chunks, index at the end); xarray's .sel(method="nearest") of each query on the same data.

usage: point_stores.py DIR QUERIES_JSON -> DIR/pts_*.zarr, DIR/expected.json
"""
import json, os, sys
import numcodecs
import numpy as np
import pandas as pd
import xarray as xr

root, queries = sys.argv[1], json.loads(sys.argv[2])
rng = np.random.default_rng(7)
time = pd.date_range("2001-01-01", periods=24 * 40, freq="H")
lat = np.arange(90.0, -90.1, -10.0)
lon = np.arange(0.0, 360.0, 10.0)
data = (260 + 30 * np.cos(np.deg2rad(lat))[None, :, None] + rng.normal(0, 5, (time.size, lat.size, lon.size))).astype("f4")
data[rng.random(data.shape) < 0.02] = np.nan
ds = xr.Dataset({"t2m": (("time", "latitude", "longitude"), data, {"units": "K"})},
                coords={"time": time, "latitude": ("latitude", lat, {"units": "degrees_north"}), "longitude": ("longitude", lon, {"units": "degrees_east"})})
enc_time = {"units": "hours since 2001-01-01", "calendar": "proleptic_gregorian", "dtype": "int64"}
chunks = (4, 19, 36)
# blosc_small: zstd keeps the forced 1 KiB blocks (c-blosc enlarges lz4 blocks to >= 64 KiB, a whole chunk here), so
# one point's 4 time steps touch 4 of a chunk's 11 blocks and only those are decompressed.
v2 = {"blosc": numcodecs.Blosc("lz4", 5, numcodecs.Blosc.SHUFFLE), "blosc_small": numcodecs.Blosc("zstd", 3, numcodecs.Blosc.SHUFFLE, blocksize=1024),
      "zlib": numcodecs.Zlib(4), "raw": None}
for name, comp in v2.items():
    ds.to_zarr(os.path.join(root, "pts_%s.zarr" % name), mode="w", encoding={"t2m": {"chunks": chunks, "compressor": comp}, "time": enc_time})

# Zarr v3, sharded: shards of 96 x 19 x 36, inner chunks 4 x 19 x 36.
v3 = os.path.join(root, "pts_sharded.zarr")
os.makedirs(v3, exist_ok=True)
json.dump({"zarr_format": 3, "node_type": "group", "attributes": {}}, open(os.path.join(v3, "zarr.json"), "w"))
BYTES = {"name": "bytes", "configuration": {"endian": "little"}}

def array(name, values, dims, attrs, codecs, chunk, dtype, fill):
    p = os.path.join(v3, name)
    os.makedirs(p, exist_ok=True)
    json.dump({"zarr_format": 3, "node_type": "array", "shape": list(values.shape), "data_type": dtype,
               "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunk)}},
               "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
               "fill_value": fill, "codecs": codecs, "dimension_names": dims, "attributes": attrs}, open(os.path.join(p, "zarr.json"), "w"))
    return p

def whole(name, values, dtype, fill, attrs):
    p = array(name, values, [name], attrs, [BYTES], values.shape, dtype, fill)
    os.makedirs(os.path.join(p, "c"), exist_ok=True)
    open(os.path.join(p, "c", "0"), "wb").write(np.ascontiguousarray(values).astype("<" + values.dtype.str[1:]).tobytes())

whole("time", np.arange(time.size, dtype="i8"), "int64", 0, {"units": "hours since 2001-01-01", "calendar": "proleptic_gregorian"})
whole("latitude", lat, "float64", "NaN", {"units": "degrees_north"})
whole("longitude", lon, "float64", "NaN", {"units": "degrees_east"})
blosc_cfg = {"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5, "shuffle": "shuffle", "typesize": 4, "blocksize": 0}}
shard, inner = (96, 19, 36), (4, 19, 36)
p = array("t2m", data, ["time", "latitude", "longitude"], {"units": "K"},
          [{"name": "sharding_indexed", "configuration": {"chunk_shape": list(inner), "codecs": [BYTES, blosc_cfg], "index_codecs": [BYTES], "index_location": "end"}}],
          shard, "float32", "NaN")
codec = numcodecs.Blosc("lz4", 5, numcodecs.Blosc.SHUFFLE)
for s in range(time.size // shard[0]):
    n = shard[0] // inner[0]
    index = np.zeros((n, 1, 1, 2), dtype="<u8")
    body = b""
    for k in range(n):
        part = data[s * shard[0] + k * inner[0]: s * shard[0] + (k + 1) * inner[0]]
        b = codec.encode(np.frombuffer(np.ascontiguousarray(part).astype("<f4").tobytes(), dtype="u4"))
        index[k, 0, 0] = (len(body), len(b))
        body += bytes(b)
    os.makedirs(os.path.join(p, "c", str(s), "0"), exist_ok=True)
    open(os.path.join(p, "c", str(s), "0", "0"), "wb").write(body + index.tobytes())

# xarray's answers: vectorised nearest on the store (v2) or on the same in-memory data (v3, which zarr 2.13 cannot open).
expected = {}
opened = {store: xr.open_zarr(os.path.join(root, "pts_%s.zarr" % store)) for store in v2}
opened["sharded"] = ds
for qname, q in queries.items():
    pts = q["points"]
    out = {}
    for store in list(v2) + ["sharded"]:
        da = opened[store].t2m.sel(time=slice(q["time"][0], q["time"][1]))
        sel = da.sel(latitude=xr.DataArray([p["lat"] for p in pts], dims="point"),
                     longitude=xr.DataArray([p["lon"] % 360 for p in pts], dims="point"), method="nearest").transpose("point", "time")
        out[store] = {"shape": list(sel.shape), "values": [None if np.isnan(v) else float(v) for v in sel.values.astype("f8").ravel()],
                      "lat": [float(v) for v in sel.latitude.values], "lon": [float(v) for v in sel.longitude.values]}
    expected[qname] = out
json.dump(expected, open(os.path.join(root, "expected.json"), "w"))
print(len(expected))
