#!/usr/bin/python3
"""Writes Proxima's demo datasets with xarray + zarr-python (the reference stack).

ERA5-like hourly 2 m temperature (float32, K, descending latitude, 0..360 longitude, Blosc-lz4 --
zarr-python's default compressor) goes to <root>/<era5-region>/reanalysis/era5/t2m.zarr.
CMIP6-like monthly near-surface temperature (int16 packed with scale_factor/add_offset/_FillValue,
360_day calendar) goes to <root>/<cmip6-region>/cmip6/ScenarioMIP/MOHC/UKESM1-0-LL/ssp585/tas.zarr.
Deterministic: the same arguments write the same numbers.
"""
import argparse
import os
import sys

import numpy as np
import xarray as xr


def era5(path, days, step):
    lat = np.arange(90, -90 - step / 2, -step, dtype="float64")
    lon = np.arange(0, 360, step, dtype="float64")
    time = np.arange("2000-01-01T00", np.datetime64("2000-01-01T00") + np.timedelta64(days * 24, "h"), dtype="datetime64[h]").astype("datetime64[ns]")
    rng = np.random.default_rng(2000)
    hours = np.arange(time.size)
    base = 288.0 - 40.0 * np.sin(np.deg2rad(lat))[:, None] ** 2 + 0.0 * lon[None, :]
    diurnal = 4.0 * np.sin(2 * np.pi * (hours[:, None] / 24.0 + lon[None, :] / 360.0))
    seasonal = 6.0 * np.cos(2 * np.pi * hours / (24 * 365.25))
    data = base[None, :, :] + diurnal[:, None, :] + seasonal[:, None, None]
    data = data + rng.normal(0, 1.5, size=data.shape)
    ds = xr.Dataset(
        {"t2m": (("time", "latitude", "longitude"), data.astype("float32"),
                 {"units": "K", "standard_name": "air_temperature", "long_name": "2 metre temperature"})},
        coords={
            "time": ("time", time, {"standard_name": "time", "long_name": "time"}),
            "latitude": ("latitude", lat, {"units": "degrees_north", "standard_name": "latitude"}),
            "longitude": ("longitude", lon, {"units": "degrees_east", "standard_name": "longitude"}),
        },
        attrs={"title": "ERA5-like 2 m temperature (synthetic, Proxima demo)", "source": "proxima demo"},
    )
    ds.time.encoding.update({"units": "hours since 1900-01-01 00:00:00", "calendar": "proleptic_gregorian", "dtype": "int64"})
    ds.t2m.encoding.update({"chunks": (24, lat.size, lon.size)})
    ds.to_zarr(path, mode="w", consolidated=True)


def cmip6(path, years, step):
    import cftime
    lat = np.arange(-90 + step / 2, 90, step, dtype="float64")
    lon = np.arange(step / 2, 360, step, dtype="float64")
    times = [cftime.Datetime360Day(2015 + m // 12, m % 12 + 1, 16) for m in range(years * 12)]
    rng = np.random.default_rng(2015)
    months = np.arange(len(times))
    base = 287.0 - 35.0 * np.sin(np.deg2rad(lat))[:, None] ** 2 + 0.0 * lon[None, :]
    trend = 0.004 * months
    season = 5.0 * np.cos(2 * np.pi * (months % 12) / 12.0)
    data = base[None, :, :] + (trend + season)[:, None, None] + rng.normal(0, 1.0, size=(len(times), lat.size, lon.size))
    data[:, :2, :7] = np.nan  # a hole, stored as _FillValue
    ds = xr.Dataset(
        {"tas": (("time", "lat", "lon"), data.astype("float32"),
                 {"units": "K", "standard_name": "air_temperature", "long_name": "Near-Surface Air Temperature"})},
        coords={
            "time": ("time", times, {"standard_name": "time", "axis": "T"}),
            "lat": ("lat", lat, {"units": "degrees_north", "standard_name": "latitude", "axis": "Y"}),
            "lon": ("lon", lon, {"units": "degrees_east", "standard_name": "longitude", "axis": "X"}),
        },
        attrs={"title": "CMIP6-like UKESM1-0-LL ssp585 tas (synthetic, Proxima demo)", "source_id": "UKESM1-0-LL",
               "experiment_id": "ssp585"},
    )
    ds.time.encoding.update({"units": "days since 1850-01-01", "calendar": "360_day", "dtype": "float64"})
    ds.tas.encoding.update({"dtype": "int16", "scale_factor": 0.01, "add_offset": 280.0, "_FillValue": np.int16(-32767),
                            "chunks": (12, lat.size, lon.size)})
    ds.to_zarr(path, mode="w", consolidated=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", required=True, help="data root; one folder per region below it")
    p.add_argument("--era5-region", default="us-east-1")
    p.add_argument("--cmip6-region", default="us-west-2")
    p.add_argument("--days", type=int, default=60, help="hours of ERA5-like data = 24 x days")
    p.add_argument("--years", type=int, default=86, help="years of CMIP6-like monthly data from 2015")
    p.add_argument("--step", type=float, default=2.5, help="grid spacing in degrees")
    a = p.parse_args()
    e = os.path.join(a.root, a.era5_region, "reanalysis", "era5", "t2m.zarr")
    c = os.path.join(a.root, a.cmip6_region, "cmip6", "ScenarioMIP", "MOHC", "UKESM1-0-LL", "ssp585", "tas.zarr")
    era5(e, a.days, a.step)
    print(f"wrote {e}", file=sys.stderr)
    if a.cmip6_region != "-":
        cmip6(c, a.years, a.step)
        print(f"wrote {c}", file=sys.stderr)


if __name__ == "__main__":
    main()
