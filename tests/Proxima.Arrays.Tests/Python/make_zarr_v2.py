"""Writes Zarr v2 stores with zarr-python 2.13 / numcodecs / xarray and the values a reader must get back."""
import os
import sys
import zlib

import cftime
import numcodecs
import numpy as np
import xarray as xr
import zarr

from refcommon import Manifest, add_xarray_case

out = sys.argv[1]
stores = os.path.join(out, "stores")
os.makedirs(stores, exist_ok=True)
m = Manifest(out)
rng = np.random.default_rng(42)


def add_zarr_case(case, path, arrays):
    """Expected = raw zarr values, with the zarr fill_value masked (xarray treats it as _FillValue)."""
    m.set_case(case, path=os.path.relpath(path, out), kind="zarr")
    for name in arrays:
        a = zarr.open_array(os.path.join(path, name) if name else path, mode="r")
        v = a[...].astype("f8")
        fv = a.fill_value
        if fv is not None and not (isinstance(fv, float) and np.isnan(fv)):
            v = np.where(a[...] == fv, np.nan, v)
        m.add_values(case, name or os.path.splitext(os.path.basename(path))[0], v, stored=a.dtype.name, chunks=list(a.chunks))


# 1. zarr-python defaults: Blosc(lz4, shuffle), float32, edge chunks on every axis.
p = os.path.join(stores, "default_f4.zarr")
g = zarr.open_group(p, mode="w")
a = g.create_dataset("t", shape=(7, 13, 21), chunks=(3, 5, 8), dtype="f4")
a[...] = (rng.random((7, 13, 21)) * 100 + 1).astype("f4")
add_zarr_case("default_f4", p, ["t"])

# 2. One codec per store (compressor), same float64 data with NaNs and edge chunks.
data = rng.normal(size=(9, 10)).astype("f8")
data[2, 3] = np.nan
codecs = {
    "blosc_lz4": numcodecs.Blosc("lz4", 5, numcodecs.Blosc.SHUFFLE),
    "blosc_lz4hc": numcodecs.Blosc("lz4hc", 5, numcodecs.Blosc.NOSHUFFLE),
    "blosc_zstd_bitshuffle": numcodecs.Blosc("zstd", 3, numcodecs.Blosc.BITSHUFFLE),
    "blosc_zlib": numcodecs.Blosc("zlib", 5, numcodecs.Blosc.SHUFFLE),
    "blosc_blosclz": numcodecs.Blosc("blosclz", 9, numcodecs.Blosc.SHUFFLE),
    "blosc_autoshuffle": numcodecs.Blosc("lz4", 5, numcodecs.Blosc.AUTOSHUFFLE),
    "zlib": numcodecs.Zlib(5),
    "gzip": numcodecs.GZip(5),
    "zstd": numcodecs.Zstd(3),
    "lz4": numcodecs.LZ4(1),
    "none": None,
}
for name, comp in codecs.items():
    p = os.path.join(stores, f"codec_{name}.zarr")
    z = zarr.open_array(p, mode="w", shape=data.shape, chunks=(4, 3), dtype="f8", compressor=comp, fill_value=np.nan)
    z[...] = data
    add_zarr_case(f"codec_{name}", p, [""])

# 3. xarray ERA5-like: consolidated, _ARRAY_DIMENSIONS, CF time, descending latitude, NaNs.
times = np.arange("2000-01-01T00", "2000-01-03T00", dtype="datetime64[h]")
lat = np.linspace(90, -90, 19, dtype="f8")
lon = np.arange(0, 360, 20, dtype="f8")
t2m = (rng.random((times.size, lat.size, lon.size)) * 40 + 250).astype("f4")
t2m[0, 0, :3] = np.nan
ds = xr.Dataset(
    {"t2m": (("time", "latitude", "longitude"), t2m, {"units": "K", "standard_name": "air_temperature", "long_name": "2 metre temperature"})},
    coords={
        "time": ("time", times),
        "latitude": ("latitude", lat, {"units": "degrees_north", "standard_name": "latitude"}),
        "longitude": ("longitude", lon, {"units": "degrees_east", "standard_name": "longitude"}),
    },
    attrs={"title": "ERA5-like test", "Conventions": "CF-1.6"},
)
p = os.path.join(stores, "xr_era5.zarr")
ds.to_zarr(p, mode="w", encoding={"t2m": {"chunks": (12, 10, 7)}, "time": {"units": "hours since 1900-01-01 00:00:00.0", "calendar": "gregorian", "dtype": "i4"}})
add_xarray_case(m, "xr_era5", p)

