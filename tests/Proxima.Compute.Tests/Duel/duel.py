"""Duel reference for Proxima.Compute: generates stores with xarray and computes each query with xarray.

usage: duel.py DIR   -> writes DIR/*.zarr and DIR/expected.json
"""
import json, sys, os
import numpy as np
import pandas as pd
import xarray as xr

root = sys.argv[1]
rng = np.random.default_rng(42)

# ---------------------------------------------------------------- datasets
def era5():
    time = pd.date_range("2000-01-01", periods=24 * 100, freq="H")
    lat = np.arange(90.0, -90.1, -10.0)          # descending, 19
    lon = np.arange(0.0, 360.0, 10.0)            # 0..350, 36
    t = np.arange(time.size)[:, None, None]
    base = 260 + 30 * np.cos(np.deg2rad(lat))[None, :, None] + 5 * np.sin(np.deg2rad(lon))[None, None, :]
    data = base + 8 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 2, (time.size, lat.size, lon.size))
    data = data.astype("float32")
    data[rng.random(data.shape) < 0.01] = np.nan   # holes
    data[:, 3, 5] = np.nan                          # a cell that is never valid
    data[100:130, :, :] = np.nan                    # a day with nothing
    ds = xr.Dataset({"t2m": (("time", "latitude", "longitude"), data, {"units": "K", "long_name": "2 metre temperature"})},
                    coords={"time": time, "latitude": ("latitude", lat, {"units": "degrees_north"}),
                            "longitude": ("longitude", lon, {"units": "degrees_east"})})
    ds.to_zarr(os.path.join(root, "era5.zarr"), mode="w",
               encoding={"t2m": {"chunks": (100, 7, 10)}, "time": {"units": "hours since 2000-01-01", "calendar": "standard"}})
    return ds

def cmip6():
    time = xr.cftime_range("2015-01-01", periods=360 * 3, freq="D", calendar="360_day")
    lat = np.arange(-85.0, 86.0, 10.0)           # ascending, 18
    lon = np.arange(0.0, 360.0, 15.0)            # 24
    vals = 280 + 20 * np.cos(np.deg2rad(lat))[None, :, None] + rng.normal(0, 3, (time.size, lat.size, lon.size))
    vals[rng.random(vals.shape) < 0.02] = np.nan
    da = xr.DataArray(vals, dims=("time", "lat", "lon"),
                      coords={"time": time, "lat": ("lat", lat, {"units": "degrees_north"}), "lon": ("lon", lon, {"units": "degrees_east"})},
                      attrs={"units": "K", "standard_name": "air_temperature"})
    ds = da.to_dataset(name="tas")
    ds.to_zarr(os.path.join(root, "cmip6.zarr"), mode="w",
               encoding={"tas": {"dtype": "int16", "scale_factor": 0.01, "add_offset": 273.15, "_FillValue": -32768, "chunks": (90, 6, 8)},
                         "time": {"units": "days since 2015-01-01", "calendar": "360_day"}})
    return xr.open_zarr(os.path.join(root, "cmip6.zarr")).load()

def gfs():
    time = xr.cftime_range("2001-01-01", periods=4 * 400, freq="6H", calendar="noleap")
    lat = np.arange(-90.0, 90.1, 15.0)           # ascending, 13
    lon = np.arange(-180.0, 180.0, 20.0)         # -180..160, 18
    level = np.array([1000.0, 850.0, 500.0])
    vals = 250 + rng.normal(0, 5, (time.size, level.size, lat.size, lon.size))
    vals[rng.random(vals.shape) < 0.03] = np.nan
    ds = xr.Dataset({"ta": (("time", "level", "lat", "lon"), vals, {"units": "K"})},
                    coords={"time": time, "level": ("level", level, {"units": "hPa"}),
                            "lat": ("lat", lat, {"units": "degrees_north"}), "lon": ("lon", lon, {"units": "degrees_east"})})
    ds.to_zarr(os.path.join(root, "gfs.zarr"), mode="w",
               encoding={"ta": {"chunks": (200, 2, 5, 7)}, "time": {"units": "hours since 2001-01-01", "calendar": "noleap"}})
    return ds

