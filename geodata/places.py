"""Where a point is, in words a planner recognises: the grid it lies in, the nearest named road
and the nearest building, found in PostGIS by index for all points in one query.
Names suggested sites ("石龙溪路旁，龙溪苑14栋附近 · 第三网格（龙溪苑）") where coordinates
alone tell a planner nothing."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.engine import Connection

NEAR_ROAD_M = 300       # farther than this, a road does not name the place
NEAR_BUILDING_M = 150

# Nearest in metres, not in degrees (at 31°N a degree east is 15 % shorter than one north, so
# ``<->`` on lon/lat can pick the wrong road): the candidates within the radius come by index
# (ST_DWithin on a box of that radius in degrees of longitude, the larger), then the nearest by
# geodesic distance.
_SQL = text("""
    WITH p AS (SELECT ord, geom, 1.01 / (111320 * cos(radians(ST_Y(geom)))) AS deg_per_m
               FROM (SELECT ord, ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS geom
                     FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[]))
                          WITH ORDINALITY AS t(lon, lat, ord)) q)
    SELECT p.ord, g.code AS grid_code, g.name AS grid_name,
           r.name AS road, round(r.d) AS road_m, b.name AS building, round(b.d) AS building_m
    FROM p
    LEFT JOIN LATERAL (SELECT code, name FROM grids WHERE ST_Intersects(grids.geom, p.geom)
                       ORDER BY code LIMIT 1) g ON true
    LEFT JOIN LATERAL (
        SELECT name, ST_Distance(roads.geom::geography, p.geom::geography) AS d FROM roads
        WHERE name IS NOT NULL AND name <> ''
          AND ST_DWithin(roads.geom, p.geom, :road_m * p.deg_per_m)
        ORDER BY d LIMIT 1) r ON r.d <= :road_m
    LEFT JOIN LATERAL (
        SELECT name, ST_Distance(buildings.geom::geography, p.geom::geography) AS d
        FROM buildings WHERE ST_DWithin(buildings.geom, p.geom, :building_m * p.deg_per_m)
        ORDER BY d LIMIT 1) b ON b.d <= :building_m
    ORDER BY p.ord""")


def describe(conn: Connection, points: Sequence[tuple[float, float]]) -> list[dict]:
    """For each (lon, lat) in WGS 84: ``grid_code``, ``grid_name``, ``road`` and ``road_m``
    (the nearest named road within NEAR_ROAD_M), ``building`` and ``building_m`` (within
    NEAR_BUILDING_M), each None when there is none, and ``place``: these as one Chinese
    phrase."""
    if not points:
        return []
    rows = conn.execute(_SQL, {"lons": [float(p[0]) for p in points],
                               "lats": [float(p[1]) for p in points],
                               "road_m": NEAR_ROAD_M, "building_m": NEAR_BUILDING_M}).mappings()
    out = []
    for r in rows:
        found = {k: r[k] for k in ("grid_code", "grid_name", "road", "building")}
        found["road_m"] = None if r["road_m"] is None else int(r["road_m"])
        found["building_m"] = None if r["building_m"] is None else int(r["building_m"])
        found["place"] = phrase(found)
        out.append(found)
    return out


def phrase(found: dict) -> str:
    """'石龙溪路旁，龙溪苑14栋附近 · 第三网格（龙溪苑）' from describe()'s parts."""
    parts = []
    if found.get("road"):
        parts.append(f"{found['road']}旁" if (found.get("road_m") or 0) <= 30
                     else f"距{found['road']}约 {found['road_m']} 米")
    if found.get("building"):
        parts.append(f"{found['building']}附近")
    words = "，".join(parts) or "无道路或楼栋可参照"
    return f"{words} · {found['grid_name']}" if found.get("grid_name") else words
