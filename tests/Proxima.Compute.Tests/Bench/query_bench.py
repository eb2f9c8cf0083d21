"""Peer side of the query benchmarks (QueryBenchmarks.cs): groupby/resample with xarray+Dask and point series
with xarray's .sel(method="nearest").load(). The ERA5-like store comes from bench.py gen.

usage: query_bench.py gen DIR NAME       -> DIR/NAME.zarr, NAME = points_era5_chunks | points_time_chunks: 10 years
                                            hourly on a 5-degree grid (37 x 72), chunks 24 x 37 x 72 (ERA5's
                                            24 x 721 x 1440 scaled down) or 8760 x 8 x 8 (time-contiguous)
       query_bench.py group DIR SCHED KIND KEY [OPS]
                                         -> {"seconds", "first_mean", "first_std", "cells"}: mean and std (OPS
                                            mean+std, the default) or the mean alone (OPS mean: "first_std" absent)
                                            of DIR/era5_bench.zarr grouped (KIND groupby|resample, KEY time.month|1D...), best of 3 after a warm-up
                                            with SCHED threaded | cluster (LocalCluster, 2 processes)
       query_bench.py points DIR NAME    -> {"seconds", "n", "sum", "bytes"}: 4 cities, best of 15
"""
import json, os, sys, time
import numpy as np


def forget(client):
    """Waits until a LocalCluster's scheduler has forgotten the last run's tasks (released asynchronously: the
    same graph submitted again before that reuses the results still in the workers' memory)."""
    if client is None:
        return
    deadline = time.monotonic() + 30
    while client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) and time.monotonic() < deadline:
        time.sleep(0.05)


def main():
    # A function behind a __main__ guard: LocalCluster's worker processes re-import this module.
    cmd, root = sys.argv[1], sys.argv[2]
    # London at 0.12 E: xarray's nearest does not wrap at 360 (359.88 would pick 355), ours does; both pick 0 here.
    CITIES = [(-33.87, 151.21), (51.5, 0.12), (40.71, 285.99), (35.68, 139.69)]

    if cmd == "gen":
        import zarr, numcodecs
        name, nt = sys.argv[3], 24 * 3652
        p = os.path.join(root, name + ".zarr")
        if os.path.exists(os.path.join(p, ".zmetadata")):
            print(json.dumps({"exists": True}))
            sys.exit(0)
        lat = np.linspace(90, -90, 37)
        lon = np.arange(0, 360, 5.0)
        chunks = (24, 37, 72) if name == "points_era5_chunks" else (8760, 8, 8)
        g = zarr.open_group(p, mode="w")
        for n, v, units in (("latitude", lat, "degrees_north"), ("longitude", lon, "degrees_east")):
            a = g.create_dataset(n, data=v, chunks=(v.size,), compressor=None, fill_value=None)
            a.attrs.update({"_ARRAY_DIMENSIONS": [n], "units": units})
        tv = g.create_dataset("time", data=np.arange(nt, dtype="i8"), chunks=(nt,), compressor=None, fill_value=None)
        tv.attrs.update({"_ARRAY_DIMENSIONS": ["time"], "units": "hours since 2000-01-01", "calendar": "proleptic_gregorian"})
        comp = numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE)
        t2m = g.create_dataset("t2m", shape=(nt, 37, 72), chunks=chunks, dtype="f4", compressor=comp, fill_value=np.nan)
        t2m.attrs.update({"_ARRAY_DIMENSIONS": ["time", "latitude", "longitude"], "units": "K"})
        base = (250 + 40 * np.cos(np.deg2rad(lat))[:, None] + 3 * np.sin(np.deg2rad(lon))[None, :]).astype("f4")
        rng = np.random.default_rng(1)
        for t0 in range(0, nt, 8760):
            n = min(8760, nt - t0)
            block = base[None] + (8 * np.sin(2 * np.pi * np.arange(t0, t0 + n) / 24))[:, None, None].astype("f4")
            t2m[t0:t0 + n] = block + np.round(rng.normal(0, 1.5, block.shape) * 64).astype("f4") / 64
        zarr.consolidate_metadata(p)
        print(json.dumps({"created": True}))
    elif cmd == "group":
        import dask, xarray as xr
        sched, kind, key = sys.argv[3], sys.argv[4], sys.argv[5]
        mean_only = len(sys.argv) > 6 and sys.argv[6] == "mean"
        client = None
        if sched == "cluster":
            from dask.distributed import Client, LocalCluster
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
        else:
            dask.config.set(scheduler="threads", num_workers=2)
        da = xr.open_zarr(os.path.join(root, "era5_bench.zarr")).t2m

        def run():
            if kind == "groupby":
                g = da.groupby(key)
                return (g.mean("time").compute(), None) if mean_only else dask.compute(g.mean("time"), g.std("time"))
            g = da.resample(time=key)
            return (g.mean().compute(), None) if mean_only else dask.compute(g.mean(), g.std())

        # The same statistic as the C# side: one untimed run (imports, thread pools, workers warm), then the
        # best of PROXIMA_BENCH_GROUP_ROUNDS (the C# side sets it; 5 by default), graph building included.
        run()
        best = None
        for _ in range(int(os.environ.get("PROXIMA_BENCH_GROUP_ROUNDS", "5"))):
            forget(client)
            t = time.perf_counter()
            m, s = run()
            elapsed = time.perf_counter() - t
            best = elapsed if best is None else min(best, elapsed)
        res = {"seconds": best, "first_mean": float(m.values.ravel()[0]), "cells": int(m.size)}
        if s is not None:
            res["first_std"] = float(s.values.ravel()[0])
        if client is not None:
            client.close()
            cluster.close()
        print(json.dumps(res))
    elif cmd == "points":
        import xarray as xr, zarr
        p = os.path.join(root, sys.argv[3] + ".zarr")
        best = None
        for _ in range(15):  # best of 15, as the C# side
            da = xr.open_zarr(p).t2m
            t = time.perf_counter()
            vals = [da.sel(latitude=la, longitude=lo, method="nearest").load().values for la, lo in CITIES]
            s = time.perf_counter() - t
            best = s if best is None else min(best, s)
        z = zarr.open_consolidated(p)["t2m"]
        nbytes = 0
        for la, lo in CITIES:
            i = int(np.argmin(np.abs(da.latitude.values - la)))
            j = int(np.argmin(np.abs(da.longitude.values - lo)))
            for c in range(0, z.shape[0], z.chunks[0]):
                nbytes += os.path.getsize(os.path.join(p, "t2m", "%d.%d.%d" % (c // z.chunks[0], i // z.chunks[1], j // z.chunks[2])))
        print(json.dumps({"seconds": best, "n": int(sum(v.size for v in vals)), "sum": float(sum(v.astype("f8").sum() for v in vals)), "bytes": nbytes}))


if __name__ == "__main__":
    main()
