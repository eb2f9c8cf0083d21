"""NetCDF-3/4 files and a NetCDF collection written by netCDF4-python/xarray; expected values from xarray."""
import os
import sys

import cftime
import netCDF4
import numpy as np
import xarray as xr

from refcommon import Manifest, add_netcdf_case

out = sys.argv[1]
root = os.path.join(out, "nc")
os.makedirs(root, exist_ok=True)
m = Manifest(out)
rng = np.random.default_rng(11)


def add_case(case, path, multi=None):
    add_netcdf_case(m, case, path, multi)


times = np.arange("2001-01-01T00", "2001-01-03T00", dtype="datetime64[h]")
lat = np.linspace(80, -80, 17)
lon = np.arange(0, 360, 30.0)
t2m = (rng.random((times.size, lat.size, lon.size)) * 40 + 250).astype("f4")
t2m[3, 4, 5] = np.nan
ds = xr.Dataset({"t2m": (("time", "lat", "lon"), t2m, {"units": "K", "standard_name": "air_temperature"})},
                coords={"time": times, "lat": ("lat", lat, {"units": "degrees_north"}), "lon": ("lon", lon, {"units": "degrees_east"})},
                attrs={"title": "netcdf4 test"})

p = os.path.join(root, "nc4_zlib_shuffle.nc")
ds.to_netcdf(p, format="NETCDF4", unlimited_dims=["time"],
             encoding={"t2m": {"zlib": True, "shuffle": True, "complevel": 4, "chunksizes": (7, 9, 5), "_FillValue": -9999.0},
                       "time": {"units": "hours since 2000-01-01 00:00:00", "dtype": "i4"}})
add_case("nc4_zlib_shuffle", p)

p = os.path.join(root, "nc4_packed.nc")
ds.to_netcdf(p, format="NETCDF4", encoding={"t2m": {"dtype": "i2", "scale_factor": 0.002, "add_offset": 270.0, "_FillValue": -32767, "zlib": True}})
add_case("nc4_packed", p)

p = os.path.join(root, "nc4_packed_f4scale.nc")
ds.to_netcdf(p, format="NETCDF4", encoding={"t2m": {"dtype": "i2", "scale_factor": np.float32(0.01), "add_offset": np.float32(260.0), "_FillValue": np.int16(-32767)}})
add_case("nc4_packed_f4scale", p)

for fmt in ("NETCDF3_CLASSIC", "NETCDF3_64BIT", "NETCDF4_CLASSIC"):
    p = os.path.join(root, f"{fmt.lower()}.nc")
    d3 = ds.copy()
    d3["q"] = (("lat", "lon"), rng.integers(-500, 500, (lat.size, lon.size)).astype("i2"), {"missing_value": np.int16(-500), "units": "1"})
    d3.to_netcdf(p, format=fmt, encoding={"t2m": {"_FillValue": None}, "time": {"units": "days since 1999-12-31", "dtype": "f8"}})
    add_case(fmt.lower(), p)

# _Unsigned bytes (NetCDF-3 has no unsigned types).
p = os.path.join(root, "nc3_unsigned.nc")
with netCDF4.Dataset(p, "w", format="NETCDF3_CLASSIC") as f:
    f.createDimension("x", 6)
    v = f.createVariable("u", "i1", ("x",), fill_value=np.int8(-2))
    v.set_auto_maskandscale(False)
    v[:] = np.array([0, 1, 127, -128, -1, -2], dtype="i1")
    v._Unsigned = "true"
    v.setncattr("scale_factor", 0.5)
add_case("nc3_unsigned", p)

# Groups: variables of a subgroup are flattened as "group/name".
p = os.path.join(root, "nc4_groups.nc")
with netCDF4.Dataset(p, "w", format="NETCDF4") as f:
    f.createDimension("x", 5)
    f.createVariable("x", "f8", ("x",))[:] = np.arange(5.0)
    g = f.createGroup("forecast")
    g.createDimension("step", 3)
    v = g.createVariable("temp", "f4", ("step", "x"), zlib=True)
    v[:] = np.arange(15, dtype="f4").reshape(3, 5)
m.set_case("nc4_groups", path=os.path.relpath(p, out), kind="netcdf")
m.add_values("nc4_groups", "x", np.arange(5.0), dims=["x"])
m.add_values("nc4_groups", "forecast/temp", np.arange(15.0).reshape(3, 5), dims=["step", "x"])

# 360_day calendar with Feb 30.
import cftime  # noqa: E402
dates = [cftime.Datetime360Day(2095, 2, 28) + __import__("datetime").timedelta(days=i) for i in range(5)]
dc = xr.Dataset({"pr": (("time",), np.arange(5, dtype="f4"))}, coords={"time": dates})
p = os.path.join(root, "nc4_360day.nc")
dc.to_netcdf(p, encoding={"time": {"units": "days since 2095-01-01", "calendar": "360_day"}})
add_case("nc4_360day", p)

# Collection: 4 daily files, 24 hourly steps each, each with its own time units; chunked along time.
coll = os.path.join(root, "collection")
os.makedirs(coll, exist_ok=True)
files = []
for day in range(4):
    sl = slice(day * 12, day * 12 + 12)
    dd = ds.isel(time=slice(0, 12)).copy()
    dd = dd.assign_coords(time=np.arange(f"2001-01-{day + 1:02d}T00", f"2001-01-{day + 1:02d}T12", dtype="datetime64[h]"))
    dd["t2m"] = (("time", "lat", "lon"), (rng.random((12, lat.size, lon.size)) * 40 + 250).astype("f4"), ds.t2m.attrs)
    fp = os.path.join(coll, f"t2m_2001010{day + 1}.nc")
    dd.to_netcdf(fp, unlimited_dims=["time"], encoding={"time": {"units": f"hours since 2001-01-{day + 1:02d}", "dtype": "i4"},
                                                        "t2m": {"chunksizes": (4, 17, 12), "zlib": True}})
    files.append(fp)
