"""Incidents: placing them, moving them through the closed loop, reading them back.

Placement is one SQL statement: the point is assigned to its grid with ``ST_Covers`` (a point on a
shared boundary goes to the lowest grid code), the nearest household and building within 50 m and
the nearest road are recorded, the deadline comes from the category, and the first event is
written in the same statement. Every state change is an ``UPDATE … WHERE version = :version``
(optimistic locking) plus an appended event, in one transaction.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from .db import plain
from .gcj02 import gcj02_to_wgs84
from .workflow import (CLOSED_STATES, OPEN_STATES, STATE_LABELS, Forbidden, IllegalTransition,
                       InvalidInput, NotFound, OutsideCommunity, StaleVersion, allowed)

DUPLICATE_RADIUS_M = 250
NEAR_RADIUS_M = 50
MAX_DESCRIPTION = 4000
PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


@dataclass
class NewIncident:
    lon: float
    lat: float
    category: str                   # service_code or 4-digit code
    description: str
    reported_by: str
    coord_system: str = "wgs84"     # "gcj02" for points picked on a Gaode/Tencent map
    household_code: str | None = None
    building_code: str | None = None
    duplicate_of: int | None = None
    source: str = "web"
    contact: str | None = None


def categories(conn: Connection) -> list[dict]:
    return [dict(r) for r in conn.execute(text("""
        SELECT code, service_code, name, name_en, group_name, time_limit_hours, personal,
               description
        FROM incident_categories ORDER BY code""")).mappings()]


def _check(new: NewIncident) -> tuple[float, float]:
    try:
        lon, lat = float(new.lon), float(new.lat)
    except (TypeError, ValueError):
        raise InvalidInput("lon and lat must be numbers") from None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180
            and -90 <= lat <= 90):
        raise InvalidInput("lon must lie in [-180, 180] and lat in [-90, 90]")
    if new.coord_system not in ("wgs84", "gcj02"):
        raise InvalidInput("coord_system must be wgs84 or gcj02")
    if not isinstance(new.description, str) or not new.description.strip():
        raise InvalidInput("description is required")
    if len(new.description) > MAX_DESCRIPTION:
        raise InvalidInput(f"description is longer than {MAX_DESCRIPTION} characters")
    if not isinstance(new.category, str) or not new.category:
        raise InvalidInput("category is required")
    if not isinstance(new.reported_by, str) or not new.reported_by.strip():
        raise InvalidInput("reported_by is required")
    if new.coord_system == "gcj02":
        lon, lat = (float(v) for v in gcj02_to_wgs84(lon, lat))
    return lon, lat


OPEN_ARRAY = "ARRAY[" + ", ".join(f"'{state}'" for state in OPEN_STATES) + "]"
# Open incidents of the category in ``cat`` within the duplicate radius of the point ``p``,
# nearest first: shared by the placement statement and the check before saving.
NEARBY_OPEN = f"""
    SELECT i.id, i.state, i.description, i.created_at,
           round(ST_Distance(i.geom::geography, p.geom::geography)::numeric, 1) AS distance_m
    FROM incidents i, p
    WHERE i.category_id = (SELECT id FROM cat) AND i.state = ANY({OPEN_ARRAY})
      AND i.geom && ST_Expand(p.geom, {DUPLICATE_RADIUS_M / 80000})
      AND ST_DWithin(i.geom::geography, p.geom::geography, {DUPLICATE_RADIUS_M})
    ORDER BY distance_m, i.id LIMIT 20"""

PLACE_SQL = text(f"""
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom),
cat AS (SELECT id, time_limit_hours FROM incident_categories
        WHERE service_code = :category OR code = :category),
g AS (SELECT g.id, g.code FROM grids g, p WHERE ST_Covers(g.geom, p.geom)
      AND (CAST(:grids AS text[]) IS NULL OR g.code = ANY(CAST(:grids AS text[])))
      ORDER BY g.code LIMIT 1),
hh AS (SELECT h.id, h.building_id FROM households h, p
       WHERE (CAST(:household_code AS text) IS NULL
              AND h.geom && ST_Expand(p.geom, 0.0007)
              AND ST_DWithin(h.geom::geography, p.geom::geography, {NEAR_RADIUS_M}))
          OR h.code = :household_code
       ORDER BY h.code = :household_code DESC NULLS LAST,
                ST_Distance(h.geom::geography, p.geom::geography) LIMIT 1),