# 4. Packed int16 with scale/offset/_FillValue (MERRA/ERA5 netCDF style) -> float32 in this xarray.
vals = (rng.random((6, 8, 9)) * 60 + 230).astype("f8")
vals[1, 2, 3] = np.nan
dsp = xr.Dataset({"tp": (("time", "lat", "lon"), vals, {"units": "K"})},
                 coords={"time": np.arange(6.0), "lat": np.arange(8.0), "lon": np.arange(9.0)})
p = os.path.join(stores, "xr_packed_i16.zarr")
dsp.to_zarr(p, mode="w", encoding={"tp": {"dtype": "i2", "scale_factor": 0.002, "add_offset": 260.0, "_FillValue": -32767, "chunks": (4, 5, 5)}})
add_xarray_case(m, "xr_packed_i16", p)

# 4b. Packed int16 with scale only and no fill (float32 decode), and uint8 with _FillValue (float32).
p = os.path.join(stores, "xr_packed_scale_only.zarr")
dsp2 = xr.Dataset({"q": (("y", "x"), (rng.random((5, 7)) * 10).astype("f8")), "cat": (("y", "x"), rng.integers(0, 200, (5, 7)).astype("u1"))})
dsp2.to_zarr(p, mode="w", encoding={"q": {"dtype": "i2", "scale_factor": 0.01, "_FillValue": None}, "cat": {"_FillValue": 255}})
add_xarray_case(m, "xr_packed_scale_only", p)

# 5. CF calendars (cftime dates), including 360_day's Feb 30 and dates far in the future.
for cal, start in [("noleap", (2095, 2, 27)), ("360_day", (2095, 2, 27)), ("all_leap", (2096, 2, 27)),
                   ("julian", (1500, 2, 27)), ("proleptic_gregorian", (1400, 2, 27)), ("standard", (1582, 10, 3)),
                   ("gregorian", (2000, 2, 27)), ("365_day", (1, 1, 1)), ("366_day", (2100, 12, 30))]:
    t0 = cftime.datetime(*start, calendar=cal)
    dates = [t0 + __import__("datetime").timedelta(hours=18 * i) for i in range(10)]
    dsc = xr.Dataset({"v": (("time",), np.arange(10.0, dtype="f4"))}, coords={"time": ("time", dates)})
    p = os.path.join(stores, f"cal_{cal}.zarr")
    dsc.to_zarr(p, mode="w", encoding={"time": {"units": "hours since 1800-01-01 06:00:00" if cal not in ("365_day",) else "days since 0001-01-01", "calendar": cal}})
    add_xarray_case(m, f"cal_{cal}", p)

# 6. Non-consolidated xarray store (listing .zgroup children).
p = os.path.join(stores, "xr_unconsolidated.zarr")
ds.isel(time=slice(0, 5)).to_zarr(p, mode="w", consolidated=False)
add_xarray_case(m, "xr_unconsolidated", p, consolidated=False)

# 7. Every numeric dtype, both byte orders; some with zarr's default fill (0 -> masked like xarray), some with none.
for code in ["i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8", "b1"]:
    for order in ("<", ">"):
        if code in ("i1", "u1", "b1") and order == ">":
            continue
        dt = np.dtype(order + code)
        if code == "b1":
            vals = rng.integers(0, 2, (5, 6)).astype(bool)
        elif dt.kind in "iu":
            info = np.iinfo(dt)
            vals = rng.integers(max(info.min, -10**6), min(info.max, 10**6), (5, 6), endpoint=True).astype(dt)
            vals[0, 0] = info.max
            vals[0, 1] = info.min if dt.kind == "i" else 1
        else:
            vals = (rng.normal(size=(5, 6)) * 1000).astype(dt)
        p = os.path.join(stores, f"dtype_{'be' if order == '>' else 'le'}_{code}.zarr")
        z = zarr.open_array(p, mode="w", shape=vals.shape, chunks=(2, 4), dtype=dt, fill_value=None if code in ("i8", "f4", "b1") else 0)
        z[...] = vals
        add_zarr_case(f"dtype_{'be' if order == '>' else 'le'}_{code}", p, [""])

# 8. Fortran order, 3-D with edge chunks, big-endian too.
for dt in ("<f4", ">i4"):
    vals = (rng.normal(size=(5, 7, 9)) * 100).astype(dt)
    p = os.path.join(stores, f"order_F_{dt[1:]}.zarr")
    z = zarr.open_array(p, mode="w", shape=vals.shape, chunks=(2, 3, 4), dtype=dt, order="F", fill_value=None)
    z[...] = vals
    add_zarr_case(f"order_F_{dt[1:]}", p, [""])

# 9. '/' dimension separator (nested chunk directories).
vals = rng.normal(size=(6, 5)).astype("f8")
p = os.path.join(stores, "separator_slash.zarr")
z = zarr.open_array(p, mode="w", shape=vals.shape, chunks=(4, 2), dtype="f8", dimension_separator="/", fill_value=None)
z[...] = vals
add_zarr_case("separator_slash", p, [""])

