"""The public view of incidents: what residents (no account) and every Open311 reader see.

The privacy policy (``geodata.privacy``) decides the fields; here they are read in one query,
with the blur done in SQL so that the exact point of a personal case never leaves PostGIS.
"""
from __future__ import annotations

from sqlalchemy import Connection, text

from .. import privacy
from ..workflow import STATE_LABELS
from .reading import INCIDENT_JOINS, Filters

PUBLIC_NOTE = "个人相关事件（纠纷、住房）的位置已模糊处理，且不公开描述"

# every incident as the public may see it (``shown``: the point, blurred for personal cases)
PUBLIC_ROWS = f"""
    SELECT i.id, i.state, c.name AS category, c.service_code, c.personal,
           g.code AS grid_code, g.name AS grid_name, i.created_at, i.updated_at,
           i.closed_at, i.deadline,
           to_char(i.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS reported,
           {privacy.public_text_sql("i.description")} AS description,
           {privacy.public_text_sql("coalesce(b.name, r.name, '')")} AS address,
           {privacy.public_location_sql()} AS shown
    FROM incidents i {INCIDENT_JOINS}
    LEFT JOIN buildings b ON b.id = i.building_id
    LEFT JOIN roads r ON r.id = i.road_id
    WHERE {{where}} AND i.state <> 'duplicate'"""
PUBLIC_SQL = f"""
    SELECT id, state, category, service_code, personal, grid_code, grid_name, created_at,
           updated_at, closed_at, deadline, reported, description, address,
           ST_X(shown) AS lon, ST_Y(shown) AS lat
    FROM ({PUBLIC_ROWS}) t
    WHERE {{shown_where}}
    ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset"""
# a bounding box applies to the point as shown: a small box must not find a blurred case's
# exact place
IN_BBOX = "shown && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)"


def public_requests(conn: Connection, filters: Filters, *, limit: int = 1000,
                    offset: int = 0, bbox=None) -> list[dict]:
    """Incidents as the public may see them, newest first (Open311, the public map, OGC API);
    ``bbox`` (minx, miny, maxx, maxy) selects by the point as shown."""
    where, params = filters.where()
    shown_where = "TRUE" if bbox is None else IN_BBOX
    if bbox is not None:
        params |= dict(zip(("minx", "miny", "maxx", "maxy"), bbox))
    rows = conn.execute(text(PUBLIC_SQL.format(where=where, shown_where=shown_where)),
                        params | {"limit": limit, "offset": offset}).mappings().all()
    return [dict(r) for r in rows]


def public_count(conn: Connection, filters: Filters, bbox=None) -> int:
    """How many incidents the public view holds for ``filters`` and ``bbox``."""
    where, params = filters.where()
    shown_where = "TRUE" if bbox is None else IN_BBOX
    if bbox is not None:
        params |= dict(zip(("minx", "miny", "maxx", "maxy"), bbox))
    sql = PUBLIC_SQL.format(where=where, shown_where=shown_where).rsplit("ORDER BY", 1)[0]
    return conn.execute(text(f"SELECT count(*) FROM ({sql}) n"), params).scalar_one()


def public_feature_collection(conn: Connection, filters: Filters, limit: int = 5000) -> dict:
    """The public view as GeoJSON."""
    rows = public_requests(conn, filters, limit=limit)
    return {"type": "FeatureCollection", "note": PUBLIC_NOTE, "features": [{
        "type": "Feature", "id": r["id"],
        "geometry": {"type": "Point", "coordinates": [round(r["lon"], 6), round(r["lat"], 6)]},
        "properties": {"id": r["id"], "category": r["category"], "state": r["state"],
                       "state_label": STATE_LABELS[r["state"]], "grid": r["grid_name"],
                       "reported": r["reported"], "description": r["description"],
                       "location_blurred": r["personal"]}}
        for r in rows]}
