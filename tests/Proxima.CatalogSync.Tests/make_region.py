#!/usr/bin/python3
"""Test data for CatalogSync: Zarr v2 stores written by xarray/zarr-python, plus the expected catalog fields
computed here from the same coordinates (bbox = cell edges of regular grids, times decoded by xarray/cftime).
usage: make_region.py tree DATA_ROOT EXPECTED_JSON
       make_region.py many DATA_ROOT REGION COUNT SEED   (small stores for scale tests, expected written to DATA_ROOT/REGION.expected.json)"""
import json, os, sys, warnings
warnings.simplefilter('ignore')
import numpy as np
import xarray as xr
import pandas as pd

def edges(v):
    v = np.asarray(v, dtype='f8')
    step = abs(v[1] - v[0]) if len(v) > 1 else 0.0
    return float(v.min() - step / 2), float(v.max() + step / 2)

def lon_bbox(lon):
    w, e = edges(lon)
    if e - w >= 360:
        return (0.0, 360.0) if e > 180 else (-180.0, 180.0)
    return w, e

def expect(path, rel, ds_id, region):
    ds = xr.open_zarr(path, use_cftime=True)
    s, n = edges(ds['lat'].values)
    w, e = lon_bbox(ds['lon'].values)
    t = ds['time'].values
    out = {'id': ds_id, 'region': region, 'uri': rel,
           'bbox': [w, max(-90.0, s), e, min(90.0, n)],
           'start': t.min().isoformat(), 'end': t.max().isoformat(),
           'calendar': ds['time'].encoding.get('calendar', 'standard'),
           'variables': {k: {'dims': list(v.dims), 'shape': list(v.shape), 'dtype': str(v.dtype),
                             'units': v.attrs.get('units'), 'standard_name': v.attrs.get('standard_name')}
                         for k, v in ds.data_vars.items()}}
    return out

def make(path, lat, lon, times, calendar=None, attrs=None, consolidated=True, var='t2m', std='air_temperature', chunks=None, encoding_units=None):
    rng = np.random.default_rng(abs(hash(path)) % 2**32)
    data = rng.standard_normal((len(times), len(lat), len(lon))).astype('f4')
    ds = xr.Dataset({var: (('time', 'lat', 'lon'), data, {'units': 'K', 'standard_name': std, 'long_name': var + ' long'})},
                    coords={'time': times, 'lat': ('lat', lat, {'units': 'degrees_north', 'standard_name': 'latitude'}),
                            'lon': ('lon', lon, {'units': 'degrees_east', 'standard_name': 'longitude'})})
    ds.attrs.update(attrs or {})
    enc = {}
    if calendar or encoding_units:
        enc['time'] = {}
        if calendar:
            enc['time']['calendar'] = calendar
        if encoding_units:
            enc['time']['units'] = encoding_units
    if chunks:
        enc[var] = {'chunks': chunks}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ds.to_zarr(path, mode='w', consolidated=consolidated, encoding=enc)

