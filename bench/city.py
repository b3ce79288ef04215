"""City-scale benchmark of the pages, tiles and OGC API: the sample (1,327 households) and
synthetic cities (the street lattice of coverage_scale.py) of 100k and 1M households, each in a
throwaway database. For each: server time (median of REPEAT, the first request reported apart)
and size (identity and brotli) of the map pages, vector-tile p50/p99 over a zoom 12–18 sample
(the first tile of each layer, which builds what the layer derives, reported apart), an OGC API
items page of 1,000 features and a /api/layers page of as many (each also at 90 % of the
collection, by cursor or key and by offset, with its ratio to the first page), and the peak memory of 3 gunicorn workers together once each has
served every page and the coverage. In-process (Flask's test client): server time without the
network. The synthetic cities are 4 subdistricts × 4 communities × 16 grids.

    make bench-city                                  # or: .venv/bin/python bench/city.py
    CITIES=100000 make bench-city                    # only the 100k city
"""
from __future__ import annotations

import math
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import admin_token, machine, sample_database  # also puts the project on sys.path

import numpy as np

import coverage_scale as cs

CITIES = [int(v) for v in os.environ.get("CITIES", "100000,1000000").split(",") if v]
REPEAT = int(os.environ.get("REPEAT", "5"))
TILES = int(os.environ.get("TILES", "200"))
WORKERS = 3                        # gunicorn workers whose memory is measured together
ROOT = Path(__file__).resolve().parent.parent
COVERAGE_QUERY = "kinds=party_service_center&minutes=5,10,15"
STRIDE = 1                         # households per sample point (set per city below)


def tile_of(lon, lat, z):
    n = 2 ** z
    return (int((lon + 180) / 360 * n),
            int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))


def timed(client, path, headers=None):
    t = time.perf_counter()
    r = client.get(path, headers=headers or {})
    return (time.perf_counter() - t) * 1000, r


def page_times(client, path, headers=None):
    """(median of REPEAT, the first request, the answer)."""
    first, r = timed(client, path, headers)
    assert r.status_code == 200, (path, r.status_code, r.data[:200])
    times = [timed(client, path, headers)[0] for _ in range(REPEAT)]
    return statistics.median(times), first, r


def page_figures(client, path, headers=None) -> str:
    median, first, r = page_times(client, path, headers)
    packed = client.get(path, headers={**(headers or {}), "Accept-Encoding": "br"})
    return (f"{median:8.0f} ms (first {first:6.0f})  "
            f"{len(r.get_data()) / 1e6:7.2f} MB  br {len(packed.get_data()) / 1e6:6.3f} MB")


def deep_pages(client, url: str) -> None:
    """An OGC items page (and a /api/layers page) of 1,000 households at the start, and at 90 %
    of the collection:
    reached by offset, and by the cursor that the next links carry (the key of the row
    before it, as the server would have written it)."""
    from sqlalchemy import create_engine, text
    from geodata.cql import encode_cursor
    eng = create_engine(url)
    with eng.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM households")).scalar_one()
        at = int(n * 0.9) // 1000 * 1000
        before = conn.execute(text("SELECT code FROM households ORDER BY code OFFSET :o "
                                   "LIMIT 1"), {"o": at - 1}).scalar_one()
    eng.dispose()
    base = "/ogc/collections/households/items?limit=1000"
    first, first_cold, r = page_times(client, base)
    by_offset, offset_cold, _ = page_times(client, f"{base}&offset={at}")
    by_cursor, cursor_cold, r2 = page_times(client, f"{base}&cursor={encode_cursor([before])}")
    assert r2.get_json()["features"][0]["id"] > before
    print(f"  OGC items, 1,000 of {n:,} households: first page {first:6.0f} ms (first request "
          f"{first_cold:.0f}); at {at:,} by cursor {by_cursor:6.0f} ms ({by_cursor / first:.2f}× "
          f"the first page; first request {cursor_cold:.0f}); by offset {by_offset:6.0f} ms "
          f"({by_offset / first:.2f}×)")
    # the JSON API's layers: the same page by the key its next links carry, and by offset
    base = "/api/layers/households?limit=1000"
    first, first_cold, _ = page_times(client, base)
    by_offset, _, _ = page_times(client, f"{base}&offset={at}")
    by_key, key_cold, r3 = page_times(client, f"{base}&after={before}")
    assert r3.get_json()["features"][0]["properties"]["code"] > before
    print(f"  /api/layers, 1,000 households: first page {first:6.0f} ms (first request "
          f"{first_cold:.0f}); at {at:,} by key {by_key:6.0f} ms ({by_key / first:.2f}×; first "
          f"request {key_cold:.0f}); by offset {by_offset:6.0f} ms ({by_offset / first:.2f}×)")