def merra():
    # A NetCDF collection: one file per month, -180..180 longitude, per-file time units, NaN holes.
    folder = os.path.join(root, "merra")
    os.makedirs(folder, exist_ok=True)
    lat = np.arange(-90.0, 90.1, 10.0)
    lon = np.arange(-180.0, 180.0, 15.0)
    parts = []
    for month, days in ((1, 31), (2, 28), (3, 31)):
        time = pd.date_range("2002-%02d-01" % month, periods=4 * days, freq="6H")
        vals = (270 + 15 * np.sin(np.deg2rad(lon))[None, None, :] + rng.normal(0, 4, (time.size, lat.size, lon.size))).astype("float32")
        vals[rng.random(vals.shape) < 0.02] = np.nan
        ds = xr.Dataset({"T2M": (("time", "lat", "lon"), vals, {"units": "K"})},
                        coords={"time": time, "lat": ("lat", lat, {"units": "degrees_north"}), "lon": ("lon", lon, {"units": "degrees_east"})})
        ds.to_netcdf(os.path.join(folder, "MERRA2.2002%02d.nc4" % month),
                     encoding={"time": {"units": "hours since 2002-%02d-01" % month, "calendar": "standard"}})
    return None

merra()
stores = {"era5": (era5(), "t2m", "latitude", "longitude"),
          "merra": (None, "T2M", "lat", "lon"),
          "cmip6": (cmip6(), "tas", "lat", "lon"),
          "gfs": (gfs(), "ta", "lat", "lon")}
# Reference values: what xarray decodes from the stores (int16 unpacking included).
opened = {k: xr.open_zarr(os.path.join(root, k + ".zarr")).load() for k in stores if k != "merra"}
opened["merra"] = xr.concat([xr.open_dataset(os.path.join(root, "merra", f)).load() for f in sorted(os.listdir(os.path.join(root, "merra")))], dim="time")

# ---------------------------------------------------------------- selection helpers (xarray .sel)
def sel_range(da, dim, lo, hi):
    c = da[dim].values
    if c[0] > c[-1]:
        return da.sel({dim: slice(hi, lo)})
    return da.sel({dim: slice(lo, hi)})

def sel_lon(da, dim, west, east):
    off = np.mod(da[dim].values - west, 360.0)
    span = east - west
    if span < 0:
        span += 360
    idx = np.where(off <= span + 1e-9)[0]
    idx = idx[np.argsort(off[idx], kind="stable")]
    out = da.isel({dim: idx})
    return out.assign_coords({dim: west + off[idx]})

def points(da, latn, lonn, pts, convention360):
    lats = xr.DataArray([p["lat"] for p in pts], dims="point")
    lons = [p["lon"] % 360 if convention360 else ((p["lon"] + 180) % 360) - 180 for p in pts]
    out = da.sel({latn: lats, lonn: xr.DataArray(lons, dims="point")}, method="nearest")
    out = out.assign_coords(point=[p["name"] for p in pts])
    return out.transpose("point", ...)  # DESIGN.md §4: result dims ["point", ...rest]

OPS = ["mean", "std", "var", "min", "max", "sum", "count"]

def reduce(da, dims, ops, groupby=None, resample=None):
    # Proxima accumulates float32 data in float64 (DESIGN.md §4); numpy's float32 accumulation along a strided
    # axis drifts by ~1e-6 relative, so the reference reduces the same decoded values upcast to float64.
    # min/max/count are dtype-independent and stay exact comparisons.
    da = da.astype("float64")
    out = {}
    for op in ops:
        if groupby:
            g = da.groupby(groupby)
            r = getattr(g, op)(dim=dims) if op != "count" else g.count(dim=dims)
        elif resample:
            r = getattr(da.resample(time=resample), op)()
        else:
            r = getattr(da, op)(dim=dims)
        out[op] = r
    return out

def tolist(a):
    return [None if (isinstance(v, float) and np.isnan(v)) else float(v) for v in np.asarray(a, dtype="float64").ravel()]

def coord_values(c):
    v = c.values
    if v.dtype.kind == "M":
        return [pd.Timestamp(x).strftime("%Y-%m-%dT%H:%M:%S") for x in v]
    if v.dtype.kind == "O":
        if len(v) and hasattr(v[0], "strftime"):
            return ["%04d-%02d-%02dT%02d:%02d:%02d" % (x.year, x.month, x.day, x.hour, x.minute, x.second) for x in v]
        return [str(x) for x in v]
    if v.dtype.kind in "US":
        return [str(x) for x in v]
    return [float(x) for x in v]