b AS (SELECT b.id FROM buildings b, p
      WHERE (CAST(:building_code AS text) IS NULL
             AND b.geom && ST_Expand(p.geom, 0.0007)
             AND ST_DWithin(b.geom::geography, p.geom::geography, {NEAR_RADIUS_M}))
         OR b.code = :building_code
      ORDER BY b.code = :building_code DESC NULLS LAST,
               ST_Distance(b.geom::geography, p.geom::geography) LIMIT 1),
r AS (SELECT r.id, ST_Distance(r.geom::geography, p.geom::geography) AS d
      FROM roads r, p ORDER BY r.geom <-> p.geom LIMIT 1),
ins AS (
    INSERT INTO incidents (category_id, description, state, grid_id, household_id,
                           building_id, road_id, road_distance_m, duplicate_of, reported_by,
                           source, contact, deadline, geom)
    SELECT cat.id, :description,
           CASE WHEN CAST(:duplicate_of AS int) IS NULL THEN 'reported' ELSE 'duplicate' END,
           g.id, (SELECT id FROM hh),
           coalesce((SELECT id FROM b), (SELECT building_id FROM hh)),
           (SELECT id FROM r), (SELECT d FROM r), :duplicate_of, :reported_by, :source,
           :contact, now() + make_interval(hours => cat.time_limit_hours), p.geom
    FROM cat, g, p
    RETURNING id, state, deadline, created_at, version),
ev AS (
    INSERT INTO incident_events (incident_id, actor, from_state, to_state, note)
    SELECT id, :reported_by, NULL, state,
           CASE WHEN state = 'duplicate' THEN '重复上报，关联事件 #' || :duplicate_of END
    FROM ins)
SELECT ins.id, ins.state, ins.version, ins.deadline, ins.created_at, g.code AS grid_code,
       -- open incidents of the category nearby (the new row is not visible here yet)
       (SELECT coalesce(json_agg(json_build_object(
                   'id', d.id, 'state', d.state, 'description', d.description,
                   'created_at', d.created_at, 'distance_m', d.distance_m)
                   ORDER BY d.distance_m, d.id), '[]'::json)
        FROM ({NEARBY_OPEN}) d) AS possible_duplicates
