"""Coverage results shared by every process: each household's state for a parameter set, stored
in PostgreSQL per data version, so that map tiles (``geodata.tiles.coverage_tile``) are cut by
PostGIS from one stored copy whichever worker serves them.

A run is stored the first time something asks for its states (a tile), under an advisory lock:
one process computes and writes it, the others wait and then read it. Runs of an older data
version, and all but the latest ``RUNS_KEPT``, are deleted as new ones are stored. The tables are
``UNLOGGED``: they are derived, and rebuilt on demand after a crash.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np
from sqlalchemy import Connection, text

from . import coverage as cv

RUNS_KEPT = 16
UNCOVERED, OFF_NETWORK = -1, -2      # the state column: else the index of the smallest budget


def run_key(kinds, budgets: cv.Budgets, cap: float) -> str:
    return hashlib.sha256(json.dumps([sorted(kinds), budgets.metres, cap]).encode()
                          ).hexdigest()[:32]


def _version(data: cv.CoverageData) -> str:
    return json.dumps([list(v) for v in data.version])


def state_codes(res: cv.Result) -> np.ndarray:
    """Per household: the index of the smallest budget covering it, UNCOVERED or OFF_NETWORK."""
    state = np.full(len(res.distance), UNCOVERED, dtype=np.int16)
    for i in range(len(res.budgets.metres) - 1, -1, -1):
        state[res.distance <= res.budgets.metres[i]] = i
    state[res.off_network] = OFF_NETWORK
    return state


def _find(conn: Connection, key: str, version: str) -> int | None:
    return conn.execute(text("SELECT id FROM coverage_runs WHERE key = :k AND version = :v"),
                        {"k": key, "v": version}).scalar_one_or_none()


def stored_run(conn: Connection, data: cv.CoverageData, kinds, budgets: cv.Budgets,
               cap: float = cv.ACCESS_CAP_M) -> int:
    """The id of the stored run for these parameters and this data version; computed (from this
    process's cache when it has it) and written when no process has done it yet."""
    key, version = run_key(kinds, budgets, cap), _version(data)
    found = _find(conn, key, version)
    if found is not None:
        return found
    with conn.engine.begin() as w:
        w.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"coverage:{key}"})
        found = _find(w, key, version)
        if found is not None:
            return found
        res = cv.cached_distances(data, kinds, budgets, cap)
        run = w.execute(text("""
            INSERT INTO coverage_runs (key, version, labels, budgets_m)
            VALUES (:k, :v, :labels, :budgets) RETURNING id"""),
            {"k": key, "v": version, "labels": list(budgets.labels),
             "budgets": list(budgets.metres)}).scalar_one()
        _copy_states(w, run, data.households.ids, state_codes(res), res.distance)
        # fresh statistics, or the planner scans the whole run for every tile
        w.execute(text("ANALYZE coverage_states"))
        # older data versions are of no use; of the rest keep the latest few
        w.execute(text("""
            DELETE FROM coverage_runs WHERE version <> :v OR id NOT IN (
                SELECT id FROM coverage_runs ORDER BY id DESC LIMIT :keep)"""),
            {"v": version, "keep": RUNS_KEPT})
    return run


# PostgreSQL's binary COPY: a fixed header, then per row the field count and each field's
# length and big-endian value; -1 ends the stream
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
ROW = np.dtype([("fields", ">i2"), ("l1", ">i4"), ("run", ">i4"), ("l2", ">i4"), ("id", ">i4"),
                ("l3", ">i4"), ("state", ">i2"), ("l4", ">i4"), ("distance", ">f8")])


def _copy_states(conn: Connection, run: int, ids: np.ndarray, states: np.ndarray,
                 distance: np.ndarray) -> None:
    """COPY the run's rows in one binary stream built by numpy (no per-row Python work).
    Distances beyond the largest budget are stored as Infinity, off the network as NaN."""
    rows = np.empty(len(ids), ROW)
    rows["fields"], rows["l1"], rows["l2"], rows["l3"], rows["l4"] = 4, 4, 4, 2, 8
    rows["run"], rows["id"], rows["state"], rows["distance"] = run, ids, states, distance
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy("COPY coverage_states (run_id, household_id, state, distance_m) "
                     "FROM STDIN (FORMAT binary)") as copy:
        copy.write(COPY_HEADER + rows.tobytes() + (-1).to_bytes(2, "big", signed=True))


def run_labels(conn: Connection, run: int) -> list[str]:
    return conn.execute(text("SELECT labels FROM coverage_runs WHERE id = :r"),
                        {"r": run}).scalar_one()


__all__ = ["stored_run", "state_codes", "run_key", "run_labels", "UNCOVERED", "OFF_NETWORK"]
