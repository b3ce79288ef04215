"""Read-side queries: public layers, the community summary and per-grid figures.

Everything is computed in PostGIS. Lengths and areas are measured in EPSG:4545. A point on the
shared edge of two grids belongs to the grid with the lowest code (``ST_Covers`` counts it in both;
``DISTINCT ON`` picks one deterministically); a road segment belongs where its midpoint does.
"""
from __future__ import annotations

import json

from sqlalchemy import Connection, text

from .db import plain
from .layers import METRIC_SRID, get_layer

# Each grid's households, one grid per household.
HOUSEHOLD_GRID = """
    SELECT DISTINCT ON (h.id) h.id AS household_id, g.id AS grid_id, g.code AS grid_code
    FROM households h JOIN grids g ON ST_Covers(g.geom, h.geom)
    ORDER BY h.id, g.code
"""

# Each road segment's grid: the one covering its midpoint (segments run junction to junction, and
# a segment along a shared grid boundary goes to the lowest code, like a household on it).
ROAD_GRID = """
    SELECT DISTINCT ON (r.id) r.id AS road_id, g.id AS grid_id
    FROM roads r JOIN grids g ON ST_Covers(g.geom, ST_LineInterpolatePoint(r.geom, 0.5))
    ORDER BY r.id, g.code
"""

STAFF_TITLES = {"grid_head": "网格长", "full_time": "专职网格员", "part_time": "兼职网格员",
                "instructor": "网格指导员"}

# Public properties only: no names or phone numbers of residents or party members.
LAYER_SQL = {
    "grids": f"""
        SELECT g.code, g.name,
               coalesce(hh.households, 0) AS households, coalesce(hh.residents, 0) AS residents,
               round((ST_Area(ST_Transform(g.geom, {METRIC_SRID})) / 1e6)::numeric, 3)
                 AS area_km2,
               (SELECT string_agg(s.name, '、' ORDER BY s.role <> 'grid_head', s.code)
                  FROM grid_staff s WHERE s.grid_id = g.id) AS workers,
               g.geom
        FROM grids g
        LEFT JOIN (SELECT hg.grid_id, count(*) AS households, sum(h.residents) AS residents
                   FROM ({HOUSEHOLD_GRID}) hg JOIN households h ON h.id = hg.household_id
                   GROUP BY hg.grid_id) hh ON hh.grid_id = g.id
        WHERE {{where}}""",
    "compounds": """
        SELECT c.code, c.name, c.kind, c.owners_committee, c.geom
        FROM compounds c WHERE {where}""",
    "buildings": """
        SELECT b.code, b.name, b.floors, c.name AS compound, b.geom
        FROM buildings b LEFT JOIN compounds c ON c.id = b.compound_id WHERE {where}""",
    "households": """
        SELECT h.code, h.geom FROM households h WHERE {where}""",
    "roads": f"""
        SELECT r.code, r.name, r.class, r.surface, r.year_built,
               round(ST_Length(ST_Transform(r.geom, {METRIC_SRID}))::numeric, 1) AS length_m,
               r.geom
        FROM roads r WHERE {{where}}""",
    "parking_lots": f"""
        SELECT p.code, p.name, p.capacity,
               round(ST_Area(ST_Transform(p.geom, {METRIC_SRID}))::numeric) AS area_m2, p.geom
        FROM parking_lots p WHERE {{where}}""",
    "facilities": """
        SELECT f.code, f.name, f.kind, f.opening_hours, f.geom
        FROM facilities f WHERE {where}""",
}
LAYER_ALIAS = {"grids": "g", "compounds": "c", "buildings": "b", "households": "h", "roads": "r",
               "parking_lots": "p", "facilities": "f"}


def _layer_select(layer: str, bbox: tuple[float, float, float, float] | None):
    get_layer(layer, spatial_only=True)
    alias = LAYER_ALIAS[layer]
    where = "TRUE"
    params = {}
    if bbox is not None:
        where = f"{alias}.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)"
        params = dict(zip(("minx", "miny", "maxx", "maxy"), bbox))
    return LAYER_SQL[layer].format(where=where) + f" ORDER BY {alias}.code", params


def layer_geojson(conn: Connection, layer: str, bbox=None, precision: int = 7) -> str:
    """A layer's public features as a GeoJSON FeatureCollection (text), built in PostGIS."""
    sql, params = _layer_select(layer, bbox)
    return conn.execute(text(f"""
        SELECT json_build_object('type', 'FeatureCollection', 'features',
                 coalesce(json_agg(ST_AsGeoJSON(t.*, 'geom', {int(precision)})::json),
                          '[]'::json))::text
        FROM ({sql}) t"""), params).scalar_one()


