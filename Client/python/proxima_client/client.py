"""Proxima's Python client: QuerySpec v1 over HTTP, answers as xarray / pandas objects.

Only the standard library (urllib), numpy, pandas, xarray and cftime are used, so Debian's
python3 packages are enough.
"""
import io
import json
import math
import os
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pandas as pd
import xarray as xr

_GREGORIAN = {"", "standard", "gregorian", "proleptic_gregorian"}


class ProximaError(Exception):
    """A request to the router failed. ``code``/``field``/``status`` carry the router's error document."""

    def __init__(self, message, code=None, field=None, status=None, region=None):
        super().__init__(message)
        self.code = code
        self.field = field
        self.status = status
        self.region = region


class AuthenticationError(ProximaError):
    """401: no token or a wrong one (``proxima up`` writes it to ``STATE/token``)."""


class QueryError(ProximaError):
    """400: the router rejected the query; ``field`` names the offending QuerySpec field."""


class UnavailableError(ProximaError):
    """503: a region is unavailable (``region``) and ``allow_partial`` was false, or the router is unreachable."""


class DeadlineExceededError(ProximaError):
    """504: the query's deadline passed."""


class Client:
    """A client of one Proxima router.

    >>> c = Client("http://127.0.0.1:8080", token=None)
    >>> ds = c.query("reanalysis/era5/t2m", "t2m", time=("2000-01-01", "2000-01-31"), to_celsius=True,
    ...              reduce={"dims": ["time"], "ops": ["mean"]})
    """

    def __init__(self, url, token=None, timeout=600, output="netcdf"):
        if not url:
            raise ValueError("url: give the router's HTTP address, e.g. http://127.0.0.1:8080")
        if output not in ("netcdf", "json"):
            raise ValueError(f"output: expected 'netcdf' (the default) or 'json', got {output!r}")
        self.url = url if url.endswith("/") else url + "/"
        self.token = token
        self.timeout = timeout
        # Queries are answered as the router's NetCDF file, opened by xarray (python3-netcdf4); the JSON
        # answer is the fallback where netCDF4 is not installed, or when asked for with output="json".
        self.output = output if output == "json" or _has("netCDF4") else "json"

    @classmethod
    def from_state(cls, state=None, token=None, timeout=600, output="netcdf"):
        """The federation a local ``proxima up --state DIR`` runs: router URL from ``DIR/federation.json``,
        token from ``DIR/token`` when present. ``state`` defaults to ``$PROXIMA_STATE`` or ``.proxima``."""
        state = state or os.environ.get("PROXIMA_STATE") or ".proxima"
        path = os.path.join(state, "federation.json")
        try:
            with open(path, encoding="utf-8") as f:
                run = json.load(f)
        except FileNotFoundError:
            raise ProximaError(f"no running federation in {os.path.abspath(state)} ({path} is missing): "
                               f"start one with 'proxima up --state {state}'") from None
        return cls(run["routerUrl"], token=token if token is not None else read_token(state), timeout=timeout,
                   output=output)

    # ------------------------------------------------------------------ queries

    def query(self, datasets=None, variable=None, *, time=None, bbox=None, select=None, points=None,
              transform=None, to_celsius=False, reduce=None, allow_partial=False, deadline_ms=None, spec=None,
              as_frame=None):
        """Runs a QuerySpec (DESIGN.md section 4) and returns the answer.

        ``datasets``: a dataset id or a list of ids. ``time``: (start, end) ISO strings in the dataset's
        calendar. ``bbox``: (west, south, east, north). ``select``: extra ``{dim: [a, b]}`` ranges.
        ``points``: ``[{"name", "lat", "lon"}]`` or ``{name: (lat, lon)}``. ``reduce``: ``{"dims", "ops",
        "groupby"|"resample"}``. ``spec``: a full QuerySpec dict instead of the keywords.

        Returns an ``xarray.Dataset`` per dataset (data variables: the ops, or the variable's name without
        ``reduce``): the Dataset itself for one dataset, a ``dict`` id -> Dataset for several. Point
        queries return a tidy ``pandas.DataFrame`` (or Datasets with ``as_frame=False``).
        """
        if spec is None:
            spec = build_spec(datasets, variable, time=time, bbox=bbox, select=select, points=points,
                              transform=transform, to_celsius=to_celsius, reduce=reduce,
                              allow_partial=allow_partial, deadline_ms=deadline_ms)
        results = self.query_datasets(spec)
        if as_frame is None:
            as_frame = bool(spec.get("points"))
        if as_frame:
            results = {k: to_frame(v) for k, v in results.items()}
        if len(results) == 1:
            return next(iter(results.values()))
        return results

    def query_datasets(self, spec):
        """Runs ``spec`` and returns ``{dataset id: xarray.Dataset}`` in query order.

        The Datasets are the router's NetCDF answer (``output.format: netcdf``) as ``xarray.open_dataset``
        decodes it: variables ``{variable}_{op}`` (``{variable}`` without ``reduce``), CF attrs, times in
        the dataset's calendar (cftime objects for non-standard ones), point lat/lon as coordinates, the
        query in ``attrs["proxima_query"]``. With ``output="json"`` they are built from the JSON answer
        with the same names."""
        if self.output == "netcdf":
            return netcdf_to_datasets(self.post({**spec, "output": {"format": "netcdf"}}))
        answer = json.loads(self.post({**spec, "output": {"format": "json"}}))
        return {r["dataset"]: result_to_dataset(r, answer.get("stats")) for r in answer["results"]}

    def query_json(self, spec):
        """Runs ``spec`` and returns the router's JSON answer as a dict."""
        return json.loads(self.post({**spec, "output": {"format": "json"}}))

    def query_csv(self, spec):
        """Runs ``spec`` and returns the router's CSV answer as a DataFrame."""
        return pd.read_csv(io.BytesIO(self.post({**spec, "output": {"format": "csv"}})))

    # ------------------------------------------------------------------ catalog

    def search(self, bbox=None, datetime=None, q=None, variable=None, region=None, limit=None, *, time=None):
        """Searches the catalog (``GET /v1/datasets``). ``datetime`` is ``"a/b"`` or a (start, end) pair
        (``time`` is an alias). Returns a DataFrame, one row per dataset part: id, region, start, end,
        calendar, bbox, variables, title; ``.attrs["features"]`` keeps the STAC features."""
        features = self.search_items(bbox=bbox, datetime=datetime if datetime is not None else time, q=q,
                                     variable=variable, region=region, limit=limit)
        rows = []
        for f in features:
            p = f.get("properties", {})
            rows.append({
                "id": f.get("id"),
                "region": p.get("proxima:region"),
                "start": p.get("start_datetime") or p.get("datetime"),
                "end": p.get("end_datetime"),
                "calendar": p.get("proxima:calendar"),
                "bbox": f.get("bbox"),
                "variables": sorted((p.get("cube:variables") or {}).keys()),
                "title": p.get("title"),
                "format": p.get("proxima:format"),
                "bytes": p.get("proxima:bytes"),
            })
        frame = pd.DataFrame(rows, columns=["id", "region", "start", "end", "calendar", "bbox", "variables",
                                            "title", "format", "bytes"])
        frame.attrs["features"] = features
        return frame

    def search_items(self, bbox=None, datetime=None, q=None, variable=None, region=None, limit=None):
        """The STAC features of a catalog search, as dicts."""
        params = {}
        if bbox is not None:
            params["bbox"] = ",".join(_num(v) for v in bbox)
        if datetime is not None:
            params["datetime"] = datetime if isinstance(datetime, str) else f"{datetime[0]}/{datetime[1]}"
        for k, v in (("q", q), ("variable", variable), ("region", region), ("limit", limit)):
            if v is not None:
                params[k] = str(v)
        query = urllib.parse.urlencode(params, safe=",/:")
        body = self._request("GET", "v1/datasets" + ("?" + query if query else ""))
        return json.loads(body)["features"]

    # ------------------------------------------------------------------ HTTP

    def post(self, spec):
        """POSTs a QuerySpec and returns the answer's bytes (raises a ProximaError subclass on failure)."""
        return self._request("POST", "v1/query", json.dumps(spec).encode("utf-8"))

    def _request(self, method, path, body=None):
        headers = {"accept": "*/*"}
        if body is not None:
            headers["content-type"] = "application/json"
        if self.token:
            headers["authorization"] = "Bearer " + self.token
        req = urllib.request.Request(urllib.parse.urljoin(self.url, path), data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return resp.read()
        except urllib.error.HTTPError as e:
            raise _error(e.code, e.read()) from None
        except urllib.error.URLError as e:
            raise UnavailableError(f"cannot reach the router at {self.url}: {e.reason}", code="unavailable") from None

    def __repr__(self):
        return f"Client({self.url!r}, token={'***' if self.token else None})"


def read_token(state):
    """The token ``proxima up`` wrote to ``STATE/token`` (first line), or None."""
    try:
        with open(os.path.join(state, "token"), encoding="utf-8") as f:
            return f.readline().strip() or None
    except FileNotFoundError:
        return None


def build_spec(datasets, variable, *, time=None, bbox=None, select=None, points=None, transform=None,
               to_celsius=False, reduce=None, allow_partial=False, deadline_ms=None):
    """A QuerySpec v1 dict from keyword arguments (see ``Client.query``)."""
    if not datasets:
        raise ValueError("datasets: give at least one dataset id, e.g. 'reanalysis/era5/t2m'")
    if not variable:
        raise ValueError("variable: give the variable name or standard_name, e.g. 't2m'")
    spec = {"datasets": [datasets] if isinstance(datasets, str) else list(datasets), "variable": variable}
    sel = {}
    if time is not None:
        sel["time"] = [str(time[0]), str(time[1])]
    if bbox is not None:
        w, s, e, n = bbox
        if s > n:
            raise ValueError(f"bbox: south ({s}) is north of north ({n}); give (west, south, east, north)")
        sel["lat"] = [s, n]
        sel["lon"] = [w, e]
    if select:
        sel.update(select)
    if sel:
        spec["select"] = sel
    if points:
        if isinstance(points, dict):
            points = [{"name": k, "lat": v[0], "lon": v[1]} for k, v in points.items()]
        spec["points"] = [dict(p) for p in points]
    if to_celsius:
        if transform is not None:
            raise ValueError("give either to_celsius=True or transform, not both")
        transform = {"scale": 1.0, "offset": -273.15, "units": "degC"}
    if transform is not None:
        spec["transform"] = transform
    if reduce is not None:
        spec["reduce"] = reduce
    if allow_partial:
        spec["allow_partial"] = True
    if deadline_ms is not None:
        spec["deadline_ms"] = int(deadline_ms)
    return spec


def decode_times(labels, calendar):
    """ISO-8601 labels in ``calendar`` -> datetime64[ns] (Gregorian calendars) or cftime objects."""
    calendar = calendar or "standard"
    if calendar in _GREGORIAN:
        return pd.to_datetime(list(labels)).values.astype("datetime64[ns]")
    import cftime
    out = np.empty(len(labels), dtype=object)
    for i, s in enumerate(labels):
        date, _, clock = s.rstrip("Z").partition("T")
        neg = date.startswith("-")
        y, m, d = (int(x) for x in date.lstrip("-").split("-"))
        hh, mm, ss = 0, 0, 0.0
        if clock:
            parts = clock.split(":")
            hh = int(parts[0])
            mm = int(parts[1]) if len(parts) > 1 else 0
            ss = float(parts[2]) if len(parts) > 2 else 0.0
        sec = int(ss)
        out[i] = cftime.datetime(-y if neg else y, m, d, hh, mm, sec, int(round((ss - sec) * 1e6)), calendar=calendar)
    return out


def _looks_like_time(values):
    if not values or not all(isinstance(v, str) for v in values):
        return False
    v = values[0]
    return len(v) >= 10 and v[4] == "-" and v[7] == "-" and v[:4].lstrip("-").isdigit()


def netcdf_to_datasets(body):
    """The router's NetCDF answer (bytes) -> ``{dataset id: xarray.Dataset}``, loaded into memory.

    One result is the root group; several are one group each (named after the dataset, its id in the
    group's ``dataset`` attribute). The root's global attributes (``proxima_query``, ``Conventions``) are
    copied to every Dataset. Point latitude/longitude (variables along ``point`` in degrees) become
    coordinates, as they are in the JSON answer."""
    import netCDF4

    try:
        nc = netCDF4.Dataset("proxima-answer.nc", mode="r", memory=bytes(body))
    except OSError as e:
        raise ProximaError(f"the router's answer is not a readable NetCDF file ({len(body)} bytes): {e}") from None
    try:
        root = {k: nc.getncattr(k) for k in nc.ncattrs()}
        groups = list(nc.groups) or [None]
        out = {}
        for group in groups:
            ds = xr.open_dataset(xr.backends.NetCDF4DataStore(nc, group=group)).load()
            ds.attrs = {**{k: v for k, v in root.items() if k != "dataset"}, **ds.attrs}
            point_coords = [v for v in ds.data_vars if ds[v].dims == ("point",)
                            and ds[v].attrs.get("units") in ("degrees_north", "degrees_east")]
            out[ds.attrs.get("dataset", group)] = _empty_times(ds.set_coords(point_coords))
        return out
    finally:
        nc.close()


def _empty_times(ds):
    """A size-0 time axis (an empty selection) has nothing for xarray to decode: give it the dtype a
    non-empty one of the same calendar decodes to (datetime64 for Gregorian calendars, else cftime; an
    empty axis written without a calendar is taken as Gregorian)."""
    for name, coord in ds.coords.items():
        if coord.size == 0 and coord.dtype.kind not in "Mm" and coord.dtype != object and \
                (name == "time" or coord.attrs.get("standard_name") == "time" or coord.attrs.get("axis") == "T"):
            calendar = coord.attrs.get("calendar") or coord.encoding.get("calendar")
            empty = decode_times([], calendar)
            ds = ds.assign_coords({name: xr.Variable(coord.dims, empty, {"calendar": calendar} if calendar else {})})
    return ds


def result_to_dataset(result, stats=None):
    """One entry of the JSON answer's ``results`` -> ``xarray.Dataset``."""
    dims = list(result["dims"])
    shape = [int(s) for s in result["shape"]]
    attrs = dict(result.get("attrs") or {})
    calendar = attrs.get("calendar")
    coords = {}
    for name, values in result["coords"].items():
        if name in dims:
            dim = name
        elif "point" in dims and len(values) == shape[dims.index("point")]:
            dim = "point"
        else:
            dim = next((d for d, n in zip(dims, shape) if n == len(values)), name)
        if name == "time" or (dim != "point" and _looks_like_time(values)):
            arr = decode_times(values, calendar)
            coords[name] = xr.Variable((dim,), arr, {"calendar": calendar} if calendar else {})
        elif values and all(isinstance(v, str) for v in values):
            coords[name] = ((dim,), np.array(values, dtype=object))
        else:
            coords[name] = ((dim,), np.array([math.nan if v is None else v for v in values], dtype="float64"))
    data_vars = {}
    var_attrs = {k: v for k, v in attrs.items() if k != "calendar"}
    for op, values in result["data"].items():
        arr = np.array([math.nan if v is None else v for v in values], dtype="float64").reshape(shape)
        name = result["variable"] if op == "values" else result["variable"] + "_" + op
        a = dict(var_attrs)
        if op != "values":
            a["proxima_op"] = op
        data_vars[name] = (dims, arr, a)
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs.update({"dataset": result["dataset"], "variable": result["variable"],
                     "partial": int(bool(result.get("partial"))), "missing": ",".join(result.get("missing") or [])})
    if stats:
        ds.attrs["bytes_cross_region"] = int(stats.get("bytes_cross_region", 0))
    return ds


def to_frame(ds):
    """A tidy DataFrame of a result Dataset (one row per cell, coordinates as columns)."""
    frame = ds.to_dataframe().reset_index()
    return frame


def _error(status, body):
    code = message = field = region = None
    try:
        err = json.loads(body)["error"]
        code, message, field, region = err.get("code"), err.get("message"), err.get("field"), err.get("region")
    except (ValueError, KeyError, TypeError):
        message = body.decode("utf-8", "replace")[:500] or f"HTTP {status}"
    text = f"{message} (HTTP {status}{', ' + code if code else ''}{', field ' + field if field else ''})"
    cls = {401: AuthenticationError, 503: UnavailableError, 504: DeadlineExceededError}.get(status)
    if cls is None:
        cls = QueryError if 400 <= status < 500 else ProximaError
    return cls(text, code=code, field=field, status=status, region=region)


def _num(v):
    return repr(float(v)) if not isinstance(v, int) else str(v)


def _has(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False
