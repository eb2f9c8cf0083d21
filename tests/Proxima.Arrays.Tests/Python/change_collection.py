"""Appends one hourly step to the last file of a NetCDF collection (in place, as a re-delivered file would
change) and writes the expected values of the changed collection, from xarray.open_mfdataset."""
import glob
import os
import sys

import netCDF4
import numpy as np

from refcommon import Manifest, add_netcdf_case

out, coll = sys.argv[1], sys.argv[2]
files = sorted(glob.glob(os.path.join(coll, "*.nc")))
with netCDF4.Dataset(files[-1], "r+") as f:
    n = len(f.dimensions["time"])
    f["time"][n] = f["time"][n - 1] + 1
    f["t2m"][n] = np.full(f["t2m"].shape[1:], 123.5, dtype="f4")
m = Manifest(out)
add_netcdf_case(m, "changed", coll, multi=files)
m.write()
