"""kerchunk-style references (v0 and v1 with templates, gen and inline base64) built with h5py chunk
offsets over a NetCDF-4 file, plus a raw binary file; expected values from xarray on the original file."""
import base64
import json
import os
import sys

import h5py
import netCDF4
import numpy as np
import xarray as xr

from refcommon import Manifest

out = sys.argv[1]
root = os.path.join(out, "kref")
os.makedirs(root, exist_ok=True)
m = Manifest(out)
rng = np.random.default_rng(5)

nc = os.path.join(root, "data.nc")
times = np.arange("2002-03-01T00", "2002-03-02T00", dtype="datetime64[h]")
lat = np.linspace(45, -45, 10)
lon = np.arange(0, 360, 40.0)
tas = (rng.random((times.size, lat.size, lon.size)) * 30 + 260).astype("f4")
tas[2, 3, 4] = np.nan
ds = xr.Dataset({"tas": (("time", "lat", "lon"), tas, {"units": "K"}),
                 "mask": (("lat", "lon"), rng.integers(0, 2, (lat.size, lon.size)).astype("i2"))},
                coords={"time": times, "lat": ("lat", lat, {"units": "degrees_north"}), "lon": ("lon", lon, {"units": "degrees_east"})},
                attrs={"title": "kerchunk test"})
ds.to_netcdf(nc, format="NETCDF4", encoding={"tas": {"zlib": True, "shuffle": True, "chunksizes": (5, 4, 9), "_FillValue": -999.0},
                                           "mask": {"contiguous": True, "_FillValue": None},
                                           "time": {"units": "hours since 2002-03-01", "dtype": "i4"}})


def refs_for(url_of, inline_coords):
    refs = {".zgroup": json.dumps({"zarr_format": 2}), ".zattrs": json.dumps({"title": "kerchunk test"})}
    with netCDF4.Dataset(nc) as f4, h5py.File(nc) as h:
        for name, var in f4.variables.items():
            d = h[name]
            chunks = d.chunks or d.shape
            fill = getattr(var, "_FillValue", None)
            zarray = {"zarr_format": 2, "shape": list(d.shape), "chunks": list(chunks), "dtype": d.dtype.str,
                      "compressor": {"id": "zlib", "level": d.compression_opts} if d.compression == "gzip" else None,
                      "filters": [{"id": "shuffle", "elementsize": d.dtype.itemsize}] if d.shuffle else None,
                      "fill_value": None if fill is None else (float(fill) if d.dtype.kind == "f" else int(fill)), "order": "C"}
            attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in var.__dict__.items() if k != "_FillValue"}
            attrs["_ARRAY_DIMENSIONS"] = list(var.dimensions)
            refs[f"{name}/.zarray"] = json.dumps(zarray)
            refs[f"{name}/.zattrs"] = json.dumps(attrs)
            if name in ("lat", "lon") and inline_coords:
                refs[f"{name}/0"] = "base64:" + base64.b64encode(d[...].astype(d.dtype).tobytes()).decode()
            elif d.chunks:
                for i in range(d.id.get_num_chunks()):
                    info = d.id.get_chunk_info(i)
                    key = ".".join(str(o // c) for o, c in zip(info.chunk_offset, d.chunks))
                    refs[f"{name}/{key}"] = [url_of, info.byte_offset, info.size]
            else:
                key = ".".join("0" for _ in d.shape) or "0"
                refs[f"{name}/{key}"] = [url_of, d.id.get_offset(), d.id.get_storage_size()]
    return refs


def expected(case, path):
    m.set_case(case, path=os.path.relpath(path, out), kind="kerchunk")
    raw = xr.open_dataset(nc, decode_times=False)
    dec = xr.open_dataset(nc, use_cftime=True)
    for name, v in raw.variables.items():
        extra = {"dims": list(v.dims), "dtype": str(v.dtype)}
        if dec.variables[name].dtype == object:
            extra["times"] = [t.isoformat() for t in dec.variables[name].values]
            extra.pop("dtype")
        m.add_values(case, name, np.asarray(v.values).astype("f8"), **extra)


p = os.path.join(root, "refs_v0.json")
json.dump(refs_for(os.path.abspath(nc), inline_coords=False), open(p, "w"))
expected("kerchunk_v0", p)

p = os.path.join(root, "refs_v1.json")
r = refs_for("{{u}}", inline_coords=True)
json.dump({"version": 1, "templates": {"u": "data.nc"}, "refs": r}, open(p, "w"))
expected("kerchunk_v1_templates_inline", p)

p = os.path.join(root, "refs_s3.json")
json.dump({"version": 1, "templates": {"u": "s3://proxima/kref/data.nc"}, "refs": refs_for("{{u}}", inline_coords=False)}, open(p, "w"))
m.set_case("kerchunk_s3_only", path=os.path.relpath(p, out), kind="kerchunk-s3")

# gen: a raw little-endian float32 file split into 5 chunks of 2 rows, generated references.
raw = (np.arange(60, dtype="f4") * 1.5).reshape(10, 6)
raw.tofile(os.path.join(root, "raw.bin"))
p = os.path.join(root, "refs_gen.json")
json.dump({"version": 1, "templates": {"u": "raw.bin"},
           "gen": [{"key": "g/{{ i }}.0", "url": "{{u}}", "offset": "{{ i * 48 }}", "length": "48", "dimensions": {"i": {"stop": 5}}}],
           "refs": {".zgroup": '{"zarr_format": 2}',
                    "g/.zarray": json.dumps({"zarr_format": 2, "shape": [10, 6], "chunks": [2, 6], "dtype": "<f4", "compressor": None, "filters": None, "fill_value": None, "order": "C"}),
                    "g/.zattrs": json.dumps({"_ARRAY_DIMENSIONS": ["y", "x"]})}}, open(p, "w"))
m.set_case("kerchunk_gen", path=os.path.relpath(p, out), kind="kerchunk")
m.add_values("kerchunk_gen", "g", raw, dims=["y", "x"], dtype="float32")

# Hostile: references escaping the root.
json.dump({".zgroup": '{"zarr_format": 2}', "x/.zarray": json.dumps({"zarr_format": 2, "shape": [4], "chunks": [4], "dtype": "<f4", "compressor": None, "filters": None, "fill_value": None, "order": "C"}),
           "x/.zattrs": '{"_ARRAY_DIMENSIONS": ["n"]}', "x/0": ["/etc/passwd", 0, 16]}, open(os.path.join(root, "escape_abs.json"), "w"))
json.dump({".zgroup": '{"zarr_format": 2}', "x/.zarray": json.dumps({"zarr_format": 2, "shape": [4], "chunks": [4], "dtype": "<f4", "compressor": None, "filters": None, "fill_value": None, "order": "C"}),
           "x/.zattrs": '{"_ARRAY_DIMENSIONS": ["n"]}', "x/0": ["../../outside.bin", 0, 16]}, open(os.path.join(root, "escape_rel.json"), "w"))
m.write()
print("ok", len(m.cases))
