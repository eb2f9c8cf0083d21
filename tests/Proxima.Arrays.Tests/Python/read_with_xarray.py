"""Reads a store with xarray (and zarr-python) and dumps every numeric variable as the reference manifest."""
import os
import sys

import numpy as np
import xarray as xr
import zarr

from refcommon import Manifest, add_xarray_case

out, store = sys.argv[1], sys.argv[2]
m = Manifest(out)
add_xarray_case(m, "written", store)
g = zarr.open_group(store, mode="r")
for name, a in g.arrays():
    m.cases["written"]["vars"][name]["zarr_dtype"] = str(a.dtype)
m.write()