# 10. Missing chunks read as fill_value, in each fill encoding.
for name, dt, fill in [("nan", "f4", np.nan), ("inf", "f8", np.inf), ("neginf", "f4", -np.inf), ("int7", "i2", 7), ("zero_f8", "f8", 0.0), ("none_i4", "i4", None)]:
    p = os.path.join(stores, f"missing_{name}.zarr")
    z = zarr.open_array(p, mode="w", shape=(10, 4), chunks=(3, 4), dtype=dt, fill_value=fill)
    z[0:3] = np.arange(12).reshape(3, 4) + 1
    if fill is None:
        m.set_case(f"missing_{name}", path=os.path.relpath(p, out), kind="zarr")
        v = np.zeros((10, 4)); v[0:3] = np.arange(12).reshape(3, 4) + 1
        m.add_values(f"missing_{name}", f"missing_{name}", v)
    else:
        add_zarr_case(f"missing_{name}", p, [""])

# 11. Filters (numcodecs), each with a compressor behind it; and a compressor inside filters as kerchunk writes it.
base = np.linspace(-50, 150, 7 * 8).reshape(7, 8)
filter_cases = {
    "delta_i4": ("<i4", [numcodecs.Delta(dtype="<i4")], numcodecs.Zlib(1), (np.arange(56).reshape(7, 8) * 3 - 20).astype("<i4")),
    "delta_i8_as_i2": ("<i8", [numcodecs.Delta(dtype="<i8", astype="<i2")], None, (np.arange(56).reshape(7, 8) * 2).astype("<i8")),
    "fixedscaleoffset": ("<f8", [numcodecs.FixedScaleOffset(offset=1000, scale=10, dtype="<f8", astype="<i2")], numcodecs.Blosc(), base.astype("<f8")),
    "fixedscaleoffset_u1": ("<f4", [numcodecs.FixedScaleOffset(offset=0, scale=1, dtype="<f4", astype="u1")], None, np.abs(base).astype("<f4") % 200),
    "astype": ("<f8", [numcodecs.AsType(encode_dtype="<f4", decode_dtype="<f8")], numcodecs.Zstd(), base.astype("<f8")),
    "quantize": ("<f8", [numcodecs.Quantize(digits=2, dtype="<f8")], numcodecs.Zlib(), base.astype("<f8")),
    "shuffle_zlib": ("<f8", [numcodecs.Shuffle(elementsize=8)], numcodecs.Zlib(), base.astype("<f8")),
    "zlib_in_filters": ("<f4", [numcodecs.Zlib(4)], None, base.astype("<f4")),
    "shuffle_gzip_in_filters": (">f8", [numcodecs.Shuffle(elementsize=8), numcodecs.GZip(2)], None, base.astype(">f8")),
    "bitround": ("<f4", [numcodecs.BitRound(keepbits=8)], numcodecs.Blosc("zstd"), base.astype("<f4")),
}
for name, (dt, filters, comp, vals) in filter_cases.items():
    p = os.path.join(stores, f"filter_{name}.zarr")
    z = zarr.open_array(p, mode="w", shape=vals.shape, chunks=(3, 5), dtype=dt, filters=filters, compressor=comp, fill_value=None)
    z[...] = vals
    add_zarr_case(f"filter_{name}", p, [""])

# 12. A scalar (0-d) array, and an xarray dataset carrying a string coordinate next to numbers.
p = os.path.join(stores, "scalar.zarr")
z = zarr.open_array(p, mode="w", shape=(), dtype="f8", fill_value=None)
z[...] = 3.25
add_zarr_case("scalar", p, [""])
dss = xr.Dataset({"obs": (("station", "time"), rng.normal(size=(3, 4)).astype("f4"))},
                 coords={"station": ("station", np.array(["SYD", "LON", "NYC"])), "time": np.arange(4)})
p = os.path.join(stores, "xr_string_coord.zarr")
dss.to_zarr(p, mode="w")
add_xarray_case(m, "xr_string_coord", p)

# 13. int64 microseconds since 1700: ~1e16 exceeds 2^53, so only an exact integer decode gets every microsecond.
tn = np.array(["2023-11-14T22:13:20.123456", "2023-11-14T22:13:20.123457", "2024-02-29T23:59:59.999999"], dtype="datetime64[ns]")
dsn = xr.Dataset({"v": (("time",), np.arange(3, dtype="f4"))}, coords={"time": tn})
p = os.path.join(stores, "xr_time_ns.zarr")
dsn.to_zarr(p, mode="w", encoding={"time": {"units": "microseconds since 1700-01-01", "dtype": "i8"}})
add_xarray_case(m, "xr_time_ns", p)

m.write()
print("ok", len(m.cases))
