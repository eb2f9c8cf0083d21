"""Datasets whose units the failure tests hold on chosen workers (PROXIMA_FAULT_*) so a SIGKILL lands
mid-query, and xarray's answers for them, in one run.

big/t:  a year of 6-hourly steps (960 chunks) split between us-east-1 and us-west-2
edge/t: split between us-east-1 and ap-southeast-2

usage: make_failure_data.py OUT_DIR ANSWERS_JSON"""
import json
import sys
import warnings
import numpy as np
import pandas as pd
import xarray as xr

warnings.filterwarnings("ignore")
out, answers_path = sys.argv[1:]
rng = np.random.default_rng(20261204)
ops = ["mean", "std", "min", "max", "count"]
enc = {"t": {"chunks": (6, 5, 6)}}


def make(nt):
    time = pd.date_range("2002-01-01", periods=nt, freq="6h")
    data = (280.0 + 15.0 * rng.standard_normal((nt, 10, 12))).astype("float32")
    data[rng.random(data.shape) < 0.03] = np.nan
    return xr.Dataset({"t": (("time", "lat", "lon"), data, {"units": "K"})},
                      coords={"time": time, "lat": np.linspace(45.0, -45.0, 10), "lon": np.arange(12) * 30.0})


def answer(ds):
    t = ds.t.astype("float64")
    return {op: [None if np.isnan(x) else float(x) for x in getattr(t, op)("time").values.ravel()] for op in ops}


answers = {}
for ds_id, nt, (first, second), cut in [("big/t", 1440, ("us-east-1", "us-west-2"), 600), ("edge/t", 240, ("us-east-1", "ap-southeast-2"), 120)]:
    whole = make(nt)
    for i, (region, a, b) in enumerate([(first, 0, cut), (second, cut, nt)]):
        piece = whole.isel(time=slice(a, b))
        piece.attrs = {"proxima_id": ds_id, "proxima_part": f"time[{a}:{b}]"}
        piece.to_zarr(f"{out}/{region}/{ds_id}_part{i}.zarr", mode="w", encoding=enc)
    answers[ds_id] = answer(whole)
    answers[ds_id + " " + first] = answer(whole.isel(time=slice(0, cut)))

with open(answers_path, "w") as f:
    json.dump(answers, f)