def tree(root, expected_path):
    import cftime
    exp = []
    def add(region, rel, ds_id, **kw):
        p = os.path.join(root, region, rel)
        make(p, **kw)
        exp.append(expect(p, rel, ds_id, region))
    # ERA5-like: global 0..360, descending latitude, hourly, standard calendar, consolidated.
    add('us-east-1', 'reanalysis/era5/t2m.zarr', 'reanalysis/era5/t2m',
        lat=np.linspace(90, -90, 19), lon=np.arange(0, 360, 10.0), times=pd.date_range('2000-01-01', periods=48, freq='h'),
        attrs={'title': 'ERA5 2m temperature'}, chunks=(24, 19, 36))
    # Regional -180..180, not consolidated, daily.
    add('us-east-1', 'obs/europe/precip.zarr', 'obs/europe/precip',
        lat=np.arange(35, 71, 1.0), lon=np.arange(-10.5, 30, 1.0), times=pd.date_range('1990-01-01', periods=30, freq='D'),
        consolidated=False, var='tp', std='precipitation_amount', attrs={'title': 'European precipitation'})
    # Pacific box crossing the antimeridian in 0..360.
    add('us-east-1', 'ocean/pacific/sst.zarr', 'ocean/pacific/sst',
        lat=np.arange(-20, 21, 2.0), lon=np.arange(160, 201, 2.0), times=pd.date_range('2010-01-01', periods=12, freq='MS'),
        var='sst', std='sea_surface_temperature')
    # CMIP6-like: 360_day monthly, split across two regions by proxima_id with disjoint times.
    t1 = [cftime.Datetime360Day(2015 + i // 12, i % 12 + 1, 30) for i in range(24)]
    t2 = [cftime.Datetime360Day(2017 + i // 12, i % 12 + 1, 30) for i in range(24)]
    add('us-west-2', 'CMIP6/UKESM1/tas_a.zarr', 'cmip6/ukesm1/tas',
        lat=np.arange(-88.75, 90, 2.5), lon=np.arange(0, 360, 3.75), times=t1, calendar='360_day', var='tas',
        attrs={'proxima_id': 'cmip6/ukesm1/tas', 'proxima_part': '2015-2016', 'source_id': 'UKESM1-0-LL'})
    add('eu-west-1', 'CMIP6/UKESM1/tas_b.zarr', 'cmip6/ukesm1/tas',
        lat=np.arange(-88.75, 90, 2.5), lon=np.arange(0, 360, 3.75), times=t2, calendar='360_day', var='tas',
        attrs={'proxima_id': 'cmip6/ukesm1/tas', 'proxima_part': '2017-2018', 'source_id': 'UKESM1-0-LL'})
    # noleap daily.
    tn = [cftime.DatetimeNoLeap(2001, 2, 27) + pd.Timedelta(days=i).to_pytimedelta() for i in range(5)]
    add('us-west-2', 'CMIP6/noleap/pr.zarr', 'CMIP6/noleap/pr',
        lat=np.arange(-60, 61, 30.0), lon=np.arange(-180, 180, 45.0), times=tn, calendar='noleap', var='pr', std='precipitation_flux')
    # An unreadable store: broken .zarray JSON.
    bad = os.path.join(root, 'us-west-2', 'broken', 'bad.zarr')
    make(bad, lat=np.arange(0, 10, 1.0), lon=np.arange(0, 10, 1.0), times=pd.date_range('2000-01-01', periods=2, freq='D'), consolidated=False)
    with open(os.path.join(bad, 't2m', '.zarray'), 'w') as f:
        f.write('{ this is not json')
    with open(expected_path, 'w') as f:
        json.dump(exp, f, indent=1)

def many(root, region, count, seed, start=0):
    """Small stores written with zarr-python directly (fast): random regional boxes, some 0..360, some crossing."""
    import zarr
    rng = np.random.default_rng(seed)
    exp = []
    for i in range(start, start + count):
        rel = f'set{i % 50:02d}/ds{i:05d}.zarr'
        p = os.path.join(root, region, rel)
        step = float(rng.choice([0.25, 0.5, 1.0, 2.0]))
        nlat, nlon = int(rng.integers(2, 8)), int(rng.integers(2, 8))
        lat0 = float(rng.uniform(-85, 85 - step * nlat))
        if rng.random() < 0.3:
            lon0 = float(rng.uniform(0, 360 - step * nlon))      # 0..360 convention
        else:
            lon0 = float(rng.uniform(-180, 180 - step * nlon))
        if rng.random() < 0.1:
            lon0 = 180 - step * (nlon // 2) + 0.5 * step      # crosses 180 in 0..360
        lat = lat0 + step * np.arange(nlat)
        lon = lon0 + step * np.arange(nlon)
        nt = int(rng.integers(1, 6))
        y = int(rng.integers(1950, 2050))
        hours = np.arange(nt, dtype='i8') * 24
        g = zarr.open_group(p, mode='w')
        a = g.create_dataset('time', data=hours + int(rng.integers(0, 300)) * 24, chunks=(nt,), fill_value=None)
        a.attrs.update({'_ARRAY_DIMENSIONS': ['time'], 'units': f'hours since {y}-01-01', 'calendar': 'standard', 'standard_name': 'time'})
        a = g.create_dataset('lat', data=lat, chunks=(nlat,), fill_value=None)
        a.attrs.update({'_ARRAY_DIMENSIONS': ['lat'], 'units': 'degrees_north', 'standard_name': 'latitude'})
        a = g.create_dataset('lon', data=lon, chunks=(nlon,), fill_value=None)
        a.attrs.update({'_ARRAY_DIMENSIONS': ['lon'], 'units': 'degrees_east', 'standard_name': 'longitude'})
        a = g.create_dataset('v', shape=(nt, nlat, nlon), dtype='f4', chunks=(nt, nlat, nlon), fill_value=np.nan)
        a.attrs.update({'_ARRAY_DIMENSIONS': ['time', 'lat', 'lon'], 'units': 'K', 'standard_name': 'air_temperature'})
        zarr.consolidate_metadata(p)
        t = np.datetime64(f'{y}-01-01') + (g['time'][:]).astype('timedelta64[h]')
        s, n = edges(lat)
        w, e = lon_bbox(lon)
        exp.append({'id': rel[:-5], 'region': region, 'uri': rel, 'bbox': [w, max(-90.0, s), e, min(90.0, n)],
                    'start': str(t.min().astype('datetime64[s]')), 'end': str(t.max().astype('datetime64[s]')), 'calendar': 'standard'})
    with open(os.path.join(root, f'{region}.{start}.expected.json'), 'w') as f:
        json.dump(exp, f)

def formats(root, expected_path):
    """One dataset per non-v2 format: Zarr v3 (hand-written per the v3 spec), a NetCDF collection (xarray to_netcdf,
    one file per year), a kerchunk v1 reference set (inline/base64 refs of a zarr-python store)."""
    import base64, shutil
    exp = []
    region = os.path.join(root, 'ap-south-1')
    # Zarr v3 store.
    v3 = os.path.join(region, 'v3', 'tas.zarr')
    lat = np.arange(-45.0, 46.0, 15.0)
    lon = np.arange(100.0, 161.0, 10.0)
    hours = np.arange(6, dtype='<f8') * 6.0
    def arr(name, data, dims, attrs):
        d = os.path.join(v3, name)
        os.makedirs(os.path.join(d, 'c'), exist_ok=True)
        meta = {'zarr_format': 3, 'node_type': 'array', 'shape': list(data.shape), 'data_type': 'float64' if data.dtype == np.float64 else 'float32',
                'chunk_grid': {'name': 'regular', 'configuration': {'chunk_shape': list(data.shape)}},
                'chunk_key_encoding': {'name': 'default', 'configuration': {'separator': '/'}},
                'fill_value': 'NaN', 'codecs': [{'name': 'bytes', 'configuration': {'endian': 'little'}}],
                'attributes': attrs, 'dimension_names': dims}
        with open(os.path.join(d, 'zarr.json'), 'w') as f:
            json.dump(meta, f)
        path = os.path.join(d, 'c', *(['0'] * data.ndim))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(np.ascontiguousarray(data).astype(data.dtype.newbyteorder('<')).tobytes())
    os.makedirs(v3, exist_ok=True)
    with open(os.path.join(v3, 'zarr.json'), 'w') as f:
        json.dump({'zarr_format': 3, 'node_type': 'group', 'attributes': {'title': 'v3 store'}}, f)
    arr('time', hours, ['time'], {'units': 'hours since 2020-03-01 00:00:00', 'calendar': 'proleptic_gregorian', 'standard_name': 'time'})
    arr('lat', lat, ['lat'], {'units': 'degrees_north', 'standard_name': 'latitude'})
    arr('lon', lon, ['lon'], {'units': 'degrees_east', 'standard_name': 'longitude'})
    arr('tas', np.zeros((6, len(lat), len(lon)), dtype='<f4'), ['time', 'lat', 'lon'], {'units': 'K', 'standard_name': 'air_temperature'})
    t = np.datetime64('2020-03-01T00:00:00') + hours.astype('timedelta64[h]')
    exp.append({'id': 'v3/tas', 'region': 'ap-south-1', 'uri': 'v3/tas.zarr', 'format': 'zarr-v3',
                'bbox': [95.0, -52.5, 165.0, 52.5], 'start': str(t[0]), 'end': str(t[-1]), 'calendar': 'proleptic_gregorian', 'variables': None})
    # NetCDF collection: three yearly files, noleap daily.
    import cftime
    coll = os.path.join(region, 'obs', 'sst_daily')
    os.makedirs(coll, exist_ok=True)
    parts = []
    for y in (2001, 2002, 2003):
        times = [cftime.DatetimeNoLeap(y, 1, 1) + pd.Timedelta(days=i).to_pytimedelta() for i in range(365)]
        ds = xr.Dataset({'sst': (('time', 'lat', 'lon'), np.zeros((365, 3, 4), 'f4'), {'units': 'K', 'standard_name': 'sea_surface_temperature'})},
                        coords={'time': times, 'lat': ('lat', [-10.0, 0.0, 10.0], {'units': 'degrees_north'}), 'lon': ('lon', [350.0, 355.0, 0.0, 5.0], {'units': 'degrees_east'})})
        p = os.path.join(coll, f'sst_{y}.nc')
        ds.to_netcdf(p, encoding={'time': {'units': f'days since {y}-01-01', 'calendar': 'noleap'}})
        parts.append(p)
    m = xr.open_mfdataset(parts, use_cftime=True, combine='by_coords')
    exp.append({'id': 'obs/sst_daily', 'region': 'ap-south-1', 'uri': 'obs/sst_daily', 'format': 'netcdf-collection',
                'bbox': [347.5, -15.0, 7.5, 15.0], 'start': m['time'].values.min().isoformat(), 'end': m['time'].values.max().isoformat(), 'calendar': 'noleap', 'variables': None})
    # Kerchunk v1 references to a zarr-python store (metadata inline as text, chunks inline as base64).
    tmp = os.path.join(root, '_kerchunk_src.zarr')
    make(tmp, lat=np.arange(60.0, 70.0, 2.0), lon=np.arange(-30.0, -10.0, 2.0), times=pd.date_range('1979-01-01', periods=4, freq='6h'), consolidated=False, var='msl', std='air_pressure_at_mean_sea_level')
    refs = {}
    for dirpath, _, files in os.walk(tmp):
        for fn in files:
            full = os.path.join(dirpath, fn)
            key = os.path.relpath(full, tmp).replace(os.sep, '/')
            data = open(full, 'rb').read()
            refs[key] = data.decode() if fn.startswith('.') else 'base64:' + base64.b64encode(data).decode()
    os.makedirs(os.path.join(region, 'era'), exist_ok=True)
    with open(os.path.join(region, 'era', 'msl.kerchunk.json'), 'w') as f:
        json.dump({'version': 1, 'refs': refs}, f)
    e = expect(tmp, 'era/msl.kerchunk.json', 'era/msl', 'ap-south-1')
    e['format'] = 'kerchunk'
    exp.append(e)
    shutil.rmtree(tmp)
    with open(expected_path, 'w') as f:
        json.dump(exp, f, indent=1)

if __name__ == '__main__':
    if sys.argv[1] == 'tree':
        tree(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == 'formats':
        formats(sys.argv[2], sys.argv[3])
    else:
        many(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]) if len(sys.argv) > 6 else 0)
