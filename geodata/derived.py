"""Tables derived from the data, rebuilt when the data they come from has changed.

Some answers cost a pass over every household (the figures per grid, the household counts that
low-zoom tiles draw). At a million households that is a second or more, too slow to do per
request and pointless to repeat: it changes only when households, roads or grids do. Each
derived table records the data versions (``data_versions``) it was built from; a reader calls
``ensure`` first, which rebuilds it when those versions moved. The tables live in PostgreSQL, so
every worker process and machine shares one copy, and an advisory lock makes sure that only one
of them rebuilds it while the others wait and then read the result.

The rebuild commits in its own transaction: a caller that changed data in an open transaction
sees the figures of what was committed.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass

from sqlalchemy import Connection, text

WORLD = 20037508.342789244          # half the width of the Web Mercator square, metres
CELL_LEVELS = 4                     # a tile at zoom z holds 2^4 × 2^4 cells: cells of level z+4
CELLS_UP_TO_ZOOM = 14               # household cells for tiles of zoom 0–14 (points from 15)


@dataclass(frozen=True)
class Derived:
    name: str                       # the table
    sources: tuple[str, ...]        # the layers (data_versions) it is derived from
    fill: tuple[str, ...]           # statements that refill the emptied table, in order


def _versions(conn: Connection, sources: tuple[str, ...]) -> dict[str, int]:
    rows = conn.execute(text("SELECT layer, version FROM data_versions WHERE layer = ANY(:l)"),
                        {"l": list(sources)}).all()
    return {layer: int(v) for layer, v in rows}


def _built_from(conn: Connection, name: str) -> dict | None:
    return conn.execute(text("SELECT versions FROM derived_versions WHERE name = :n"),
                        {"n": name}).scalar_one_or_none()


def ensure(conn: Connection, table: Derived) -> bool:
    """Make ``table`` match the current data; True when this call rebuilt it."""
    if _built_from(conn, table.name) == _versions(conn, table.sources):
        return False
    with conn.engine.begin() as w:
        # one rebuilder per table; the others wait here and then find it fresh
        w.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                  {"k": f"derived:{table.name}"})
        versions = _versions(w, table.sources)
        if _built_from(w, table.name) == versions:
            return False
        started = time.perf_counter()
        w.execute(text(f"DELETE FROM {table.name}"))
        for statement in table.fill:
            w.execute(text(statement))
        w.execute(text("""
            INSERT INTO derived_versions (name, versions, built_at, seconds)
            VALUES (:n, CAST(:v AS jsonb), now(), :s)
            ON CONFLICT (name) DO UPDATE SET versions = excluded.versions,
                built_at = excluded.built_at, seconds = excluded.seconds"""),
            {"n": table.name, "v": json.dumps(versions),
             "s": time.perf_counter() - started})
    return True


# --- the figures of each grid -----------------------------------------------------------------

# grid_id 0: households and roads outside every grid (they count in the community's totals)
GRID_STATS = Derived("grid_stats", ("grids", "households", "roads"), ("""
    INSERT INTO grid_stats (grid_id, households, residents, elderly_alone, with_minors,
                            low_income, road_m_by_class)
    SELECT coalesce(h.gid, r.gid), coalesce(h.n, 0), coalesce(h.residents, 0),
           coalesce(h.elderly_alone, 0), coalesce(h.with_minors, 0), coalesce(h.low_income, 0),
           coalesce(r.by_class, '{}')
    FROM (SELECT coalesce(grid_id, 0) AS gid, count(*) AS n, sum(residents) AS residents,
                 count(*) FILTER (WHERE elderly_alone) AS elderly_alone,
                 count(*) FILTER (WHERE minors > 0) AS with_minors,
                 count(*) FILTER (WHERE low_income) AS low_income
          FROM households GROUP BY 1) h
    FULL JOIN (SELECT gid, jsonb_object_agg(class, m) AS by_class
               FROM (SELECT coalesce(grid_id, 0) AS gid, class, sum(length_m) AS m
                     FROM roads GROUP BY 1, 2) x GROUP BY gid) r ON r.gid = h.gid""",))


# --- households counted per cell, for the tiles below zoom 15 ---------------------------------

def _cells_fill() -> tuple[str, ...]:
    """Level z holds the cells of tiles at zoom z (2^(z+4) cells across the world), with the
    count and the sums of the Web Mercator coordinates (for the mean position). The finest
    level comes from the households, each coarser one from the level below it."""
    finest = CELLS_UP_TO_ZOOM
    size = 2 * WORLD / 2 ** (finest + CELL_LEVELS)
    statements = [f"""
        INSERT INTO household_cells (z, x, y, n, sx, sy)
        SELECT {finest}, floor((mx + {WORLD}) / {size})::int, floor(({WORLD} - my) / {size})::int,
               count(*), sum(mx), sum(my)
        FROM (SELECT ST_X(p) AS mx, ST_Y(p) AS my
              FROM (SELECT ST_Transform(geom, 3857) AS p FROM households) s) m
        GROUP BY 2, 3"""]
    for z in range(finest - 1, -1, -1):
        statements.append(f"""
            INSERT INTO household_cells (z, x, y, n, sx, sy)
            SELECT {z}, x / 2, y / 2, sum(n), sum(sx), sum(sy)
            FROM household_cells WHERE z = {z + 1} GROUP BY x / 2, y / 2""")
    return tuple(statements)


HOUSEHOLD_CELLS = Derived("household_cells", ("households",), _cells_fill())


def cell_margin(z: int, metres: float) -> int:
    """How many cells of zoom ``z`` span ``metres`` (of Web Mercator), rounded up."""
    return math.ceil(metres / (2 * WORLD / 2 ** (z + CELL_LEVELS)))


__all__ = ["Derived", "ensure", "GRID_STATS", "HOUSEHOLD_CELLS", "CELL_LEVELS",
           "CELLS_UP_TO_ZOOM", "cell_margin"]
