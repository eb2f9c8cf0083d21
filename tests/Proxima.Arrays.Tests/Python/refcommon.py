"""Shared helpers for reference-data generators: dump expected values as little-endian float64."""
import json
import os

import numpy as np


class Manifest:
    def __init__(self, out):
        self.out = out
        self.cases = {}
        os.makedirs(os.path.join(out, "expected"), exist_ok=True)

    def add_values(self, case, var, values, **extra):
        arr = np.asarray(values, dtype="<f8")
        rel = f"expected/{case}__{var.replace('/', '~')}.bin"
        arr.ravel(order="C").tofile(os.path.join(self.out, rel))
        entry = {"shape": list(arr.shape), "file": rel}
        entry.update(extra)
        self.cases.setdefault(case, {"vars": {}})["vars"][var] = entry

    def set_case(self, case, **info):
        self.cases.setdefault(case, {"vars": {}}).update(info)

    def write(self, name="manifest.json"):
        with open(os.path.join(self.out, name), "w") as f:
            json.dump(self.cases, f, indent=1)


def add_xarray_case(m, case, path, consolidated=True, **open_kw):
    """Expected values are what xarray decodes (mask_and_scale, decode_times via cftime as ISO strings)."""
    import xarray as xr

    m.set_case(case, path=os.path.relpath(path, m.out), kind="xarray")
    raw = xr.open_zarr(path, consolidated=consolidated, decode_times=False, **open_kw)
    dec = xr.open_zarr(path, consolidated=consolidated, use_cftime=True, **open_kw)
    for name, v in raw.variables.items():
        extra = {"dims": list(v.dims), "dtype": str(v.dtype)}
        dv = dec.variables[name]
        if dv.dtype == object and len(dv.dims) == 1:
            extra["times"] = [t.isoformat() if t is not None else "NaT" for t in dv.values]
        if v.dtype.kind in "fiub":
            m.add_values(case, name, v.values.astype("f8"), **extra)


def add_netcdf_case(m, case, path, multi=None):
    """Expected values of a NetCDF file, or of files aggregated like open_mfdataset (time re-based to the first file's units)."""
    import cftime
    import xarray as xr

    m.set_case(case, path=os.path.relpath(path, m.out), kind="netcdf")
    if multi is not None:
        raw = xr.open_mfdataset(multi, combine="nested", concat_dim="time", decode_times=False, data_vars="minimal", coords="minimal", compat="override")
        dec = xr.open_mfdataset(multi, combine="nested", concat_dim="time", use_cftime=True, data_vars="minimal", coords="minimal", compat="override")
    else:
        raw = xr.open_dataset(path, decode_times=False)
        dec = xr.open_dataset(path, use_cftime=True)
    for name, v in raw.variables.items():
        extra = {"dims": list(v.dims), "dtype": str(v.dtype)}
        dv = dec.variables[name]
        if dv.dtype == object and len(dv.dims) == 1:
            extra["times"] = [t.isoformat() for t in dv.values]
            extra.pop("dtype")
        if v.dtype.kind in "fiub":
            vals = np.asarray(v.values).astype("f8")
            if multi is not None and "times" in extra:
                # Raw values of a collection's time are re-based to the first file's units.
                first = xr.open_dataset(multi[0], decode_times=False)[name].attrs
                vals = np.asarray(cftime.date2num(list(dv.values), first["units"], calendar=first.get("calendar", "standard")), dtype="f8")
            m.add_values(case, name, vals, **extra)