def describe(results):
    first = next(iter(results.values()))
    dims = list(first.dims)
    coords = {d: coord_values(first[d]) for d in dims if d in first.coords}
    extra = {}
    if "point" in dims:
        for c in first.coords:
            if c not in dims and first[c].dims == ("point",):
                extra[c] = coord_values(first[c])
    return {"dims": dims, "shape": list(first.shape), "coords": coords, "point_coords": extra,
            "data": {k: tolist(v.values) for k, v in results.items()}}

queries = []
def q(name, dataset, spec, fn, values=False):
    ds, var, latn, lonn = stores[dataset]
    da = opened[dataset][var]
    res = fn(da, latn, lonn)
    if values:
        res = {"values": res}
    spec = dict(spec)
    spec["datasets"] = [dataset]
    spec["variable"] = var
    queries.append({"name": name, "dataset": dataset, "spec": spec, "expected": describe(res)})

def f64(da):
    return da.astype("float64")

# ---------------------------------------------------------------- the duel queries
# ERA5-like: hourly float32, descending latitude, 0..360 longitude, NaN holes.
q("era5_mean_over_time", "era5", {"reduce": {"dims": ["time"], "ops": OPS}}, lambda da, la, lo: reduce(da, ["time"], OPS))
q("era5_all_ops_over_all_dims", "era5", {"reduce": {"dims": ["time", "lat", "lon"], "ops": OPS}}, lambda da, la, lo: reduce(da, ["time", la, lo], OPS))
q("era5_spatial_mean_time_series", "era5", {"select": {"time": ["2000-01-01", "2000-01-10"]}, "reduce": {"dims": ["lat", "lon"], "ops": ["mean", "count", "max"]}},
  lambda da, la, lo: reduce(da.sel(time=slice("2000-01-01", "2000-01-10")), [la, lo], ["mean", "count", "max"]))
q("era5_descending_lat_range", "era5", {"select": {"lat": [-50, 0], "lon": [110, 180]}, "reduce": {"dims": ["time"], "ops": ["mean", "std", "min"]}},
  lambda da, la, lo: reduce(sel_lon(sel_range(da, la, -50, 0), lo, 110, 180), ["time"], ["mean", "std", "min"]))
q("era5_subset_box", "era5", {"select": {"time": ["2000-02-01T00", "2000-02-01T05"], "lat": [10, 40], "lon": [20, 60]}},
  lambda da, la, lo: sel_lon(sel_range(da.sel(time=slice("2000-02-01T00", "2000-02-01T05")), la, 10, 40), lo, 20, 60), values=True)
q("era5_lon_negative_convention", "era5", {"select": {"lon": [-60, -20], "lat": [0, 30]}, "reduce": {"dims": ["time"], "ops": ["mean", "max"]}},
  lambda da, la, lo: reduce(sel_lon(sel_range(da, la, 0, 30), lo, -60, -20), ["time"], ["mean", "max"]))
q("era5_lon_across_storage_seam", "era5", {"select": {"lon": [-30, 30]}, "reduce": {"dims": ["time"], "ops": ["mean", "count"]}},
  lambda da, la, lo: reduce(sel_lon(da, lo, -30, 30), ["time"], ["mean", "count"]))
q("era5_lon_across_antimeridian", "era5", {"select": {"lon": [170, -170], "lat": [-20, 20]}, "reduce": {"dims": ["time"], "ops": ["mean", "var"]}},
  lambda da, la, lo: reduce(sel_lon(sel_range(da, la, -20, 20), lo, 170, -170), ["time"], ["mean", "var"]))
q("era5_subset_across_seam", "era5", {"select": {"time": ["2000-03-01T00", "2000-03-01T02"], "lon": [340, 20], "lat": [60, 80]}},
  lambda da, la, lo: sel_lon(sel_range(da.sel(time=slice("2000-03-01T00", "2000-03-01T02")), la, 60, 80), lo, 340, 20), values=True)
q("era5_exact_lat_values", "era5", {"select": {"lat": [50, -10, 30], "time": ["2000-01-05", "2000-01-05"]}, "reduce": {"dims": ["time"], "ops": ["mean", "min", "max"]}},
  lambda da, la, lo: reduce(da.sel({la: [50.0, -10.0, 30.0]}).sel(time=slice("2000-01-05", "2000-01-05")), ["time"], ["mean", "min", "max"]))
