"""cftime.num2date / date2num reference table for every CF calendar and several units."""
import json
import sys

import cftime
import numpy as np

rng = np.random.default_rng(7)
rows = []
cals = ["standard", "gregorian", "proleptic_gregorian", "julian", "noleap", "365_day", "all_leap", "366_day", "360_day"]
units = ["days since 1850-01-01", "hours since 1900-01-01 00:00:0.0", "minutes since 2000-02-29 12:30:00",
         "seconds since 1970-01-01T00:00:00Z", "days since 0001-01-01 00:00:00", "hours since 1582-10-15",
         "milliseconds since 2010-06-15 06:00", "days since 1000-03-01"]
for cal in cals:
    for u in units:
        if "2000-02-29" in u and cal in ("noleap", "365_day"):
            continue
        vals = list(rng.integers(-200000, 2000000, 12).astype(float)) + [0.0, 0.5, -0.25, 1e-3 * 7]
        if u.startswith("days"):
            vals += list(rng.integers(-700000, 800000, 8).astype(float))
        for v in vals:
            try:
                d = cftime.num2date(v, u, calendar=cal, only_use_cftime_datetimes=True)
            except Exception:
                continue
            iso = d.isoformat()
            back = float(cftime.date2num(d, u, calendar=cal))
            rows.append({"calendar": cal, "units": u, "value": v, "iso": iso, "back": back,
                         "doy": d.dayofyr, "month": d.month})
json.dump(rows, sys.stdout)
