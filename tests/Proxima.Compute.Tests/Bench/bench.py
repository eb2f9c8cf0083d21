"""Peer side of the Compute benchmark: ERA5-like store generation and xarray/Dask/libblosc timings.

usage: bench.py gen DIR NT        -> DIR/era5_bench.zarr (float32, Blosc lz4 + shuffle, chunks 24 x 361 x 720)
       bench.py run DIR WHAT      -> prints JSON {"seconds": ...} for WHAT in
                                     threaded | cluster | blosc
(mean+std over time; groupby/resample and point series are query_bench.py's)

Dask reads with chunks={} (the Zarr chunks, one task per chunk). The LocalCluster (2 worker processes, 1 thread
each) is started and warmed up (a trivial task round-trips through both workers) before the clock starts; its
start-up time is reported separately as "startup_seconds". Every timing is the best of 3 after one untimed run,
the statistic the C# side reports for itself.
"""
import json, os, sys, time
import numpy as np


def gen(path, nt):
    import pandas as pd, xarray as xr, zarr
    if os.path.exists(os.path.join(path, ".zmetadata")):
        print(json.dumps({"exists": True}))
        return
    lat = np.linspace(90, -90, 361)
    lon = np.arange(0, 360, 0.5)
    time_ = pd.date_range("2000-01-01", periods=nt, freq="H")
    base = (250 + 40 * np.cos(np.deg2rad(lat))[:, None] + 3 * np.sin(np.deg2rad(lon))[None, :]).astype("f4")
    rng = np.random.default_rng(0)
    # One noise field reused (shifted per block): generating fresh normals for 3 GB dominates otherwise.
    noise = (np.round(rng.normal(0, 1.5, (48, 361, 720)) * 64) / 64).astype("f4")
    first = True
    for t0 in range(0, nt, 24):
        n = min(24, nt - t0)
        block = base[None] + (8 * np.sin(2 * np.pi * np.arange(t0, t0 + n) / 24))[:, None, None].astype("f4")
        # ERA5-like: smooth field + noise quantised to 1/64 K, so lz4+shuffle compresses it about 2x.
        k = (t0 // 24) % 24
        block = block + noise[k:k + n]
        part = xr.Dataset({"t2m": (("time", "latitude", "longitude"), block.astype("f4"), {"units": "K"})},
                          coords={"time": time_[t0:t0 + n], "latitude": lat, "longitude": lon})
        if first:
            part.to_zarr(path, mode="w", encoding={"t2m": {"chunks": (24, 361, 720)}, "time": {"units": "hours since 2000-01-01", "dtype": "int64"}})
            first = False
        else:
            part.to_zarr(path, append_dim="time")
    zarr.consolidate_metadata(path)
    print(json.dumps({"created": True}))


def forget(client):
    """Waits until the cluster's scheduler has forgotten the last run's tasks. Releasing them is asynchronous,
    and the same graph submitted again before that finds its keys still in the workers' memory: a 'run' of
    0.07 s that computed nothing."""
    if client is None:
        return
    deadline = time.monotonic() + 30
    while client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) and time.monotonic() < deadline:
        time.sleep(0.05)


def run(path, what):
    import xarray as xr
    if what == "blosc":
        # numcodecs' Blosc with 2 internal threads per chunk, chunks one after another (its usual use).
        import numcodecs
        numcodecs.blosc.set_nthreads(2)
        meta = json.load(open(os.path.join(path, "t2m", ".zarray")))
        codec = numcodecs.get_codec(meta["compressor"])
        files = [os.path.join(path, "t2m", f) for f in os.listdir(os.path.join(path, "t2m")) if not f.startswith(".")]
        raw = [open(f, "rb").read() for f in files]
        s = None
        for _ in range(3):  # best of 3, as the C# side
            t = time.perf_counter()
            out = 0
            for b in raw:
                out += len(codec.decode(b))
            elapsed = time.perf_counter() - t
            s = elapsed if s is None else min(s, elapsed)
        print(json.dumps({"seconds": s, "bytes": out, "compressed": sum(len(b) for b in raw), "chunks": len(raw)}))
        return
    import dask
    client = cluster = None
    res = {}
    if what == "cluster":
        from dask.distributed import Client, LocalCluster
        t = time.perf_counter()
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
        client.wait_for_workers(2)
        client.gather(client.map(lambda x: x + 1, range(4)))
        res["startup_seconds"] = time.perf_counter() - t
    else:
        dask.config.set(scheduler="threads", num_workers=2)
    da = xr.open_zarr(path, chunks={}).t2m
    res["tasks_chunks"] = int(da.data.npartitions)
    # The same statistic as the C# side: one untimed run, then the best of 3 (graph building included).
    dask.compute(da.mean("time"), da.std("time"))
    best = None
    for _ in range(3):
        forget(client)
        t = time.perf_counter()
        m, s_ = dask.compute(da.mean("time"), da.std("time"))
        elapsed = time.perf_counter() - t
        best = elapsed if best is None else min(best, elapsed)
    res["first_mean"] = float(m.values.ravel()[0])
    res["first_std"] = float(s_.values.ravel()[0])
    res["seconds"] = best
    if client is not None:
        client.close()
        cluster.close()
    print(json.dumps(res))


if __name__ == "__main__":
    # The guard matters: LocalCluster's worker processes re-import this module.
    cmd, root = sys.argv[1], sys.argv[2]
    store = os.path.join(root, "era5_bench.zarr")
    if cmd == "gen":
        gen(store, int(sys.argv[3]))
    else:
        run(store, sys.argv[3])