q("era5_groupby_hour", "era5", {"select": {"lat": [40, 60]}, "reduce": {"dims": ["time"], "ops": ["mean", "std"], "groupby": "time.hour"}},
  lambda da, la, lo: reduce(sel_range(da, la, 40, 60), ["time"], ["mean", "std"], groupby="time.hour"))
q("era5_groupby_month", "era5", {"reduce": {"dims": ["time"], "ops": ["mean", "count", "max"], "groupby": "time.month"}},
  lambda da, la, lo: reduce(da, ["time"], ["mean", "count", "max"], groupby="time.month"))
q("era5_groupby_dayofyear_all_space", "era5", {"reduce": {"dims": ["time", "lat", "lon"], "ops": ["mean", "sum", "count"], "groupby": "time.dayofyear"}},
  lambda da, la, lo: reduce(da, ["time", la, lo], ["mean", "sum", "count"], groupby="time.dayofyear"))
q("era5_resample_daily", "era5", {"select": {"lat": [20, 30], "lon": [0, 30]}, "reduce": {"dims": ["time"], "ops": ["mean", "min", "max", "count", "sum"], "resample": "1D"}},
  lambda da, la, lo: reduce(sel_lon(sel_range(da, la, 20, 30), lo, 0, 30), ["time"], ["mean", "min", "max", "count", "sum"], resample="1D"))
q("era5_resample_monthly", "era5", {"reduce": {"dims": ["time"], "ops": ["mean", "std"], "resample": "1MS"}},
  lambda da, la, lo: reduce(da, ["time"], ["mean", "std"], resample="1MS"))
q("era5_points_time_series", "era5", {"points": [{"name": "Sydney", "lat": -33.87, "lon": 151.21}, {"name": "London", "lat": 51.5, "lon": -0.12 + 3}, {"name": "Lima", "lat": -12.0, "lon": -77.0}],
                                       "select": {"time": ["2000-01-02", "2000-01-03"]}},
  lambda da, la, lo: points(da.sel(time=slice("2000-01-02", "2000-01-03")), la, lo,
                            [{"name": "Sydney", "lat": -33.87, "lon": 151.21}, {"name": "London", "lat": 51.5, "lon": 2.88}, {"name": "Lima", "lat": -12.0, "lon": -77.0}], True), values=True)
q("era5_points_mean_over_time", "era5", {"points": [{"name": "a", "lat": 12, "lon": 200}, {"name": "b", "lat": -61, "lon": 12}], "reduce": {"dims": ["time"], "ops": OPS}},
  lambda da, la, lo: reduce(points(da, la, lo, [{"name": "a", "lat": 12, "lon": 200}, {"name": "b", "lat": -61, "lon": 12}], True), ["time"], OPS))
q("era5_points_monthly_climatology", "era5", {"points": [{"name": "x", "lat": 33, "lon": 101}], "reduce": {"dims": ["time"], "ops": ["mean", "max"], "groupby": "time.month"}},
  lambda da, la, lo: reduce(points(da, la, lo, [{"name": "x", "lat": 33, "lon": 101}], True), ["time"], ["mean", "max"], groupby="time.month"))
q("era5_transform_to_celsius", "era5", {"transform": {"scale": 1.0, "offset": -273.15, "units": "degC"}, "reduce": {"dims": ["time"], "ops": ["mean", "std", "min", "max", "sum"]}},
  lambda da, la, lo: reduce(f64(da) * 1.0 - 273.15, ["time"], ["mean", "std", "min", "max", "sum"]))
q("era5_transform_negative_scale", "era5", {"select": {"lat": [0, 20]}, "transform": {"scale": -2.0, "offset": 10.0}, "reduce": {"dims": ["time", "lon"], "ops": ["mean", "std", "var", "min", "max", "sum"]}},
  lambda da, la, lo: reduce(f64(sel_range(da, la, 0, 20)) * -2.0 + 10.0, ["time", lo], ["mean", "std", "var", "min", "max", "sum"]))
q("era5_reduce_lat_only", "era5", {"select": {"time": ["2000-01-01T00", "2000-01-01T03"]}, "reduce": {"dims": ["lat"], "ops": ["mean", "count"]}},
  lambda da, la, lo: reduce(da.sel(time=slice("2000-01-01T00", "2000-01-01T03")), [la], ["mean", "count"]))
