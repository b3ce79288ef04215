"""Read-side queries: public layers, the community summary and per-grid figures.

Everything is computed in PostGIS. Road lengths (``roads.length_m``) and areas are geodesic, on
the WGS 84 ellipsoid, wherever the data lies. Each household and road segment carries its grid (``grid_id``, kept by
triggers): a point on the shared edge of two grids belongs to the grid with the lowest code, a
road segment to the grid of its midpoint.
"""
from __future__ import annotations

import json

from sqlalchemy import Connection, text

from . import derived
from .accounts import Account
from .scope import IN_AREAS, reads
from .db import plain
from .layers import get_layer

# Each grid's households, one grid per household, by the spatial rule that the ``grid_id``
# triggers keep (migration 0008): the tests check the stored column against it.
HOUSEHOLD_GRID = """
    SELECT DISTINCT ON (h.id) h.id AS household_id, g.id AS grid_id, g.code AS grid_code
    FROM households h JOIN grids g ON ST_Covers(g.geom, h.geom)
    ORDER BY h.id, g.code
"""

STAFF_TITLES = {"grid_head": "网格长", "full_time": "专职网格员", "part_time": "兼职网格员",
                "instructor": "网格指导员"}

# Public properties only: no names or phone numbers of residents or party members.
LAYER_SQL = {
    "grids": """
        SELECT g.code, g.name,
               coalesce(st.households, 0) AS households, coalesce(st.residents, 0) AS residents,
               round((ST_Area(g.geom::geography) / 1e6)::numeric, 3)
                 AS area_km2,
               (SELECT string_agg(s.name, '、' ORDER BY s.role <> 'grid_head', s.code)
                  FROM grid_staff s WHERE s.grid_id = g.id) AS workers,
               g.geom
        FROM grids g
        LEFT JOIN grid_stats st ON st.grid_id = g.id
        WHERE {where}""",
    "compounds": """
        SELECT c.code, c.name, c.kind, c.owners_committee, c.geom
        FROM compounds c WHERE {where}""",
    "buildings": """
        SELECT b.code, b.name, b.floors, c.name AS compound, b.geom
        FROM buildings b LEFT JOIN compounds c ON c.id = b.compound_id WHERE {where}""",
    "households": """
        SELECT h.code, h.geom FROM households h WHERE {where}""",
    "roads": """
        SELECT r.code, r.name, r.class, r.surface, r.year_built,
               round(r.length_m::numeric, 1) AS length_m,
               CASE WHEN r.tunnel THEN 'tunnel' WHEN r.bridge THEN 'bridge' END AS grade,
               r.geom
        FROM roads r WHERE {where}""",
    "parking_lots": """
        SELECT p.code, p.name, p.capacity,
               round(ST_Area(p.geom::geography)::numeric) AS area_m2, p.geom
        FROM parking_lots p WHERE {where}""",
    "facilities": """
        SELECT f.code, f.name, f.kind, f.opening_hours, f.geom
        FROM facilities f WHERE {where}""",
}
LAYER_ALIAS = {"grids": "g", "compounds": "c", "buildings": "b", "households": "h", "roads": "r",
               "parking_lots": "p", "facilities": "f"}


# the layers whose features belong to grids, and so follow the reader's areas
SCOPED = {"grids": IN_AREAS.format(g="g"),
          "households": f"h.grid_id IN (SELECT ga.id FROM grids ga WHERE {IN_AREAS.format(g='ga')})"}


def layer_sql(conn: Connection, layer: str, where: str,
              areas: list[str] | None = None) -> tuple[str, dict]:
    """The SELECT of a layer's public features that meet ``where`` (SQL on the layer's alias,
    ``LAYER_ALIAS``) and lie in ``areas`` (``scope.read_areas``; None: everywhere; only grids
    and households are scoped), and its parameters; the derived figures it reads are brought
    up to date first."""
    if layer == "grids":
        derived.ensure(conn, derived.GRID_STATS)
    if areas is not None and layer in SCOPED:
        where = f"({where}) AND {SCOPED[layer]}"
        return LAYER_SQL[layer].format(where=where), {"areas": list(areas)}
    return LAYER_SQL[layer].format(where=where), {}


def _layer_select(conn: Connection, layer: str,
                  bbox: tuple[float, float, float, float] | None, areas: list[str] | None,
                  after: str | None = None):
    get_layer(layer, spatial_only=True)
    alias = LAYER_ALIAS[layer]
    where = "TRUE"
    params = {}
    if bbox is not None:
        # && finds the candidates by index; ST_Intersects keeps those that truly meet the box
        # (a line's or polygon's bounding box may reach into it while the shape does not)
        box = "ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)"
        where = f"{alias}.geom && {box} AND ST_Intersects({alias}.geom, {box})"
        params = dict(zip(("minx", "miny", "maxx", "maxy"), bbox))
    if after is not None:     # a page by key: the code index starts there, nothing is skipped
        where += f" AND {alias}.code > :after"
        params["after"] = after
    sql, more = layer_sql(conn, layer, where, areas)
    return sql + f" ORDER BY {alias}.code", params | more


