"""One search box: a household code, a building, a compound, a road name or an incident number,
within what the account reads (``geodata.scope``: households and incidents of its areas; the
shared geography everywhere), each result with the point to fly to.

Substring matching (``ILIKE '%q%'``) on trigram indexes (pg_trgm): it finds Chinese names by any
part of them (石龙, 龙溪) without a Chinese word segmenter, which a two- or three-character
query would defeat anyway; exact and prefix matches rank first, then shorter names.
"""
from __future__ import annotations

from sqlalchemy import Connection, text

from .accounts import Account
from .db import plain
from . import privacy
from .scope import IN_AREAS, read_areas
from .workflow import InvalidInput

MAX_QUERY = 64
KINDS = {"incident": "事件", "household": "住户", "building": "楼栋", "compound": "小区",
         "road": "道路"}

# each part: kind, code, label, point, rank; :q the text, :like its pattern, :number the
# incident number it may be, :areas the reader's
PARTS = {
    "incident": f"""
        SELECT 'incident' AS kind, i.id::text AS code, c.name || ' · ' || g.name AS label,
               i.geom AS point, 0 AS rank, NULL AS grid
        FROM incidents i JOIN incident_categories c ON c.id = i.category_id
        JOIN grids g ON g.id = i.grid_id
        WHERE i.id = :number AND {IN_AREAS.format(g="g")}""",
    "household": f"""
        SELECT 'household', h.code, h.code || ' · ' || b.name, h.geom,
               CASE WHEN h.code ILIKE :q THEN 0 WHEN h.code ILIKE :prefix THEN 1 ELSE 2 END,
               g.code
        FROM households h JOIN buildings b ON b.id = h.building_id
        JOIN grids g ON g.id = h.grid_id
        WHERE h.code ILIKE :like AND {IN_AREAS.format(g="g")}""",
    "building": """
        SELECT 'building', b.code, b.name, ST_PointOnSurface(b.geom),
               CASE WHEN b.name ILIKE :q OR b.code ILIKE :q THEN 0
                    WHEN b.name ILIKE :prefix THEN 1 ELSE 2 END, NULL
        FROM buildings b WHERE b.name ILIKE :like OR b.code ILIKE :like""",
    "compound": """
        SELECT 'compound', c.code, c.name, ST_PointOnSurface(c.geom),
               CASE WHEN c.name ILIKE :q THEN 0 WHEN c.name ILIKE :prefix THEN 1 ELSE 2 END, NULL
        FROM compounds c WHERE c.name ILIKE :like""",
    # a road is its segments under one name: one result, at the point of it nearest its middle
    "road": """
        SELECT 'road', min(r.code), r.name,
               ST_ClosestPoint(ST_Collect(r.geom), ST_Centroid(ST_Collect(r.geom))),
               CASE WHEN r.name ILIKE :q THEN 0 WHEN r.name ILIKE :prefix THEN 1 ELSE 2 END, NULL
        FROM roads r WHERE r.name ILIKE :like GROUP BY r.name""",
}


def _escape(q: str) -> str:
    return q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(conn: Connection, q: str, viewer: Account | None, limit: int = 10) -> list[dict]:
    """The best ``limit`` matches of ``q`` that ``viewer`` may see, with WGS 84 points."""
    q = (q or "").strip()
    if not q or len(q) > MAX_QUERY:
        raise InvalidInput("q: give 1–%(max)s characters", max=MAX_QUERY)
    union = " UNION ALL ".join(f"({sql} LIMIT :limit)" for sql in PARTS.values())
    rows = conn.execute(text(f"""
        SELECT kind, code, label, ST_X(point) AS lon, ST_Y(point) AS lat, grid
        FROM ({union}) m ORDER BY rank, length(label), label LIMIT :limit"""),
        {"q": _escape(q), "prefix": _escape(q) + "%", "like": "%" + _escape(q) + "%",
         "number": int(q) if q.isascii() and q.isdigit() and len(q) <= 9 else None,
         "limit": limit, "areas": read_areas(viewer)}).mappings()
    shown = privacy.household_grids(viewer)      # whose households open as a card
    out = []
    for r in rows:
        hit = plain(r)
        grid = hit.pop("grid")
        hit["card"] = grid is not None and (shown is None or grid.startswith(tuple(shown)))
        out.append(hit | {"kind_label": KINDS[hit["kind"]]})
    return out


__all__ = ["search", "KINDS", "MAX_QUERY"]