q("era5_reduce_lon_only", "era5", {"select": {"time": ["2000-01-01T00", "2000-01-01T03"]}, "reduce": {"dims": ["lon"], "ops": ["mean", "std", "min"]}},
  lambda da, la, lo: reduce(da.sel(time=slice("2000-01-01T00", "2000-01-01T03")), [lo], ["mean", "std", "min"]))
q("era5_all_nan_day", "era5", {"select": {"time": ["2000-01-05T04", "2000-01-06T09"]}, "reduce": {"dims": ["time"], "ops": OPS}},
  lambda da, la, lo: reduce(da.sel(time=slice("2000-01-05T04", "2000-01-06T09")), ["time"], OPS))
q("era5_month_partial_string", "era5", {"select": {"time": ["2000-02", "2000-02"]}, "reduce": {"dims": ["time", "lat", "lon"], "ops": ["mean", "count"]}},
  lambda da, la, lo: reduce(da.sel(time=slice("2000-02", "2000-02")), ["time", la, lo], ["mean", "count"]))
q("era5_season_groupby", "era5", {"reduce": {"dims": ["time"], "ops": ["mean", "count"], "groupby": "time.season"}},
  lambda da, la, lo: reduce(da, ["time"], ["mean", "count"], groupby="time.season"))

# Empty selections: xarray's .sel(slice) gives a size-0 dim; reductions over it give NaN (mean/std/var), 0 (sum,
# count). xarray raises for min/max over a size-0 dim (numpy fmin has no identity): Proxima answers NaN, as for an
# all-NaN slice (EmptySelectionTests).
EMPTY_OPS = ["mean", "std", "var", "sum", "count"]
q("era5_empty_time_reduce_over_time", "era5", {"select": {"time": ["2001-01-01", "2001-02-01"]}, "reduce": {"dims": ["time"], "ops": EMPTY_OPS}},
  lambda da, la, lo: reduce(da.sel(time=slice("2001-01-01", "2001-02-01")), ["time"], EMPTY_OPS))
q("era5_empty_time_reduce_all_dims", "era5", {"select": {"time": ["1999-01-01", "1999-12-31"]}, "reduce": {"dims": ["time", "lat", "lon"], "ops": EMPTY_OPS}},
  lambda da, la, lo: reduce(da.sel(time=slice("1999-01-01", "1999-12-31")), ["time", la, lo], EMPTY_OPS))
q("era5_empty_time_subset", "era5", {"select": {"time": ["2001-01-01", "2001-02-01"], "lat": [10, 40]}},
  lambda da, la, lo: sel_range(da.sel(time=slice("2001-01-01", "2001-02-01")), la, 10, 40), values=True)
q("era5_empty_lat_reduce_over_time", "era5", {"select": {"lat": [12, 13]}, "reduce": {"dims": ["time"], "ops": ["mean", "count"]}},
  lambda da, la, lo: reduce(sel_range(da, la, 12, 13), ["time"], ["mean", "count"]))
q("era5_empty_time_points", "era5", {"points": [{"name": "a", "lat": 12, "lon": 200}, {"name": "b", "lat": -61, "lon": 12}], "select": {"time": ["2001-01-01", "2001-01-02"]}},
  lambda da, la, lo: points(da.sel(time=slice("2001-01-01", "2001-01-02")), la, lo, [{"name": "a", "lat": 12, "lon": 200}, {"name": "b", "lat": -61, "lon": 12}], True), values=True)
q("cmip6_empty_time_reduce_over_lat_lon", "cmip6", {"select": {"time": ["2020-01-01", "2020-12-30"]}, "reduce": {"dims": ["lat", "lon"], "ops": ["mean", "sum"]}},
  lambda da, la, lo: reduce(da.sel(time=slice("2020-01-01", "2020-12-30")), [la, lo], ["mean", "sum"]))

# CMIP6-like: int16 packed with scale/offset/_FillValue, 360_day calendar.
q("cmip6_mean_over_time", "cmip6", {"reduce": {"dims": ["time"], "ops": OPS}}, lambda da, la, lo: reduce(da, ["time"], OPS))
q("cmip6_groupby_month", "cmip6", {"reduce": {"dims": ["time"], "ops": ["mean", "std", "count"], "groupby": "time.month"}},
  lambda da, la, lo: reduce(da, ["time"], ["mean", "std", "count"], groupby="time.month"))
