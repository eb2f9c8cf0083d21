"""Maps large enough (60 x 80 cells: a 192 kB partial) that the router sends each part on a pool to one
coordinator worker, which merges its pool's shares in-region; and xarray's answers for them.

pool/t:     us-west-2 (pool of 3), 8 time chunks
poolkill/t: the same data under another id, whose shares worker-us-west-2-1 holds (PROXIMA_FAULT_SHARES_ONLY)

usage: make_pool_data.py OUT_DIR ANSWERS_JSON"""
import json
import sys
import warnings
import numpy as np
import pandas as pd
import xarray as xr

warnings.filterwarnings("ignore")
out, answers_path = sys.argv[1:]
rng = np.random.default_rng(20261204)
nt, ny, nx = 48, 60, 80
data = (280.0 + 15.0 * rng.standard_normal((nt, ny, nx))).astype("float32")
data[rng.random(data.shape) < 0.03] = np.nan
ds = xr.Dataset({"t": (("time", "lat", "lon"), data, {"units": "K"})},
                coords={"time": pd.date_range("2003-01-01", periods=nt, freq="6h"),
                        "lat": np.linspace(59.0, -59.0, ny), "lon": np.arange(nx) * 4.5})
t = ds.t.astype("float64")
answer = {op: [None if np.isnan(x) else float(x) for x in getattr(t, op)("time").values.ravel()]
          for op in ["mean", "std", "min", "max", "count"]}
for ds_id in ["pool/t", "poolkill/t"]:
    piece = ds.copy()
    piece.attrs = {"proxima_id": ds_id}
    piece.to_zarr(f"{out}/us-west-2/{ds_id}.zarr", mode="w", encoding={"t": {"chunks": (6, ny, nx)}})

with open(answers_path, "w") as f:
    json.dump({"cells": ny * nx, "answer": answer}, f)