add_case("collection", coll, multi=files)

# Direct-read coverage (chunk index instead of libnetcdf): CDF-5, record layouts, fletcher32, big-endian,
# contiguous NetCDF-4, fill values and partially written variables. Expected values: xarray over netCDF4-python.
p = os.path.join(root, "netcdf3_cdf5.nc")
with netCDF4.Dataset(p, "w", format="NETCDF3_64BIT_DATA") as f:
    f.createDimension("time", None); f.createDimension("y", 3); f.createDimension("x", 5)
    f.createVariable("time", "f8", ("time",))[:] = np.arange(4.0)
    f["time"].units = "days since 2000-01-01"
    f.createVariable("big", "i8", ("y", "x"))[:] = (np.arange(15, dtype="i8") * 10**12).reshape(3, 5)
    f.createVariable("u2", "u2", ("time", "x"))[:] = np.arange(20, dtype="u2").reshape(4, 5) * 1000
    f.createVariable("b", "i1", ("time", "y"))[:] = np.arange(12, dtype="i1").reshape(4, 3) - 6
    v = f.createVariable("d", "f8", ("time", "y", "x"), fill_value=-1.0)
    v[:3] = rng.random((3, 3, 5))
add_case("netcdf3_cdf5", p)

# A single record variable of shorts: records packed without padding (netcdf-c's recsize rule).
p = os.path.join(root, "nc3_single_record_short.nc")
with netCDF4.Dataset(p, "w", format="NETCDF3_CLASSIC") as f:
    f.createDimension("time", None); f.createDimension("x", 3)
    f.createVariable("s", "i2", ("time", "x"))[:] = np.arange(21, dtype="i2").reshape(7, 3)
add_case("nc3_single_record_short", p)

p = os.path.join(root, "nc4_fletcher32.nc")
with netCDF4.Dataset(p, "w", format="NETCDF4") as f:
    f.createDimension("time", None); f.createDimension("lat", 17); f.createDimension("lon", 12)
    v = f.createVariable("t2m", "f4", ("time", "lat", "lon"), zlib=True, shuffle=True, fletcher32=True, chunksizes=(5, 9, 12))
    v[:] = (rng.random((12, 17, 12)) * 40 + 250).astype("f4")
    w = f.createVariable("plain", "i4", ("lat", "lon"), fletcher32=True, chunksizes=(4, 5))
    w[:] = np.arange(17 * 12, dtype="i4").reshape(17, 12)
add_case("nc4_fletcher32", p)

p = os.path.join(root, "nc4_bigendian.nc")
with netCDF4.Dataset(p, "w", format="NETCDF4") as f:
    f.createDimension("y", 6); f.createDimension("x", 7)
    f.createVariable("zbe", "f8", ("y", "x"), zlib=True, endian="big", chunksizes=(4, 4))[:] = rng.random((6, 7))
    f.createVariable("cbe", "i2", ("y", "x"), endian="big", contiguous=True)[:] = np.arange(42, dtype="i2").reshape(6, 7) - 21
    f.createVariable("cle", "f4", ("y", "x"), contiguous=True)[:] = rng.random((6, 7)).astype("f4")
    f.createVariable("u8", "u8", ("y",), endian="big")[:] = np.arange(6, dtype="u8") * 2**40
add_case("nc4_bigendian", p)

# Partially written: chunks never written read as the fill value (user _FillValue or netCDF's default),
# a contiguous variable never written, chunks larger than the data, and two record variables of different lengths.
p = os.path.join(root, "nc4_partial.nc")
with netCDF4.Dataset(p, "w", format="NETCDF4") as f:
    f.createDimension("time", None); f.createDimension("y", 10); f.createDimension("x", 8)
    a = f.createVariable("a", "f4", ("y", "x"), fill_value=np.float32(-99.0), chunksizes=(3, 3), zlib=True)
    a[0:3, 0:3] = 1.5
    a[9, 7] = 2.5
    b = f.createVariable("b", "i4", ("y", "x"), chunksizes=(5, 4))
    b[5:10, 4:8] = 7
    c = f.createVariable("c", "f8", ("y", "x"), contiguous=True)
    r1 = f.createVariable("r1", "f4", ("time", "x"), chunksizes=(10, 8), zlib=True)
    r1[0:7] = np.arange(56, dtype="f4").reshape(7, 8)
    r2 = f.createVariable("r2", "f4", ("time", "x"), chunksizes=(2, 8))
    r2[0:3] = np.ones((3, 8), dtype="f4")
add_case("nc4_partial", p)

# Not NetCDF at all, and a NetCDF file cut short.
with open(os.path.join(root, "not_netcdf.nc"), "w") as f:
    f.write("this is not a netcdf file\n" * 10)
data = open(os.path.join(root, "netcdf3_classic.nc"), "rb").read()
with open(os.path.join(root, "truncated.nc"), "wb") as f:
    f.write(data[: len(data) // 3])

m.write()
print("ok", len(m.cases))
