"""Benchmark: incident placements per second and their latency.

The app runs under gunicorn (as in production) against the local PostGIS, with a throwaway copy
of the sample data. Concurrent clients POST /api/incidents with random points inside the
community. In the same run, the same core call (`geodata.incidents.place`: the placement
statement, which also finds nearby duplicates, and its audit entry; one transaction each) is made
directly at the same concurrency: the baseline the ratio is taken against.

    make bench-placements                       # or: DATABASE_URL=... .venv/bin/python bench/placements.py
    CLIENTS=16 SECONDS=15 WORKERS=4 THREADS=2 make bench-placements
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from common import admin_token, machine, sample_database  # also puts the project on sys.path

import numpy as np
import shapely
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from geodata import incidents
from geodata.accounts import Account

BENCH = Account(0, "bench", "admin")

CLIENTS = int(os.environ.get("CLIENTS", "8"))
SECONDS = float(os.environ.get("SECONDS", "10"))
WORKERS = int(os.environ.get("WORKERS", str((os.cpu_count() or 1) + 1)))
THREADS = int(os.environ.get("THREADS", "4"))
CATEGORIES = ["sanitation", "sewer_blocked", "parking_disorder", "road_damage", "street_light",
              "housing_leak", "dispute", "public_order", "uncivil_snapshot", "other"]
ROOT = Path(__file__).resolve().parent.parent


def points_inside(url: str, n: int, seed: int = 7) -> np.ndarray:
    eng = create_engine(url, poolclass=NullPool)
    with eng.connect() as conn:
        wkb = conn.execute(text("SELECT ST_AsBinary(ST_Union(geom)) FROM grids")).scalar()
    eng.dispose()
    area = shapely.from_wkb(bytes(wkb))
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = area.bounds
    pts = np.column_stack([rng.uniform(minx, maxx, n * 2), rng.uniform(miny, maxy, n * 2)])
    inside = shapely.contains_xy(area.buffer(-0.0001), pts[:, 0], pts[:, 1])
    return pts[inside][:n]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_clients(job, duration: float) -> tuple[list[float], int]:
    """Run ``job(worker_index, i)`` from CLIENTS threads for ``duration`` seconds; returns the
    latencies (ms) of successful calls and the number of failures."""
    latencies, failures, lock = [], [0], threading.Lock()
    stop_at = time.perf_counter() + duration

    def loop(k: int):
        mine, bad, i = [], 0, 0
        while time.perf_counter() < stop_at:
            t = time.perf_counter()
            ok = job(k, i)
            if ok:
                mine.append((time.perf_counter() - t) * 1000)
            else:
                bad += 1
            i += 1
        with lock:
            latencies.extend(mine)
            failures[0] += bad

    threads = [threading.Thread(target=loop, args=(k,)) for k in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, failures[0]


def report(label: str, latencies: list[float], failures: int, duration: float) -> float:
    rate = len(latencies) / duration
    p50 = statistics.median(latencies)
    p99 = float(np.percentile(latencies, 99))
    print(f"{label:34s} {rate:8.0f}/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   "
          f"n={len(latencies)}  failed={failures}")
    return rate, p99


def direct_sql(url: str, pts: np.ndarray) -> tuple[list[float], int]:
    """The placement statement (it also lists nearby duplicates), one transaction each."""
    engines = [create_engine(url, poolclass=NullPool) for _ in range(CLIENTS)]
    conns = [e.connect() for e in engines]

    def job(k, i):
        x, y = pts[(k * 100003 + i) % len(pts)]
        cat = CATEGORIES[i % len(CATEGORIES)]
        conn = conns[k]
        with conn.begin():
            # the same core call the view makes: placement statement and audit entry
            placed = incidents.place(conn, incidents.NewIncident(
                lon=float(x), lat=float(y), category=cat, description="基准测试",
                source="bench"), BENCH)
        return placed is not None

    try:
        return run_clients(job, SECONDS)
    finally:
        for c in conns:
            c.close()
        for e in engines:
            e.dispose()


def through_http(port: int, pts: np.ndarray, token: str) -> tuple[list[float], int]:
    local = threading.local()

    def job(k, i):
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        x, y = pts[(k * 100003 + i) % len(pts)]
        body = json.dumps({"lon": float(x), "lat": float(y),
                           "category": CATEGORIES[i % len(CATEGORIES)],
                           "description": "基准测试"})
        try:
            local.conn.request("POST", "/api/incidents", body,
                               {"Content-Type": "application/json",
                                "Authorization": f"Bearer {token}"})
            response = local.conn.getresponse()
            response.read()
            return response.status == 201
        except (OSError, http.client.HTTPException):
            local.conn.close()
            del local.conn
            return False

    return run_clients(job, SECONDS)


def main() -> None:
    print(f"machine: {machine()}")
    print(f"{CLIENTS} concurrent clients, {SECONDS:.0f} s per run; gunicorn {WORKERS} workers "
          f"× {THREADS} threads\n")
    with sample_database() as url:
        pts = points_inside(url, 20000)
        token = admin_token(url)
        port = free_port()
        env = os.environ | {"DATABASE_URL": url}
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--threads",
             str(THREADS), "--worker-class", "gthread", "--bind", f"127.0.0.1:{port}",
             "--log-level", "warning", "app:app"], cwd=ROOT, env=env)
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            through_http(port, pts[:50], token)  # warm the workers and their pools
            base_rate, _ = report("core call, no HTTP (baseline)", *direct_sql(url, pts),
                                  SECONDS)
            rate, p99 = report("POST /api/incidents via gunicorn",
                               *through_http(port, pts, token), SECONDS)
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"\nratio app / core call: {rate / base_rate:.2f}")
    ok = rate >= 300 and p99 < 100 and rate >= base_rate / 3
    print(f"goal (≥ 300/s, p99 < 100 ms, ≥ 1/3 of the core call): {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
