"""The duel's data and its referee, in one run: random router topologies over one `proxima up` process
tree, and random federations for each, each with xarray's answer on the whole dataset.

A topology is 1-3 of the up's regions, each with a pool of 1-3 of that region's running workers (a
random subset, in random order): a `proxima router` pointed at exactly those workers. Every shape (the
multiset of pool sizes: (1), (2), (3), (1,1), (1,2), ... (3,3,3), 19 in all) is one topology, its
sizes in random order over random regions; the rest of the topologies have random shapes.
A federation is one topology's regions holding one xarray-made dataset split at random time points
(the regions in random order, each part a Zarr store with random chunking, all sharing a proxima_id),
and a random query window whose answers xarray computes on the whole dataset, with the chunks of each
part the window touches (from the part's chunk grid: what the region must read, exactly once).

usage: make_duel_data.py DATA_ROOT MANIFEST SEED FEDERATIONS TOPOLOGIES REGION:WORKERS,...
writes DATA_ROOT/REGION/duel/fNNN_partK.zarr and MANIFEST {"topologies": [...], "federations": [...]}"""
import itertools
import json
import sys
import warnings
import numpy as np
import pandas as pd
import xarray as xr

warnings.filterwarnings("ignore")  # all-NaN slices: xarray's answer is NaN, which is the point
out, manifest_path, seed, n_federations, n_topologies, supply = sys.argv[1:]
seed, n_federations, n_topologies = int(seed), int(n_federations), int(n_topologies)
supply = [(r, int(n)) for r, n in (s.split(":") for s in supply.split(","))]
rng = np.random.default_rng(seed)
nt, ny, nx = 64, 8, 10
time = pd.date_range("2003-03-01", periods=nt, freq="6h")
lat = np.linspace(70.0, -70.0, ny)  # descending, as ERA5
lon = np.arange(nx) * 36.0
data = (265.0 + 20.0 * rng.standard_normal((nt, ny, nx))).astype("float32")
data[rng.random((nt, ny, nx)) < 0.04] = np.nan
data[:, 3, 4] = np.nan  # one cell with no value at all: mean/std/min/max NaN, count 0
whole = xr.Dataset({"t": (("time", "lat", "lon"), data, {"units": "K"})}, coords={"time": time, "lat": lat, "lon": lon})
ref = whole.t.astype("float64")
ops = ["mean", "std", "min", "max", "count"]


def topology(sizes):
    """Pools of these sizes, in random regions (random order), each a random subset of its region's workers."""
    regions = rng.permutation(len(supply))[:len(sizes)]
    return [{"region": supply[i][0], "workers": [int(w) for w in rng.permutation(supply[i][1])[:n]]}
            for i, n in zip(regions, sizes)]


# Every shape (the pool sizes of 1-3 regions, as a multiset: 19 of them) once, in random order, then random ones.
max_regions, max_pool = min(3, len(supply)), min(3, *(n for _, n in supply))
shapes = [list(c) for k in range(1, max_regions + 1) for c in itertools.combinations_with_replacement(range(1, max_pool + 1), k)]
if n_topologies < len(shapes):
    sys.exit(f"{n_topologies} topologies cannot hold all {len(shapes)} shapes")
while len(shapes) < n_topologies:
    shapes.append(rng.integers(1, max_pool + 1, size=int(rng.integers(1, max_regions + 1))).tolist())
topologies = [topology(rng.permutation(shapes[i]).tolist()) for i in rng.permutation(len(shapes))]


def iso(i):
    return pd.Timestamp(time[i]).strftime("%Y-%m-%dT%H:%M:%S")


def values(a):
    return [None if np.isnan(x) else float(x) for x in np.asarray(a, dtype="float64").ravel()]


def touched(lo, hi, chunk):
    """Chunks of size `chunk` holding any of the indices lo..hi (inclusive)."""
    return hi // chunk - lo // chunk + 1


federations = []
for f in range(n_federations):
    topology = f % n_topologies
    regions = [p["region"] for p in topologies[topology]]
    k = len(regions)
    holders = [regions[i] for i in rng.permutation(k)]
    cuts = sorted(rng.choice(np.arange(1, nt), size=k - 1, replace=False).tolist())
    bounds = [0, *cuts, nt]
    ds_id = f"duel/f{f:03d}"

    a, b = sorted(rng.integers(0, nt, size=2).tolist())
    spec = {"datasets": [ds_id], "variable": "t", "select": {"time": [iso(a), iso(b)]},
            "reduce": {"dims": ["time"], "ops": ops}}
    sel = ref.isel(time=slice(a, b + 1))
    y0, y1, x0, x1 = 0, ny - 1, 0, nx - 1
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

    parts = []
    for i, region in enumerate(holders):
        start, end = bounds[i], bounds[i + 1]
        piece = whole.isel(time=slice(start, end))
        piece.attrs = {"proxima_id": ds_id, "proxima_part": f"time[{start}:{end}]"}
        ct, cy, cx = int(rng.choice([1, 2, 5, 7, 12, 24])), int(rng.choice([3, 4, 8])), int(rng.choice([4, 5, 10]))
        piece.to_zarr(f"{out}/{region}/duel/f{f:03d}_part{i}.zarr", mode="w", encoding={"t": {"chunks": (ct, cy, cx)}})
        lo, hi = max(a, start), min(b, end - 1)
        chunks = touched(lo - start, hi - start, ct) * touched(y0, y1, cy) * touched(x0, x1, cx) if lo <= hi else 0
        parts.append({"region": region, "start": start, "end": end, "chunking": [ct, cy, cx], "chunks": chunks})

    federations.append({"federation": f, "topology": topology, "dataset": ds_id, "parts": parts, "spec": spec,
                        "expected": {op: values(getattr(sel, op)(dims)) for op in ops}})

with open(manifest_path, "w") as fh:
    json.dump({"topologies": topologies, "federations": federations}, fh)