FROM ins, g, p
""")


def place(conn: Connection, new: NewIncident,
          allowed_grids: tuple[str, ...] | None = None) -> dict:
    """Store a new incident and return its id, grid, state, deadline and nearby duplicates.

    Raises InvalidInput for bad fields, OutsideCommunity for a point in no grid, Forbidden for
    a point outside ``allowed_grids`` (the reporter's own grids; None: any grid).
    """
    lon, lat = _check(new)
    params = dict(lon=lon, lat=lat, category=new.category, description=new.description.strip(),
                  reported_by=new.reported_by.strip(), household_code=new.household_code or None,
                  building_code=new.building_code or None, duplicate_of=new.duplicate_of,
                  source=new.source, contact=new.contact,
                  grids=list(allowed_grids) if allowed_grids is not None else None)
    if new.duplicate_of is not None:
        original = conn.execute(text("""
            SELECT i.state, c.service_code FROM incidents i
            JOIN incident_categories c ON c.id = i.category_id WHERE i.id = :id"""),
            {"id": new.duplicate_of}).one_or_none()
        if original is None:
            raise InvalidInput(f"duplicate_of: there is no incident {new.duplicate_of}")
    for kind, code in (("households", params["household_code"]),
                       ("buildings", params["building_code"])):
        if code is not None and not conn.execute(
                text(f"SELECT EXISTS (SELECT 1 FROM {kind} WHERE code = :c)"), {"c": code}
        ).scalar():
            raise InvalidInput(f"{kind[:-1]}_code: there is no {kind[:-1]} {code!r}")
    row = conn.execute(PLACE_SQL, params).mappings().one_or_none()
    if row is None:
        _explain_refusal(conn, params)
    out = plain(row) | {"lon": lon, "lat": lat}
    if new.duplicate_of is not None:
        _append_event(conn, new.duplicate_of, new.reported_by, None, None,
                      f"关联重复上报 #{row['id']}")
    return out


def _explain_refusal(conn: Connection, params: dict):
    checks = conn.execute(text("""
        SELECT EXISTS (SELECT 1 FROM incident_categories
                       WHERE service_code = :category OR code = :category) AS category_ok,
               EXISTS (SELECT 1 FROM grids WHERE ST_Covers(geom,
                       ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))) AS inside
    """), params).mappings().one()
    if not checks["category_ok"]:
        raise InvalidInput(f"unknown category {params['category']!r}")
    if not checks["inside"]:
        raise OutsideCommunity(
            f"the point ({params['lon']:.6f}, {params['lat']:.6f}) lies outside the community's "
            "grids; nothing was saved")
    if params.get("grids") is not None:
        raise Forbidden(f"the point lies outside your grid(s) {', '.join(params['grids'])}; "
                        "nothing was saved")
    raise InvalidInput("could not place the incident")


def nearby_open(conn: Connection, lon: float, lat: float, category: str) -> list[dict]:
    """Open incidents of the same category within 250 m, nearest first."""
    rows = conn.execute(text(f"""
        WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom),
        cat AS (SELECT id FROM incident_categories
                WHERE service_code = :category OR code = :category)
        {NEARBY_OPEN}"""), dict(lon=lon, lat=lat, category=category)).mappings()
    return [plain(r) for r in rows]


def _append_event(conn, incident_id, actor, from_state, to_state, note, photos=()):
    conn.execute(text("""
        INSERT INTO incident_events (incident_id, actor, from_state, to_state, note, photos)
        SELECT id, :actor, coalesce(:from_state, state), coalesce(:to_state, state), :note,
               CAST(:photos AS jsonb)
        FROM incidents WHERE id = :id"""),
        dict(id=incident_id, actor=actor, from_state=from_state, to_state=to_state, note=note,
             photos=_json_list(photos)))


def _json_list(values) -> str:
    return json.dumps([int(v) for v in values])


def transition(conn: Connection, incident_id: int, to: str, *, actor: str, version: int,
               note: str | None = None, photos: tuple[int, ...] = (),
               rating: int | None = None, duplicate_of: int | None = None) -> dict:
    """Move an incident to ``to`` if that is legal from its state and ``version`` is current.

    Raises NotFound, IllegalTransition, StaleVersion (the last two are conflicts: 409).
    """
    if not isinstance(actor, str) or not actor.strip():
        raise InvalidInput("actor is required")
    if to not in STATE_LABELS:
        raise InvalidInput(f"unknown state {to!r}; states: {', '.join(STATE_LABELS)}")
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidInput("version (the integer you last read) is required")
    if to == "evaluated" and (not isinstance(rating, int) or not 1 <= rating <= 5):
        raise InvalidInput("an evaluation needs a rating from 1 to 5")
    if to == "duplicate" and not isinstance(duplicate_of, int):
        raise InvalidInput("marking a duplicate needs duplicate_of (the original's id)")
    if to == "duplicate" and duplicate_of == incident_id:
        raise InvalidInput("an incident cannot duplicate itself")
    froms = [s for s in STATE_LABELS if to in allowed(s)]
    row = conn.execute(text("""
        WITH old AS (SELECT id, state FROM incidents WHERE id = :id FOR UPDATE),
        a AS (SELECT CAST(:to AS text) AS next, CAST(:rating AS smallint) AS rating,
                     CAST(:duplicate_of AS int) AS dup)
        UPDATE incidents i SET
            state = a.next, version = i.version + 1, updated_at = now(),
            closed_at = CASE WHEN a.next IN ('closed', 'rejected', 'duplicate') THEN now()
                             WHEN a.next = 'reopened' THEN NULL ELSE i.closed_at END,
            deadline = CASE WHEN a.next = 'reopened'
                            THEN now() + make_interval(hours => c.time_limit_hours)
                            ELSE i.deadline END,
            rating = CASE WHEN a.next = 'evaluated' THEN a.rating ELSE i.rating END,
            duplicate_of = CASE WHEN a.next = 'duplicate' THEN a.dup
                                WHEN a.next = 'reopened' THEN NULL ELSE i.duplicate_of END
        FROM incident_categories c, old, a
        WHERE i.id = old.id AND c.id = i.category_id AND i.version = :version
          AND i.state = ANY(:froms)
        RETURNING i.id, old.state AS from_state, i.state, i.version, i.deadline, i.closed_at
    """), dict(id=incident_id, to=to, version=version, froms=froms, rating=rating,
               duplicate_of=duplicate_of)).mappings().one_or_none()
    if row is None:
        current = conn.execute(text("SELECT state, version FROM incidents WHERE id = :id"),
                               {"id": incident_id}).one_or_none()
        if current is None:
            raise NotFound(f"no incident {incident_id}")
        state, current_version = current
        if current_version != version:
            raise StaleVersion(version, current_version, state)
        raise IllegalTransition(state, to)
    if photos:
        known = conn.execute(text("SELECT count(*) FROM incident_photos "
                                  "WHERE incident_id = :id AND id = ANY(:p)"),
                             {"id": incident_id, "p": list(photos)}).scalar_one()
        if known != len(set(photos)):
            raise InvalidInput("photos must be ids of photos uploaded to this incident")
    _append_event(conn, incident_id, actor.strip(), row["from_state"], to, note, photos)
    return plain(row)


def save_mediation(conn: Connection, incident_id: int, fields: dict, actor: str) -> None:
    """Create or update the mediation record of a dispute, noting it in the history."""
    kind = conn.execute(text("""
        SELECT c.service_code FROM incidents i JOIN incident_categories c ON c.id = i.category_id
        WHERE i.id = :id"""), {"id": incident_id}).scalar_one_or_none()
    if kind is None:
        raise NotFound(f"no incident {incident_id}")
    if kind != "dispute":
        raise InvalidInput("only disputes (矛盾纠纷) carry a mediation record")
    for key in ("parties", "sessions"):
        if key in fields:
            fields[key] = json.dumps(fields[key] or [], ensure_ascii=False)
    cols = list(fields)
    values = ", ".join(f"CAST(:{c} AS jsonb)" if c in ("parties", "sessions") else f":{c}"
                       for c in cols)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols)
    conn.execute(text(f"""
        INSERT INTO mediations (incident_id{''.join(', ' + c for c in cols)}, updated_at)
        VALUES (:id{', ' + values if cols else ''}, now())
        ON CONFLICT (incident_id) DO UPDATE SET {updates + ', ' if cols else ''}
            updated_at = now()"""), {"id": incident_id, **fields})
    _append_event(conn, incident_id, actor, None, None, "更新一站式调解记录")


def get(conn: Connection, incident_id: int) -> dict:
    row = conn.execute(text(f"""
        SELECT {INCIDENT_COLUMNS}, i.household_id, i.building_id, i.road_distance_m,
               h.code AS household_code, b.code AS building_code, b.name AS building_name,
               r.name AS road_name, i.reported_by, i.source, i.rating
        FROM incidents i {INCIDENT_JOINS}
        LEFT JOIN households h ON h.id = i.household_id
        LEFT JOIN buildings b ON b.id = i.building_id
        LEFT JOIN roads r ON r.id = i.road_id
        WHERE i.id = :id"""), {"id": incident_id}).mappings().one_or_none()
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    out = plain(row)
    out["allowed"] = list(allowed(out["state"]))
    out["events"] = [plain(e) for e in conn.execute(text("""
        SELECT id, at, actor, from_state, to_state, note, photos FROM incident_events
        WHERE incident_id = :id ORDER BY at, id"""), {"id": incident_id}).mappings()]
    out["photos"] = [plain(p) for p in conn.execute(text("""
        SELECT id, filename, content_type, width, height, uploaded_by, uploaded_at
        FROM incident_photos WHERE incident_id = :id ORDER BY id"""),
        {"id": incident_id}).mappings()]
    med = conn.execute(text("SELECT * FROM mediations WHERE incident_id = :id"),
                       {"id": incident_id}).mappings().one_or_none()
    out["mediation"] = plain(med) if med else None
    return out


INCIDENT_COLUMNS = f"""
    i.id, i.state, i.version, i.description, i.created_at, i.updated_at, i.deadline,
    i.closed_at, i.duplicate_of, c.code AS category_code, c.service_code, c.name AS category,
    c.personal, g.code AS grid_code, g.name AS grid_name,
    (i.state = ANY({OPEN_ARRAY}) AND i.deadline < now()) AS overdue,
    ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat"""
INCIDENT_JOINS = """
    JOIN incident_categories c ON c.id = i.category_id JOIN grids g ON g.id = i.grid_id"""


@dataclass
class Filters:
    states: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()   # service codes or codes
    grid: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    overdue: bool | None = None
    ids: tuple[int, ...] = ()

    def where(self) -> tuple[str, dict]:
        parts, params = ["TRUE"], {}
        if self.states:
            parts.append("i.state = ANY(:states)")
            params["states"] = list(self.states)
        if self.categories:
            parts.append("(c.service_code = ANY(:cats) OR c.code = ANY(:cats))")
            params["cats"] = list(self.categories)
        if self.grid:
            parts.append("g.code = :grid")
            params["grid"] = self.grid
        if self.since:
            parts.append("i.created_at >= :since")
            params["since"] = self.since
        if self.until:
            parts.append("i.created_at < :until")
            params["until"] = self.until
        if self.overdue is not None:
            parts.append(("" if self.overdue else "NOT ") +
                         "(i.state = ANY(:open) AND i.deadline < now())")
            params["open"] = list(OPEN_STATES)
        if self.ids:
            parts.append("i.id = ANY(:ids)")
            params["ids"] = list(self.ids)
        return " AND ".join(parts), params


def search(conn: Connection, filters: Filters, *, page: int = 1,
           page_size: int = PAGE_SIZE) -> tuple[list[dict], int]:
    """Incidents matching ``filters``, newest first, one page; and the total count."""
    where, params = filters.where()
    total = conn.execute(text(f"SELECT count(*) FROM incidents i {INCIDENT_JOINS} "
                              f"WHERE {where}"), params).scalar_one()
    rows = conn.execute(text(f"""
        SELECT {INCIDENT_COLUMNS} FROM incidents i {INCIDENT_JOINS}
        WHERE {where} ORDER BY i.created_at DESC, i.id DESC
        LIMIT :limit OFFSET :offset"""),
        params | {"limit": page_size, "offset": (page - 1) * page_size}).mappings()
    return [plain(r) for r in rows], total


BLUR_DEGREES = 0.002   # about 200 m: where a personal case is shown to the public


def public_feature_collection(conn: Connection, filters: Filters, limit: int = 5000) -> dict:
    """Incidents as the public may see them: no reporter, no contact; for personal cases
    (disputes, housing) no description and a location blurred to a ~200 m cell."""
    where, params = filters.where()
    rows = conn.execute(text(f"""
        SELECT id, category, personal, state, grid, reported, description,
               ST_X(shown) AS lon, ST_Y(shown) AS lat
        FROM (SELECT i.id, i.created_at, c.name AS category, c.personal, i.state,
                     g.name AS grid,
                     to_char(i.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')
                       AS reported,
                     CASE WHEN c.personal THEN NULL ELSE i.description END AS description,
                     CASE WHEN c.personal THEN ST_SnapToGrid(i.geom, {BLUR_DEGREES})
                          ELSE i.geom END AS shown
              FROM incidents i {INCIDENT_JOINS}
              WHERE {where} AND i.state <> 'duplicate') t
        ORDER BY created_at DESC, id DESC LIMIT :limit"""),
        params | {"limit": limit}).mappings().all()
    return {"type": "FeatureCollection", "note": "个人相关事件（纠纷、住房）的位置已模糊处理",
            "features": [{
                "type": "Feature", "id": r["id"],
                "geometry": {"type": "Point", "coordinates": [round(r["lon"], 6),
                                                              round(r["lat"], 6)]},
                "properties": {"id": r["id"], "category": r["category"], "state": r["state"],
                               "state_label": STATE_LABELS[r["state"]], "grid": r["grid"],
                               "reported": r["reported"], "description": r["description"],
                               "location_blurred": r["personal"]}}
                for r in rows]}


def as_feature_collection(rows: list[dict], **extra) -> dict:
    return {"type": "FeatureCollection", **extra, "features": [
        {"type": "Feature", "id": r["id"],
         "geometry": {"type": "Point", "coordinates": [round(r["lon"], 7), round(r["lat"], 7)]},
         "properties": {k: v for k, v in r.items() if k not in ("lon", "lat")}}
        for r in rows]}


__all__ = ["NewIncident", "Filters", "place", "transition", "get", "search", "nearby_open",
           "categories", "as_feature_collection", "CLOSED_STATES", "OPEN_STATES"]
