"""The camera net (天网/雪亮工程 with the 4 grids): what the cameras see of the roads, the gaps per
grid, and where one more camera would watch the most unwatched road.

A camera sees a sector: ``direction_deg`` (from north, clockwise), ``fov_deg`` wide, ``range_m``
far. Unknown values take defaults: a camera of unknown direction is taken as a dome seeing all
round (360°), an unknown field of view as 90°, an unknown range as 40 m. Line of sight is
approximated by rays: ``RAYS`` rays fan out across the sector, each stopped at the first
building wall it meets (footprints from the buildings layer; the building a camera is mounted
on does not block it), and the view is the polygon through the rays' ends. All of it in
PostGIS. A new site is chosen among points every ``CANDIDATE_STEP_M`` along the roads, by the
unwatched road length within a dome's range (counted on samples with a k-d tree; occlusion left
out of the ranking; the chosen site's gain is then measured with it).
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from sqlalchemy import Connection, text

from .accounts import Account
from .scope import IN_AREAS, read_areas

DEFAULT_FOV, DEFAULT_RANGE_M, RAYS = 90.0, 40.0, 60
CANDIDATE_STEP_M = 10.0    # candidate sites along the roads
SAMPLE_M = 2.0             # the unwatched road, sampled for ranking them

# one row per camera in the reader's areas, with its view polygon (geometry, EPSG:4326)
VIEWS_SQL = f"""
    cam AS (
        SELECT f.id, f.code, f.name, f.geom,
               coalesce(f.range_m, {DEFAULT_RANGE_M}) AS range_m,
               CASE WHEN f.direction_deg IS NULL THEN 360
                    ELSE coalesce(f.fov_deg, {DEFAULT_FOV}) END AS fov,
               coalesce(f.direction_deg, 0) AS dir
        FROM facilities f JOIN grids g ON g.id = grid_of(f.geom)
        WHERE f.kind = 'camera' AND {IN_AREAS.format(g="g")}
        UNION ALL
        SELECT -1, 'candidate', '', ST_SetSRID(ST_MakePoint(:cx, :cy), 4326),
               {DEFAULT_RANGE_M}, 360, 0
        WHERE CAST(:cx AS float8) IS NOT NULL),
    rays AS (
        SELECT cam.id, k.k, cam.geom AS origin, cam.fov,
               ST_MakeLine(cam.geom, ST_Project(cam.geom::geography, cam.range_m,
                   radians(cam.dir - cam.fov / 2 + k.k * cam.fov / {RAYS}))::geometry) AS ray
        FROM cam, generate_series(0, {RAYS}) AS k(k)),
    tips AS (
        SELECT r.id, r.k, r.origin, r.fov,
               CASE WHEN hit.at IS NULL THEN ST_EndPoint(r.ray)
                    ELSE ST_LineInterpolatePoint(r.ray, hit.at) END AS tip
        FROM rays r LEFT JOIN LATERAL (
            SELECT min(ST_LineLocatePoint(r.ray, p.geom)) AS at
            FROM buildings b,
                 LATERAL ST_DumpPoints(ST_Intersection(r.ray, ST_Boundary(b.geom))) p
            WHERE b.geom && r.ray AND ST_Intersects(b.geom, r.ray)
              AND NOT ST_Intersects(b.geom, r.origin)) hit ON true
        UNION ALL    -- a sector's ring starts and ends at the camera; a dome's is the tips
        SELECT id, -1, geom, fov, geom FROM cam WHERE fov < 360),
    views AS (
        SELECT id, ST_MakeValid(ST_MakePolygon(ST_AddPoint(
                   ST_MakeLine(array_agg(tip ORDER BY k)),
                   (array_agg(tip ORDER BY k))[1]))) AS geom
        FROM tips GROUP BY id)"""


def _road_figures(conn: Connection, areas, candidate=None) -> list[dict]:
    params = {"areas": areas, "cx": candidate[0] if candidate else None,
              "cy": candidate[1] if candidate else None}
    return [dict(r) for r in conn.execute(text(f"""
        WITH {VIEWS_SQL},
        seen AS (SELECT ST_Union(geom) AS geom FROM views WHERE id >= 0),
        seen_plus AS (SELECT ST_Union(geom) AS geom FROM views)
        SELECT g.code, g.name, count(r.id) AS roads, coalesce(sum(r.length_m), 0) AS road_m,
               coalesce(sum(CASE WHEN seen.geom IS NULL THEN 0 ELSE
                   ST_Length(ST_Intersection(r.geom, seen.geom)::geography) END), 0)
                   AS watched_m,
               coalesce(sum(CASE WHEN seen_plus.geom IS NULL THEN 0 ELSE
                   ST_Length(ST_Intersection(r.geom, seen_plus.geom)::geography) END), 0)
                   AS watched_with_candidate_m,
               (SELECT count(*) FROM facilities f WHERE f.kind = 'camera'
                AND grid_of(f.geom) = g.id) AS cameras
        FROM grids g LEFT JOIN roads r ON r.grid_id = g.id, seen, seen_plus
        WHERE {IN_AREAS.format(g="g")}
        GROUP BY g.id, g.code, g.name ORDER BY g.code"""), params).mappings()]


def watched(conn: Connection, viewer: Account) -> dict:
    """Per grid: cameras, road length, the part watched and the gap; in total; and the one
    best new camera site with the unwatched road it would add."""
    areas = read_areas(viewer)
    grids = _road_figures(conn, areas)
    for g in grids:
        g.pop("watched_with_candidate_m")
        g["gap_m"] = g["road_m"] - g["watched_m"]
        g["share"] = g["watched_m"] / g["road_m"] if g["road_m"] else None
    total = {k: sum(g[k] for g in grids) for k in ("cameras", "road_m", "watched_m", "gap_m")}
    return {"grids": grids, "total": total, "best_site": best_site(conn, areas),
            "defaults": {"fov_deg": DEFAULT_FOV, "range_m": DEFAULT_RANGE_M,
                         "unknown_direction": "360° dome"}}


def _samples(conn: Connection, areas, geom_sql: str, step_m: float) -> np.ndarray:
    """Points every ``step_m`` along ``geom_sql`` (lines per road of the reader's areas, with
    the views as ``seen``), as an (n, 2) array of lon, lat."""
    rows = conn.execute(text(f"""
        WITH {VIEWS_SQL},
        seen AS (SELECT coalesce(ST_Union(geom), ST_SetSRID('GEOMETRYCOLLECTION EMPTY'::geometry, 4326)) AS geom
                 FROM views),
        parts AS (SELECT (ST_Dump({geom_sql})).geom AS g
                  FROM roads r JOIN grids g ON g.id = r.grid_id, seen
                  WHERE {IN_AREAS.format(g="g")})
        SELECT ST_X(p.geom), ST_Y(p.geom) FROM parts,
               LATERAL ST_DumpPoints(ST_LineInterpolatePoints(parts.g,
                   LEAST(1.0, {step_m} / greatest(ST_Length(parts.g::geography), 0.01)))) p
        WHERE GeometryType(parts.g) = 'LINESTRING'"""),
        {"areas": areas, "cx": None, "cy": None}).all()
    return np.array(rows, float).reshape(-1, 2)


def best_site(conn: Connection, areas) -> dict | None:
    """The candidate point along the roads whose dome would see the most unwatched road:
    ranked by counting samples of the unwatched road (one every ``SAMPLE_M``) within range
    (scipy's k-d tree on a local metric plane; occlusion left out), its gain then measured
    with occlusion in PostGIS."""
    unwatched = _samples(conn, areas, "ST_Difference(r.geom, seen.geom)", SAMPLE_M)
    candidates = _samples(conn, areas, "r.geom", CANDIDATE_STEP_M)
    if not len(unwatched) or not len(candidates):
        return None
    # metres on a plane around the area's middle: errors far below a metre across a district
    lat0 = np.radians(candidates[:, 1].mean())
    scale = np.array([111_320.0 * np.cos(lat0), 110_574.0])
    tree = cKDTree(unwatched * scale)
    counts = tree.query_ball_point(candidates * scale, DEFAULT_RANGE_M, return_length=True)
    best = int(np.argmax(counts))
    lon, lat = candidates[best]
    with_it = _road_figures(conn, areas, (float(lon), float(lat)))
    gain = sum(g["watched_with_candidate_m"] - g["watched_m"] for g in with_it)
    return {"lon": float(lon), "lat": float(lat),
            "ranked_gain_m": float(counts[best] * SAMPLE_M), "gain_m": gain,
            "range_m": DEFAULT_RANGE_M}


def gaps(conn: Connection, viewer: Account, grid: str) -> dict:
    """One grid's roads as GeoJSON: each road's unwatched part, with its length and the
    length watched (the map of the gaps)."""
    return conn.execute(text(f"""
        WITH {VIEWS_SQL},
        seen AS (SELECT coalesce(ST_Union(geom), ST_SetSRID('GEOMETRYCOLLECTION EMPTY'::geometry, 4326)) AS geom
                 FROM views),
        r AS (SELECT r.code, r.name, r.length_m, r.geom,
                     ST_Length(ST_Intersection(r.geom, seen.geom)::geography) AS watched_m,
                     ST_Difference(r.geom, seen.geom) AS gap
              FROM roads r JOIN grids g ON g.id = r.grid_id, seen
              WHERE g.code = :grid AND {IN_AREAS.format(g="g")})
        SELECT json_build_object('type', 'FeatureCollection', 'features',
            coalesce(json_agg(json_build_object('type', 'Feature',
                'geometry', ST_AsGeoJSON(r.gap, 6)::json,
                'properties', json_build_object('code', r.code, 'name', r.name,
                    'length_m', round(r.length_m::numeric, 1),
                    'watched_m', round(r.watched_m::numeric, 1))) ORDER BY r.code), '[]'::json))
        FROM r"""), {"areas": read_areas(viewer), "grid": grid, "cx": None, "cy": None}
    ).scalar_one()