q("cmip6_groupby_season_region", "cmip6", {"select": {"lat": [-40, 40], "lon": [90, 200]}, "reduce": {"dims": ["time", "lat", "lon"], "ops": ["mean", "max", "min"], "groupby": "time.season"}},
  lambda da, la, lo: reduce(sel_lon(sel_range(da, la, -40, 40), lo, 90, 200), ["time", la, lo], ["mean", "max", "min"], groupby="time.season"))
q("cmip6_groupby_year", "cmip6", {"reduce": {"dims": ["time"], "ops": ["mean", "sum"], "groupby": "time.year"}},
  lambda da, la, lo: reduce(da, ["time"], ["mean", "sum"], groupby="time.year"))
q("cmip6_groupby_dayofyear_point", "cmip6", {"points": [{"name": "p", "lat": 44, "lon": 7}], "reduce": {"dims": ["time"], "ops": ["mean", "count"], "groupby": "time.dayofyear"}},
  lambda da, la, lo: reduce(points(da, la, lo, [{"name": "p", "lat": 44, "lon": 7}], True), ["time"], ["mean", "count"], groupby="time.dayofyear"))
q("cmip6_resample_monthly", "cmip6", {"select": {"lat": [50, 90]}, "reduce": {"dims": ["time"], "ops": ["mean", "max"], "resample": "1MS"}},
  lambda da, la, lo: reduce(sel_range(da, la, 50, 90), ["time"], ["mean", "max"], resample="1MS"))
q("cmip6_resample_yearly", "cmip6", {"reduce": {"dims": ["time"], "ops": ["mean", "count"], "resample": "1YS"}},
  lambda da, la, lo: reduce(da, ["time"], ["mean", "count"], resample="1YS"))
q("cmip6_time_range_feb30", "cmip6", {"select": {"time": ["2016-02-30", "2016-03-02"]}, "reduce": {"dims": ["time"], "ops": ["mean", "min"]}},
  lambda da, la, lo: reduce(da.sel(time=slice("2016-02-30", "2016-03-02")), ["time"], ["mean", "min"]))
q("cmip6_subset_packed_values", "cmip6", {"select": {"time": ["2017-06-01", "2017-06-03"], "lat": [-5, 25], "lon": [345, 15]}},
  lambda da, la, lo: sel_lon(sel_range(da.sel(time=slice("2017-06-01", "2017-06-03")), la, -5, 25), lo, 345, 15), values=True)
q("cmip6_transform_kelvin_to_celsius", "cmip6", {"transform": {"offset": -273.15, "units": "degC"}, "reduce": {"dims": ["lat", "lon"], "ops": ["mean", "std"]}},
  lambda da, la, lo: reduce(f64(da) - 273.15, [la, lo], ["mean", "std"]))

# GFS-like: float64, -180..180 longitude, noleap calendar, a level dim.
q("gfs_level_exact", "gfs", {"select": {"level": [850]}, "reduce": {"dims": ["time"], "ops": ["mean", "std", "count"]}},
  lambda da, la, lo: reduce(da.sel(level=[850.0]), ["time"], ["mean", "std", "count"]))
q("gfs_level_range_and_0_360_request", "gfs", {"select": {"level": [500, 900], "lon": [200, 300]}, "reduce": {"dims": ["time", "level"], "ops": ["mean", "var"]}},
  lambda da, la, lo: reduce(sel_lon(da.sel(level=slice(900, 500)) if da.level.values[0] > da.level.values[-1] else da.sel(level=slice(500, 900)), lo, 200, 300), ["time", "level"], ["mean", "var"]))
q("gfs_antimeridian", "gfs", {"select": {"lon": [150, -150]}, "reduce": {"dims": ["time"], "ops": ["mean", "min", "max"]}},
  lambda da, la, lo: reduce(sel_lon(da, lo, 150, -150), ["time"], ["mean", "min", "max"]))
q("gfs_groupby_month_noleap", "gfs", {"select": {"lat": [-30, 30]}, "reduce": {"dims": ["time", "lon"], "ops": ["mean", "count"], "groupby": "time.month"}},
  lambda da, la, lo: reduce(sel_range(da, la, -30, 30), ["time", lo], ["mean", "count"], groupby="time.month"))
