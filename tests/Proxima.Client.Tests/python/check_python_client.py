"""Checks proxima_client against xarray on the same files. argv: state-dir era5-store cmip6-store.
Prints one 'ok <name>' line per check; any mismatch raises (non-zero exit)."""
import sys

import numpy as np
import pandas as pd
import xarray as xr

from proxima_client import Client, QueryError
from proxima_client.client import netcdf_to_datasets, result_to_dataset

state, era5_path, cmip6_path = sys.argv[1:4]
c = Client.from_state(state)
era5 = xr.open_zarr(era5_path)
cmip6 = xr.open_zarr(cmip6_path)
ERA5 = "reanalysis/era5/t2m"
CMIP6 = "cmip6/ScenarioMIP/MOHC/UKESM1-0-LL/ssp585/tas"


def close(a, b, rtol=1e-5, name=""):
    np.testing.assert_allclose(np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64"), rtol=rtol, atol=1e-6, err_msg=name)


# 1. ERA5 K -> degC mean and std over a box (descending latitude selected ascending, as .sel would not).
ds = c.query(ERA5, "t2m", bbox=(110, -50, 180, 0), to_celsius=True, reduce={"dims": ["time"], "ops": ["mean", "std"]})
ref = era5.t2m.sel(latitude=slice(0, -50), longitude=slice(110, 180)).astype("float64") - 273.15
np.testing.assert_array_equal(ds.latitude.values, ref.latitude.values)
np.testing.assert_array_equal(ds.longitude.values, ref.longitude.values)
close(ds["t2m_mean"], ref.mean("time"), name="mean")
close(ds["t2m_std"], ref.std("time"), name="std")
# The Dataset is the router's NetCDF answer as xarray opens it: {variable}_{op}, CF attrs, the query.
assert sorted(ds.data_vars) == ["t2m_mean", "t2m_std"], list(ds.data_vars)
assert ds["t2m_mean"].attrs["units"] == "degC", ds["t2m_mean"].attrs
assert ds["t2m_mean"].attrs["long_name"] == era5.t2m.attrs["long_name"], ds["t2m_mean"].attrs
assert ds["t2m_std"].attrs["cell_methods"].endswith("standard_deviation"), ds["t2m_std"].attrs
assert ds.latitude.attrs["units"] == "degrees_north" and ds.longitude.attrs["units"] == "degrees_east"
assert ds.attrs["dataset"] == ERA5 and '"ops":["mean","std"]' in ds.attrs["proxima_query"], ds.attrs
assert c.output == "netcdf"
# The JSON fallback gives the same Dataset (names, coords, values).
js = Client.from_state(state, output="json").query(ERA5, "t2m", bbox=(110, -50, 180, 0), to_celsius=True, reduce={"dims": ["time"], "ops": ["mean", "std"]})
assert sorted(js.data_vars) == sorted(ds.data_vars), list(js.data_vars)
xr.testing.assert_allclose(js, ds, rtol=1e-12)
print("ok era5 mean/std")

# 2. Subset without reduce: values and decoded times equal xarray exactly.
ds = c.query(ERA5, "t2m", time=("2000-01-02", "2000-01-02T05:00:00"), select={"lat": [10, 20], "lon": [30, 40]})
ref = era5.t2m.sel(time=slice("2000-01-02", "2000-01-02T05:00:00"), latitude=slice(20, 10), longitude=slice(30, 40))
np.testing.assert_array_equal(ds.time.values, ref.time.values)
np.testing.assert_array_equal(ds["t2m"].values, ref.values.astype("float64"))
print("ok era5 subset")

# 3. Points: nearest grid cell, as .sel(method="nearest"), returned as a tidy DataFrame.
cities = {"Sydney": (-33.87, 151.21), "Perth": (-31.95, 115.86), "Darwin": (-12.46, 130.84), "Hobart": (-42.88, 147.33)}
df = c.query(ERA5, "t2m", points=cities)
assert isinstance(df, pd.DataFrame), type(df)
assert list(df.columns[:2]) == ["point", "time"], df.columns
for name, (lat, lon) in cities.items():
    ref = era5.t2m.sel(latitude=lat, longitude=lon % 360, method="nearest")
    rows = df[df.point == name]
    np.testing.assert_array_equal(rows.time.values, ref.time.values)
    np.testing.assert_array_equal(rows.t2m.values, ref.values.astype("float64"))
    assert rows.latitude.iloc[0] == float(ref.latitude), (name, rows.latitude.iloc[0], float(ref.latitude))
    assert rows.longitude.iloc[0] == float(ref.longitude), (name, rows.longitude.iloc[0], float(ref.longitude))
pts = c.query(ERA5, "t2m", points=cities, as_frame=False)
assert set(pts.coords) == {"point", "time", "latitude", "longitude"} and list(pts.data_vars) == ["t2m"], pts
print("ok points")

# 4. CMIP6 (int16 packed, 360_day): time labels decode to cftime 360_day dates equal to xarray's.
ds = c.query(CMIP6, "tas", time=("2090-01-01", "2090-12-30"), select={"lat": [-40, -30], "lon": [140, 150]})
ref = cmip6.tas.sel(time=slice("2090-01-01", "2090-12-30"), lat=slice(-40, -30), lon=slice(140, 150))
assert [t.isoformat() for t in ds.time.values] == [t.isoformat() for t in ref.time.values]
assert ds.time.values[0].calendar == "360_day" and type(ds.time.values[0]) is type(ref.time.values[0])
np.testing.assert_array_equal(ds.time.values, ref.time.values)
close(ds["tas"], ref, rtol=1e-6, name="tas")
print("ok cmip6 360_day")

# 5. Groupby month mean on CMIP6 (2090-2100).
ds = c.query(CMIP6, "tas", time=("2090-01-01", "2100-12-30"), reduce={"dims": ["time"], "ops": ["mean"], "groupby": "time.month"})
ref = cmip6.tas.sel(time=slice("2090-01-01", "2100-12-30")).astype("float64").groupby("time.month").mean("time")
np.testing.assert_array_equal(ds.month.values, ref.month.values)
close(ds["tas_mean"], ref, rtol=1e-6, name="monthly mean")
print("ok cmip6 groupby month")

# 6. Two datasets in one query: a dict of Datasets.
both = c.query([ERA5, CMIP6], "air_temperature", bbox=(110, -45, 155, -10), reduce={"dims": ["time"], "ops": ["mean"]})
assert list(both) == [ERA5, CMIP6], both.keys()
close(both[ERA5]["t2m_mean"], era5.t2m.sel(latitude=slice(-10, -45), longitude=slice(110, 155)).astype("float64").mean("time"), name="both era5")
close(both[CMIP6]["tas_mean"], cmip6.tas.sel(lat=slice(-45, -10), lon=slice(110, 155)).astype("float64").mean("time"), rtol=1e-6, name="both cmip6")
assert both[CMIP6].attrs["dataset"] == CMIP6 and "proxima_query" in both[CMIP6].attrs
print("ok two datasets")

# 7. Search by bbox and time.
found = c.search(bbox=(150, -35, 152, -33), datetime=("2000-01-01", "2000-12-31"))
assert list(found.id) == [ERA5], found
assert found.region.iloc[0] == "us-east-1"
assert list(c.search(time=("2090-01-01", "2100-12-30")).id) == [CMIP6]
print("ok search")

# 8. Errors are typed and carry code and field.
try:
    c.query("no/such/dataset", "t2m")
    raise AssertionError("no error")
except QueryError as e:
    assert e.code == "unknown_dataset" and e.field == "datasets[0]" and e.status == 400, (e.code, e.field, e.status)
print("ok errors")

# 9. Size-0 dims: an empty time selection is an empty result, as .sel gives in xarray.
ds = c.query(ERA5, "t2m", time=("2001-01-01", "2001-01-02"), bbox=(140, -40, 145, -35))
ref = era5.t2m.sel(time=slice("2001-01-01", "2001-01-02"), latitude=slice(-35, -40), longitude=slice(140, 145))
assert dict(ds.sizes) == {"time": 0, "latitude": ref.sizes["latitude"], "longitude": ref.sizes["longitude"]}, (ds.sizes, ref.sizes)
assert ds.time.dtype == ref.time.dtype and ds["t2m"].shape == ref.shape, (ds.time.dtype, ds["t2m"].shape, ref.shape)
np.testing.assert_array_equal(ds.latitude.values, ref.latitude.values)
df = c.query(ERA5, "t2m", time=("2001-01-01", "2001-01-02"), points=cities)
assert isinstance(df, pd.DataFrame) and len(df) == 0 and "t2m" in df.columns, df
import warnings
with warnings.catch_warnings():
    warnings.simplefilter("ignore", RuntimeWarning)  # xarray warns on the mean of nothing
    close(c.query(ERA5, "t2m", time=("2001-01-01", "2001-01-02"), bbox=(140, -40, 145, -35), reduce={"dims": ["time"], "ops": ["mean"]})["t2m_mean"],
          ref.astype("float64").mean("time"), name="mean of nothing")
cm = c.query(CMIP6, "tas", time=("2101-01-01", "2101-12-30"), bbox=(140, -40, 145, -35))
assert cm.sizes["time"] == 0 and cm["tas"].shape == (0, 1, 1), cm

# The same from hand-made files and JSON answers (a size-0 dim that is not time, the JSON fallback).
import netCDF4, os, tempfile
path = os.path.join(tempfile.mkdtemp(), "empty.nc")
with netCDF4.Dataset(path, "w") as nc:
    nc.dataset = ERA5
    nc.createDimension("time", 0)
    nc.createDimension("latitude", 2)
    t = nc.createVariable("time", "f8", ("time",)); t.units = "hours since 2000-01-01 00:00:00"; t.calendar = "standard"
    nc.createVariable("latitude", "f8", ("latitude",))[:] = [10.0, 5.0]
    v = nc.createVariable("t2m", "f8", ("time", "latitude"), fill_value=np.nan); v.units = "K"
empty = netcdf_to_datasets(open(path, "rb").read())[ERA5]
assert empty.sizes["time"] == 0 and empty["t2m"].shape == (0, 2) and empty.time.dtype.kind == "M", empty
from proxima_client.client import to_frame
assert len(to_frame(empty)) == 0
empty = result_to_dataset({"dataset": ERA5, "variable": "t2m", "dims": ["time", "latitude"], "shape": [0, 2],
                           "coords": {"time": [], "latitude": [10.0, 5.0]}, "data": {"mean": []}, "attrs": {"units": "K"}})
assert empty["t2m_mean"].shape == (0, 2), empty
print("ok size-0 dims")
