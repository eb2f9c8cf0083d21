"""The duel's data and its referee, in one run for one process topology: one dataset made by xarray,
cut into many random federations (the dataset split at random time points into per-region Zarr
stores sharing a proxima_id, over a random subset of the topology's regions in random order, with
random chunking), each with random query windows whose answers xarray computes on the whole dataset.

usage: make_duel_data.py DATA_ROOT MANIFEST SEED SPLITS WINDOWS TOPOLOGY REGION,REGION,...
writes DATA_ROOT/REGION/duel/TOPOLOGY/sNN_partK.zarr and MANIFEST (the splits, specs, xarray's answers)"""
import json
import sys
import warnings
import numpy as np
import pandas as pd
import xarray as xr

warnings.filterwarnings("ignore")  # all-NaN slices: xarray's answer is NaN, which is the point
out, manifest_path, seed, n_splits, n_windows, name, regions = sys.argv[1:]
seed, n_splits, n_windows, regions = int(seed), int(n_splits), int(n_windows), regions.split(",")
rng = np.random.default_rng([seed, sum(map(ord, name))])
nt, ny, nx = 96, 8, 10
time = pd.date_range("2003-03-01", periods=nt, freq="6h")
lat = np.linspace(70.0, -70.0, ny)  # descending, as ERA5
lon = np.arange(nx) * 36.0
data = (265.0 + 20.0 * rng.standard_normal((nt, ny, nx))).astype("float32")
data[rng.random((nt, ny, nx)) < 0.04] = np.nan
data[:, 3, 4] = np.nan  # one cell with no value at all: mean/std/min/max NaN, count 0
whole = xr.Dataset({"t": (("time", "lat", "lon"), data, {"units": "K"})}, coords={"time": time, "lat": lat, "lon": lon})
ref = whole.t.astype("float64")
ops = ["mean", "std", "min", "max", "count"]


def iso(i):
    return pd.Timestamp(time[i]).strftime("%Y-%m-%dT%H:%M:%S")


def values(a):
    return [None if np.isnan(x) else float(x) for x in np.asarray(a, dtype="float64").ravel()]


manifest = []
for s in range(n_splits):
    k = int(rng.integers(1, len(regions) + 1))
    holders = [regions[i] for i in rng.permutation(len(regions))[:k]]
    cuts = sorted(rng.choice(np.arange(1, nt), size=k - 1, replace=False).tolist())
    bounds = [0, *cuts, nt]
    ds_id = f"duel/{name}/s{s:02d}"
    parts = []
    for i, region in enumerate(holders):
        a, b = bounds[i], bounds[i + 1]
        piece = whole.isel(time=slice(a, b))
        piece.attrs = {"proxima_id": ds_id, "proxima_part": f"time[{a}:{b}]"}
        chunks = (int(rng.choice([1, 2, 5, 7, 12, 24])), int(rng.choice([3, 4, 8])), int(rng.choice([4, 5, 10])))
        piece.to_zarr(f"{out}/{region}/duel/{name}/s{s:02d}_part{i}.zarr", mode="w", encoding={"t": {"chunks": chunks}})
        parts.append({"region": region, "start": a, "end": b, "chunks": list(chunks)})
    queries = []
    for _ in range(n_windows):
        a, b = sorted(rng.integers(0, nt, size=2).tolist())
        spec = {"datasets": [ds_id], "variable": "t", "select": {"time": [iso(a), iso(b)]},
                "reduce": {"dims": ["time"], "ops": ops}}
        sel = ref.isel(time=slice(a, b + 1))
        if rng.random() < 0.4:
            y0, y1 = sorted(rng.integers(0, ny, size=2).tolist())
            x0, x1 = sorted(rng.integers(0, nx, size=2).tolist())
            spec["select"]["lat"] = [float(lat[y1]), float(lat[y0])]
            spec["select"]["lon"] = [float(lon[x0]), float(lon[x1])]
            sel = sel.isel(lat=slice(y0, y1 + 1), lon=slice(x0, x1 + 1))
        dims = ["time"]
        if rng.random() < 0.25:
            dims = ["time", "lat", "lon"]
            spec["reduce"]["dims"] = dims
        queries.append({"spec": spec, "steps": [a, b], "expected": {op: values(getattr(sel, op)(dims)) for op in ops}})
    manifest.append({"split": s, "dataset": ds_id, "parts": parts, "queries": queries})

with open(manifest_path, "w") as f:
    json.dump(manifest, f)
