"""City-scale benchmark of the pages, tiles and OGC API: the sample (1,327 households) and
synthetic cities (the street lattice of coverage_scale.py) of 100k and 1M households, each in a
throwaway database. For each: server time (median of REPEAT, the first request reported apart)
and size (identity and brotli) of the map pages, vector-tile p50/p99 over a zoom 12–18 sample,
and an OGC API items page of 1,000 features. In-process (Flask's test client): server time
without the network.

    make bench-city                                  # or: .venv/bin/python bench/city.py
    CITIES=100000 make bench-city                    # only the 100k city
"""
from __future__ import annotations

import math
import os
import resource
import statistics
import time

from common import admin_token, machine, sample_database  # also puts the project on sys.path

import numpy as np

import coverage_scale as cs

CITIES = [int(v) for v in os.environ.get("CITIES", "100000,1000000").split(",") if v]
REPEAT = int(os.environ.get("REPEAT", "5"))
TILES = int(os.environ.get("TILES", "200"))
COVERAGE_PAGE_UP_TO = 200_000      # households; beyond, /coverage is known to take minutes
STRIDE = 1                         # households per sample point (set per city below)


def tile_of(lon, lat, z):
    n = 2 ** z
    return (int((lon + 180) / 360 * n),
            int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))


def timed(client, path, headers=None):
    t = time.perf_counter()
    r = client.get(path, headers=headers or {})
    return (time.perf_counter() - t) * 1000, r


def page_figures(client, path, headers=None) -> str:
    first, r = timed(client, path, headers)
    assert r.status_code == 200, (path, r.status_code, r.data[:200])
    times = [timed(client, path, headers)[0] for _ in range(REPEAT)]
    packed = client.get(path, headers={**(headers or {}), "Accept-Encoding": "br"})
    return (f"{statistics.median(times):8.0f} ms (first {first:6.0f})  "
            f"{len(r.get_data()) / 1e6:7.2f} MB  br {len(packed.get_data()) / 1e6:6.3f} MB")


def measure(label: str, url: str, grid_code: str, points: np.ndarray) -> None:
    from webmap import create_app
    from tests.conftest import client_class
    token = admin_token(url)
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    app.test_client_class = client_class(token)
    admin = app.test_client()
    print(f"\n== {label}")
    for path in ("/", f"/grids/{grid_code}", "/coverage?kinds=party_service_center&minutes=15"):
        if path.startswith("/coverage") and len(points) * STRIDE > COVERAGE_PAGE_UP_TO:
            print(f"  {path[:40]:40s} not measured: the page still embeds every household")
            continue
        print(f"  {path[:40]:40s} {page_figures(admin, path)}")
    rng = np.random.default_rng(3)
    for layer in ("households", "roads", "incidents"):
        times, sizes = [], []
        for i in range(TILES):
            z = 12 + i % 7
            lon, lat = points[rng.integers(0, len(points))]
            x, y = tile_of(lon, lat, z)
            ms, r = timed(admin, f"/tiles/{layer}/{z}/{x}/{y}.mvt")
            assert r.status_code == 200
            times.append(ms)
            sizes.append(len(r.get_data()))
        print(f"  tiles {layer:12s} p50 {np.percentile(times, 50):6.1f} ms  p99 "
              f"{np.percentile(times, 99):6.1f} ms  max {max(sizes) / 1e3:7.1f} kB  "
              f"(z12–18, {TILES} tiles)")
    print(f"  {'OGC items, 1,000 households':40s} "
          f"{page_figures(admin, '/ogc/collections/households/items?limit=1000')}")
    app.extensions["geodata_engine"].dispose()


def main() -> None:
    print(f"machine: {machine()}")
    with sample_database() as url:
        from sqlalchemy import create_engine, text
        eng = create_engine(url)
        with eng.connect() as conn:
            pts = np.array(conn.execute(text(
                "SELECT ST_X(geom), ST_Y(geom) FROM households")).all())
        eng.dispose()
        measure("sample: 1,327 households", url, "511702005007003", pts)
    for n in CITIES:
        cs.HOUSEHOLDS, cs.SIDE = n, max(60, int(317 * math.sqrt(n / 1e6)))
        nodes, edges, households, facilities = cs.city(np.random.default_rng(cs.SEED))
        global STRIDE
        STRIDE = max(1, n // 5000)
        with sample_database(sample=False) as url:
            t = time.perf_counter()
            cs.load_city(url, nodes, edges, households, facilities)
            load_s = time.perf_counter() - t
            measure(f"synthetic city: {n:,} households, {len(edges):,} road segments "
                    f"(loaded in {load_s:.0f} s)", url, cs.FIRST_GRID,
                    cs.lonlat(households[::STRIDE]))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"\npeak memory of this process (app and benchmark): {peak:.2f} GB; "
          f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