def measure(label: str, url: str, grid_code: str, points: np.ndarray) -> None:
    from webmap import create_app
    from tests.conftest import client_class
    token = admin_token(url)
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    app.test_client_class = client_class(token)
    admin = app.test_client()
    print(f"\n== {label}")
    for path in ("/", f"/grids/{grid_code}", f"/coverage?{COVERAGE_QUERY}",
                 f"/api/areas/{grid_code[:9]}"):
        print(f"  {path[:40]:40s} {page_figures(admin, path)}")
    rng = np.random.default_rng(3)
    for layer in ("households", "roads", "buildings", "incidents", "coverage"):
        times, sizes, first = [], [], None
        for i in range(TILES + 1):
            z = 12 + i % 7
            lon, lat = points[rng.integers(0, len(points))]
            x, y = tile_of(lon, lat, z)
            query = f"?{COVERAGE_QUERY}" if layer == "coverage" else ""
            ms, r = timed(admin, f"/tiles/{layer}/{z}/{x}/{y}.mvt{query}")
            assert r.status_code == 200
            sizes.append(len(r.get_data()))
            if first is None:   # builds what the layer derives (cells, the stored run)
                first = ms
            else:
                times.append(ms)
        print(f"  tiles {layer:12s} p50 {np.percentile(times, 50):6.1f} ms  p99 "
              f"{np.percentile(times, 99):6.1f} ms  max {max(sizes) / 1e3:7.1f} kB  "
              f"first {first:6.0f} ms  (z12–18, {TILES} tiles)")
    print(f"  {'OGC items, 1,000 households':40s} "
          f"{page_figures(admin, '/ogc/collections/households/items?limit=1000')}")
    deep_pages(admin, url)
    app.extensions["geodata_engine"].dispose()
    print(f"  {WORKERS} gunicorn workers, each having served every page, tile layer and the "
          f"coverage: peak memory together {workers_memory(url, token, grid_code, points):.2f} GB")


def workers_memory(url: str, token: str, grid_code: str, points) -> float:
    """Serve the pages, tiles and coverage from WORKERS gunicorn workers (requests in parallel,
    so that every worker answers some of each, coverage included) and add up the workers'
    peak resident memory (VmHWM)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--timeout", "300",
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "app:app"],
        cwd=ROOT, env=os.environ | {"DATABASE_URL": url})
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        lon, lat = points[len(points) // 2]
        paths = ["/", f"/grids/{grid_code}", f"/coverage?{COVERAGE_QUERY}"] + [
            f"/tiles/{layer}/{z}/{x}/{y}.mvt" + (f"?{COVERAGE_QUERY}" if layer == "coverage"
                                                  else "")
            for layer in ("households", "roads", "coverage") for z in (12, 14, 16)
            for x, y in [tile_of(lon, lat, z)]]

        def get(path):
            req = urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                         headers={"Authorization": f"Bearer {token}"})
            with urllib.request.urlopen(req, timeout=300) as r:
                return r.status
        with ThreadPoolExecutor(WORKERS * 2) as pool:
            assert set(pool.map(get, paths * WORKERS * 2)) == {200}
        children = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True,
                                  text=True).stdout.split()
        peak_kb = 0
        for pid in children:
            status = Path(f"/proc/{pid}/status").read_text()
            peak_kb += int(next(line.split()[1] for line in status.splitlines()
                                if line.startswith("VmHWM")))
        return peak_kb / 2**20
    finally:
        server.terminate()
        server.wait(timeout=60)


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