q("gfs_resample_daily_point", "gfs", {"points": [{"name": "q", "lat": 60, "lon": -100}], "select": {"time": ["2001-02-25", "2001-03-03"]}, "reduce": {"dims": ["time"], "ops": ["mean", "max"], "resample": "1D"}},
  lambda da, la, lo: reduce(points(da.sel(time=slice("2001-02-25", "2001-03-03")), la, lo, [{"name": "q", "lat": 60, "lon": -100}], False), ["time"], ["mean", "max"], resample="1D"))
q("gfs_points_subset", "gfs", {"points": [{"name": "r", "lat": -45, "lon": 165}, {"name": "s", "lat": 15, "lon": -178}], "select": {"time": ["2001-12-31T00", "2001-12-31T18"]}},
  lambda da, la, lo: points(da.sel(time=slice("2001-12-31T00", "2001-12-31T18")), la, lo, [{"name": "r", "lat": -45, "lon": 165}, {"name": "s", "lat": 15, "lon": -178}], False), values=True)
q("gfs_reduce_over_points", "gfs", {"points": [{"name": "a", "lat": 0, "lon": 0}, {"name": "b", "lat": 30, "lon": 60}], "reduce": {"dims": ["point", "time"], "ops": ["mean", "std", "count"]}},
  lambda da, la, lo: reduce(points(da, la, lo, [{"name": "a", "lat": 0, "lon": 0}, {"name": "b", "lat": 30, "lon": 60}], False), ["point", "time"], ["mean", "std", "count"]))
q("gfs_groupby_hour_all_ops", "gfs", {"select": {"level": [1000]}, "reduce": {"dims": ["time", "lat", "lon"], "ops": OPS, "groupby": "time.hour"}},
  lambda da, la, lo: reduce(da.sel(level=[1000.0]), ["time", la, lo], OPS, groupby="time.hour"))

# MERRA-2-like NetCDF collection: three monthly files, -180..180 longitude.
q("merra_mean_over_time", "merra", {"reduce": {"dims": ["time"], "ops": ["mean", "std", "count", "min"]}},
  lambda da, la, lo: reduce(da, ["time"], ["mean", "std", "count", "min"]))
q("merra_antimeridian_at_array_ends", "merra", {"select": {"lon": [150, -150], "lat": [-30, 30]}, "reduce": {"dims": ["time"], "ops": ["mean", "max"]}},
  lambda da, la, lo: reduce(sel_lon(sel_range(da, la, -30, 30), lo, 150, -150), ["time"], ["mean", "max"]))
q("merra_0_360_request_on_180_grid", "merra", {"select": {"lon": [200, 300], "time": ["2002-02-27", "2002-03-01"]}, "reduce": {"dims": ["time", "lat"], "ops": ["mean", "sum"]}},
  lambda da, la, lo: reduce(sel_lon(da.sel(time=slice("2002-02-27", "2002-03-01")), lo, 200, 300), ["time", la], ["mean", "sum"]))
q("merra_groupby_month_across_files", "merra", {"reduce": {"dims": ["time", "lon"], "ops": ["mean", "var", "count"], "groupby": "time.month"}},
  lambda da, la, lo: reduce(da, ["time", lo], ["mean", "var", "count"], groupby="time.month"))
q("merra_subset_across_file_boundary", "merra", {"select": {"time": ["2002-01-31T12", "2002-02-01T06"], "lat": [40, 60], "lon": [-20, 20]}},
  lambda da, la, lo: sel_lon(sel_range(da.sel(time=slice("2002-01-31T12", "2002-02-01T06")), la, 40, 60), lo, -20, 20), values=True)
q("merra_point_daily_resample", "merra", {"points": [{"name": "Denver", "lat": 39.7, "lon": -105}], "reduce": {"dims": ["time"], "ops": ["mean", "min", "max"], "resample": "1D"}},
  lambda da, la, lo: reduce(points(da, la, lo, [{"name": "Denver", "lat": 39.7, "lon": -105}], False), ["time"], ["mean", "min", "max"], resample="1D"))

with open(os.path.join(root, "expected.json"), "w") as f:
    json.dump(queries, f)
print(len(queries))