def layer_geojson(conn: Connection, layer: str, bbox=None, precision: int = 7,
                  areas: list[str] | None = None, limit: int | None = None,
                  offset: int = 0, after: str | None = None) -> str:
    """A layer's public features as a GeoJSON FeatureCollection (text), built in PostGIS; with
    ``limit``, one page of them in code order and ``"more": true`` when others follow. Pages
    follow each other by ``after`` (the last code of the page before: as fast at the millionth
    feature as at the first); ``offset`` skips rows and costs what it skips."""
    sql, params = _layer_select(conn, layer, bbox, areas, after)
    if limit is None:
        page, more = sql, "'more', false"
    else:   # one row beyond the page says whether another page follows
        page = f"SELECT * FROM ({sql}) p LIMIT :limit + 1 OFFSET :offset"
        params |= {"limit": limit, "offset": offset}
        more = "'more', count(*) > :limit"
    keep = "" if limit is None else "FILTER (WHERE t.n <= :limit)"
    return conn.execute(text(f"""
        SELECT json_build_object('type', 'FeatureCollection', 'features',
                 coalesce(json_agg(t.f) {keep}, '[]'::json), {more})::text
        FROM (SELECT ST_AsGeoJSON(p.*, 'geom', {int(precision)})::json AS f,
                     row_number() OVER () AS n
              FROM ({page}) p) t"""), params).scalar_one()


def layer_features(conn: Connection, layer: str, bbox=None, precision: int = 7,
                   areas: list[str] | None = None) -> dict:
    """A layer's public features as a GeoJSON FeatureCollection (dict)."""
    return json.loads(layer_geojson(conn, layer, bbox, precision, areas))


def summary(conn: Connection, areas: list[str] | None = None) -> dict:
    """Counts, road km by class and facilities by kind: of everything, or of what lies in
    ``areas`` (the grids there, their households and roads; the buildings, compounds, parking
    lots and facilities inside those grids)."""
    derived.ensure(conn, derived.GRID_STATS)
    if areas is None:
        within = {"grid": "TRUE", "stats": "TRUE", "point": "TRUE", "area": "TRUE"}
    else:
        inside = "EXISTS (SELECT 1 FROM sg WHERE {test})"
        within = {"grid": "g.id IN (SELECT id FROM sg)",
                  "stats": "st.grid_id IN (SELECT id FROM sg)",
                  "point": inside.format(test="ST_Covers(sg.geom, x.geom)"),
                  "area": inside.format(test="ST_Intersects(sg.geom, x.geom)")}
    building = within["point"].replace("x.geom", "ST_PointOnSurface(x.geom)")
    row = conn.execute(text(f"""
        WITH sg AS (SELECT g.id, g.geom FROM grids g WHERE {IN_AREAS.format(g="g")})
        SELECT (SELECT count(*) FROM grids g WHERE {within["grid"]}) AS grids,
               (SELECT coalesce(sum(households), 0) FROM grid_stats st
                 WHERE {within["stats"]}) AS households,
               (SELECT coalesce(sum(residents), 0) FROM grid_stats st
                 WHERE {within["stats"]}) AS residents,
               (SELECT count(*) FROM buildings x WHERE {building}) AS buildings,
               (SELECT count(*) FROM compounds x WHERE {within["area"]}) AS compounds,
               (SELECT count(*) FROM parking_lots x WHERE {within["area"]}) AS parking_lots,
               (SELECT coalesce(json_object_agg(class, km), '{{}}') FROM (
                   SELECT key AS class, round((sum(value::float8) / 1000)::numeric, 3) AS km
                   FROM grid_stats st, jsonb_each_text(st.road_m_by_class)
                   WHERE {within["stats"]}
                   GROUP BY key ORDER BY key) r) AS road_km_by_class,
               (SELECT coalesce(json_object_agg(kind, n), '{{}}') FROM (
                   SELECT kind, count(*) AS n FROM facilities x WHERE {within["point"]}
                   GROUP BY kind ORDER BY kind) f) AS facilities_by_kind
    """), {"areas": areas}).mappings().one()
    return plain(row)


def grid_codes(conn: Connection, areas: list[str] | None = None,
               limit: int | None = None) -> list[dict]:
    """Codes and names of the grids in ``areas`` (None: all), the first ``limit`` of them."""
    return [dict(r) for r in conn.execute(text(
        f"SELECT code, name FROM grids g WHERE {IN_AREAS.format(g='g')} ORDER BY code "
        "LIMIT :limit"), {"areas": areas, "limit": limit}).mappings()]


def grid_figures(conn: Connection, code: str, viewer: Account | None) -> dict | None:
    """A grid's figures, or None when no grid has that code or ``viewer`` does not read it
    (``scope.reads``: as if it did not exist)."""
    if not reads(viewer, code):
        return None
    derived.ensure(conn, derived.GRID_STATS)
    row = conn.execute(text("""
        WITH g AS (SELECT * FROM grids WHERE code = :code)
        SELECT g.code, g.name,
               round((ST_Area(g.geom::geography) / 1e6)::numeric, 3)
                 AS area_km2,
               coalesce(st.households, 0) AS households, coalesce(st.residents, 0) AS residents,
               coalesce(st.elderly_alone, 0) AS elderly_alone,
               coalesce(st.with_minors, 0) AS with_minors,
               coalesce(st.low_income, 0) AS low_income,
               (SELECT coalesce(json_object_agg(key, km), '{}') FROM (
                   SELECT key, round((value::float8 / 1000)::numeric, 3) AS km
                   FROM jsonb_each_text(st.road_m_by_class) ORDER BY key) x)
                 AS road_km_by_class,
               (SELECT coalesce(json_object_agg(kind, n), '{}') FROM (
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
        FROM g LEFT JOIN grid_stats st ON st.grid_id = g.id
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
