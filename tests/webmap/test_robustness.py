"""Faults: the database restarting under a stream of placements loses nothing it accepted."""
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import make_url, text
from werkzeug.serving import make_server

from geodata.db import database_url

ROOT = Path(__file__).resolve().parents[2]


def local_cluster_url():
    out = subprocess.run([str(ROOT / "scripts" / "localpg"), "url"], capture_output=True,
                         text=True)
    return make_url(out.stdout.strip()) if out.returncode == 0 else None


def test_placements_survive_a_database_restart(write_app):
    local, ours = local_cluster_url(), make_url(database_url())
    if local is None or (local.host, local.port) != (ours.host, ours.port):
        pytest.skip("restarts only the project-managed PostgreSQL (make test uses it)")
    server = make_server("127.0.0.1", 0, write_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/api/incidents"
    accepted, refused, other = [], [], []
    stop = threading.Event()

    def stream():
        session = requests.Session()
        i = 0
        while not stop.is_set():
            body = {"lon": 107.4955 + (i % 50) * 1e-5, "lat": 31.2455, "category": "other",
                    "description": f"重启测试 {i}", "actor": "robot"}
            try:
                r = session.post(url, json=body, timeout=15)
            except requests.RequestException as exc:
                other.append(repr(exc))
            else:
                if r.status_code == 201:
                    accepted.append(r.json()["id"])
                elif r.status_code == 503 and "unavailable" in r.json()["error"]:
                    refused.append(i)
                else:
                    other.append((r.status_code, r.text[:200]))
            i += 1

    worker = threading.Thread(target=stream)
    worker.start()
    try:
        time.sleep(1.5)
        before_restart = len(accepted)
        subprocess.run([str(ROOT / "scripts" / "localpg"), "restart"], check=True,
                       capture_output=True)
        time.sleep(2.5)
    finally:
        stop.set()
        worker.join(timeout=30)
        server.shutdown()
    after_restart = len(accepted) - before_restart
    from webmap import engine
    with engine(write_app).connect() as conn:
        stored = set(conn.execute(text(
            "SELECT id FROM incidents WHERE reported_by = 'robot'")).scalars())
    print(f"\n[restart] accepted {len(accepted)} placements ({after_restart} after the restart "
          f"began), refused cleanly {len(refused)}, lost {len(set(accepted) - stored)}")
    assert before_restart > 0 and after_restart > 0   # worked before, and again after
    assert other == []                                 # every failure was a clean 503
    assert set(accepted) == stored                     # nothing accepted was lost, nothing extra
