"""Benchmark: the grid worker's and grid head's pages and APIs on the sample (issues 9 and 11).

A throwaway database with the illustrative sample (its rounds included) on DATABASE_URL's
server; a grid head of the third grid; each URL asked REPEAT times through the WSGI app (no
network). Prints the first (cold) request beside the warm median, the size raw and brotli, the
machine and its load.

    make bench-field                # or: DATABASE_URL=... .venv/bin/python bench/field_pages.py
"""
from __future__ import annotations

import os
import statistics
import time

from common import machine, sample_database  # also puts the project on sys.path

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from webmap import create_app

REPEAT = int(os.environ.get("REPEAT", "8"))
URLS = ["/field", "/tasks", "/api/tasks?limit=50", "/api/party", "/party",
        "/api/visits/due?limit=50", "/api/patrols/weekly", "/api/cameras",
        "/rounds?grid=511702005007003", "/api/workload", "/print?grid=511702005007003"]


def main() -> None:
    print(machine())
    with sample_database() as url:
        from geodata import accounts
        eng = create_engine(url, poolclass=NullPool)
        with eng.begin() as conn:
            accounts.create_user(conn, "bench-head", "grid_head", "bench-password-0",
                                 ("511702005007003",), actor="bench")
            token = accounts.issue_token(conn, "bench-head", actor="bench")
        eng.dispose()
        app = create_app({"DATABASE_URL": url})
        client = app.test_client()
        auth = {"Authorization": f"Bearer {token}"}
        print(f"{'URL':34} {'first':>8} {'warm':>8} {'raw kB':>8} {'br kB':>7}")
        for path in URLS:
            times = []
            for _ in range(REPEAT):
                t = time.perf_counter()
                r = client.get(path, headers=auth | {"Accept-Encoding": "br"})
                times.append(time.perf_counter() - t)
                assert r.status_code == 200, (path, r.status_code)
            raw = client.get(path, headers=auth).get_data()
            print(f"{path:34} {times[0] * 1000:7.0f}ms {statistics.median(times[1:]) * 1000:7.0f}ms"
                  f" {len(raw) / 1024:8.0f} {len(r.get_data()) / 1024:7.0f}")
        print(f"load average: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
