"""Benchmark: server time and size of the community map page ``/``.

Runs against a throwaway database on the PostGIS server that DATABASE_URL names (``make bench``
starts the local one), loaded with the illustrative sample, then with synthetic households added
to show how the page scales. Prints medians over repeated requests through the WSGI app (no
network), next to baselines measured in the same run: the JSON summary and an empty folium map.

    make bench                      # or: DATABASE_URL=... .venv/bin/python bench/map_page.py
    REPEAT=30 make bench
"""
from __future__ import annotations

import gzip
import os
import statistics
import time

from common import admin_token, machine, sample_database  # also puts the project on sys.path

import folium
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from webmap import create_app

REPEAT = int(os.environ.get("REPEAT", "15"))
GOAL_MS, GOAL_MB = 300, 1.5


def timed(fn, repeat=REPEAT):
    fn()  # warm-up: first-use imports, connection pool, template compile
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), max(samples), out


def add_synthetic_households(url: str, total: int) -> None:
    """Copy existing households with a few metres of jitter until there are ``total``."""
    eng = create_engine(url, poolclass=NullPool)
    with eng.begin() as conn:
        have = conn.execute(text("SELECT count(*) FROM households")).scalar_one()
        originals = conn.execute(text(
            "SELECT count(*) FROM households WHERE code NOT LIKE 'SYN%'")).scalar_one()
        conn.execute(text("""
            INSERT INTO households (code, building_id, unit_room, residents, minors,
                                    elderly_alone, party_member, low_income, geom)
            SELECT 'SYN' || (g + :have), h.building_id, 'syn', h.residents, 0, false, false, false,
                   ST_Translate(h.geom, (random() - 0.5) * 0.0002, (random() - 0.5) * 0.0002)
            FROM generate_series(1, :n) g
            JOIN LATERAL (SELECT * FROM households WHERE code NOT LIKE 'SYN%'
                          ORDER BY id OFFSET (g % :originals) LIMIT 1) h ON true
        """), {"n": max(total - have, 0), "have": have, "originals": originals})
    eng.dispose()


def main() -> None:
    with sample_database() as url:
        auth = {"Authorization": f"Bearer {admin_token(url)}"}
        eng = create_engine(url, poolclass=NullPool)
        with eng.connect() as conn:
            postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
        eng.dispose()

        print(f"machine: {machine()}")
        print(f"PostGIS {postgis}; {REPEAT} requests per figure, median and max, in ms\n")
        empty_ms, _, _ = timed(lambda: folium.Map(tiles=None).get_root().render())
        print(f"{'baseline: empty folium map render':46s} {empty_ms:8.1f}")

        for households in (None, 2500, 5000):
            if households:
                add_synthetic_households(url, households)
            app = create_app({"DATABASE_URL": url})
            client = app.test_client()
            api_ms, _, _ = timed(lambda: client.get("/api/summary", headers=auth))
            page_ms, page_max, resp = timed(lambda: client.get("/", headers=auth))
            body = resp.get_data()
            assert resp.status_code == 200
            label = "sample" if households is None else f"{households} households"
            size = len(body) / 2**20
            zipped = len(gzip.compress(body, 6)) / 2**20
            print(f"{'baseline: GET /api/summary (' + label + ')':46s} {api_ms:8.1f}")
            print(f"{'GET / (' + label + ')':46s} {page_ms:8.1f}   max {page_max:6.1f}   "
                  f"{size:5.2f} MB ({zipped:4.2f} MB gzipped)   "
                  f"{page_ms / empty_ms:5.1f}x empty map")
            if households is None:
                verdict = "meets" if page_ms < GOAL_MS and size < GOAL_MB else "MISSES"
                print(f"  -> sample page {verdict} the goal (< {GOAL_MS} ms, < {GOAL_MB} MB)")
            app.extensions["geodata_engine"].dispose()


if __name__ == "__main__":
    main()