def layer_features(conn: Connection, layer: str, bbox=None, precision: int = 7) -> dict:
    """A layer's public features as a GeoJSON FeatureCollection (dict)."""
    return json.loads(layer_geojson(conn, layer, bbox, precision))


def summary(conn: Connection) -> dict:
    row = conn.execute(text(f"""
        SELECT (SELECT count(*) FROM grids) AS grids,
               (SELECT count(*) FROM households) AS households,
               (SELECT coalesce(sum(residents), 0) FROM households) AS residents,
               (SELECT count(*) FROM buildings) AS buildings,
               (SELECT count(*) FROM compounds) AS compounds,
               (SELECT count(*) FROM parking_lots) AS parking_lots,
               (SELECT coalesce(json_object_agg(class, km), '{{}}') FROM (
                   SELECT class, round((sum(ST_Length(ST_Transform(geom, {METRIC_SRID})))
                                        / 1000)::numeric, 3) AS km
                   FROM roads GROUP BY class ORDER BY class) r) AS road_km_by_class,
               (SELECT coalesce(json_object_agg(kind, n), '{{}}') FROM (
                   SELECT kind, count(*) AS n FROM facilities GROUP BY kind ORDER BY kind) f)
                 AS facilities_by_kind
    """)).mappings().one()
    return plain(row)


def grid_codes(conn: Connection) -> list[dict]:
    return [dict(r) for r in conn.execute(text(
        "SELECT code, name FROM grids ORDER BY code")).mappings()]


def grid_figures(conn: Connection, code: str) -> dict | None:
    """A grid's figures, or None when no grid has that code."""
    row = conn.execute(text(f"""
        WITH g AS (SELECT * FROM grids WHERE code = :code),
             -- this grid's households only (its polygon through the index), a door on a
             -- shared edge going to the lowest code as everywhere
             hh AS (SELECT h.* FROM households h JOIN g ON ST_Covers(g.geom, h.geom)
                    WHERE NOT EXISTS (SELECT 1 FROM grids o WHERE o.code < g.code
                                      AND ST_Covers(o.geom, h.geom)))
        SELECT g.code, g.name,
               round((ST_Area(ST_Transform(g.geom, {METRIC_SRID})) / 1e6)::numeric, 3)
                 AS area_km2,
               (SELECT count(*) FROM hh) AS households,
               (SELECT coalesce(sum(residents), 0) FROM hh) AS residents,
               (SELECT count(*) FILTER (WHERE elderly_alone) FROM hh) AS elderly_alone,
               (SELECT count(*) FILTER (WHERE minors > 0) FROM hh) AS with_minors,
               (SELECT count(*) FILTER (WHERE low_income) FROM hh) AS low_income,
               (SELECT coalesce(json_object_agg(class, km), '{{}}') FROM (
                   SELECT r.class, round((sum(ST_Length(ST_Transform(r.geom, {METRIC_SRID})))
                                          / 1000)::numeric, 3) AS km
                   FROM roads r
                   WHERE r.geom && g.geom
                     AND ST_Covers(g.geom, ST_LineInterpolatePoint(r.geom, 0.5))
                     AND NOT EXISTS (SELECT 1 FROM grids o WHERE o.code < g.code
                                     AND ST_Covers(o.geom, ST_LineInterpolatePoint(r.geom, 0.5)))
                   GROUP BY r.class ORDER BY r.class) x) AS road_km_by_class,
               (SELECT coalesce(json_object_agg(kind, n), '{{}}') FROM (
                   SELECT f.kind, count(*) AS n FROM facilities f WHERE ST_Covers(g.geom, f.geom)
                   GROUP BY f.kind ORDER BY f.kind) x) AS facilities_by_kind,
               (SELECT count(*) FROM parking_lots p WHERE ST_Intersects(g.geom, p.geom))
                 AS parking_lots,
               (SELECT coalesce(json_agg(c.name ORDER BY c.code), '[]') FROM compounds c
                 WHERE ST_Intersects(g.geom, c.geom)) AS compounds,
               (SELECT coalesce(json_agg(json_build_object('role', s.role, 'name', s.name)
                                         ORDER BY s.role <> 'grid_head', s.code), '[]')
                  FROM grid_staff s WHERE s.grid_id = g.id) AS staff,
               ST_AsGeoJSON(ST_Envelope(g.geom))::json AS bbox
        FROM g
    """), {"code": code}).mappings().one_or_none()
    if row is None:
        return None
    out = plain(row)
    xs = [p[0] for p in out["bbox"]["coordinates"][0]]
    ys = [p[1] for p in out["bbox"]["coordinates"][0]]
    out["bbox"] = [min(xs), min(ys), max(xs), max(ys)]
    for s in out["staff"]:
        s["title"] = STAFF_TITLES.get(s["role"], s["role"])
    return out
