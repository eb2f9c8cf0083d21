"""Writes one dataset split by time across regions (same proxima_id, disjoint parts), the whole
dataset for the xarray reference, and a dataset restricted by proxima_acl.

usage: make_split_data.py OUT_DIR WHOLE_STORE 'region:start:end' ... """
import sys
import numpy as np
import pandas as pd
import xarray as xr

out, whole_path, *parts = sys.argv[1:]
rng = np.random.default_rng(20261122)
nt, ny, nx = 72, 10, 12
time = pd.date_range("2001-01-01", periods=nt, freq="6h")
lat = np.linspace(45.0, -45.0, ny)  # descending, as ERA5
lon = np.arange(nx) * 30.0
data = (280.0 + 15.0 * rng.standard_normal((nt, ny, nx))).astype("float32")
data[rng.random((nt, ny, nx)) < 0.03] = np.nan
ds = xr.Dataset({"t": (("time", "lat", "lon"), data, {"units": "K", "standard_name": "air_temperature"})},
                coords={"time": time, "lat": lat, "lon": lon})
enc = {"t": {"chunks": (6, 5, 6)}}
ds.to_zarr(whole_path, mode="w", encoding=enc)
for i, p in enumerate(parts):
    region, a, b = p.split(":")
    piece = ds.isel(time=slice(int(a), int(b)))
    piece.attrs = {"proxima_id": "split/t", "proxima_part": f"time[{a}:{b}]"}
    piece.to_zarr(f"{out}/{region}/split/t_part{i}.zarr", mode="w", encoding=enc)

secret = ds.isel(time=slice(0, 12))
secret.attrs = {"proxima_acl": "era5-team"}
first_region = parts[0].split(":")[0]
secret.to_zarr(f"{out}/{first_region}/secret/s.zarr", mode="w", encoding=enc)

# The same data under another id for deadline/cancellation tests (workers delay its units on request).
slow = ds.copy()
slow.attrs = {"proxima_id": "slow/t"}
slow.to_zarr(f"{out}/{first_region}/slow/t.zarr", mode="w", encoding=enc)
