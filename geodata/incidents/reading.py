"""Reading incidents back: one with its history, lists by filter, the duplicate check."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

from .. import privacy
from ..accounts import Account
from ..scope import IN_AREAS, read_areas, reads
from ..db import plain
from ..workflow import OPEN_STATES, NotFound, allowed

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
DUPLICATE_RADIUS_M = 250
OPEN_ARRAY = "ARRAY[" + ", ".join(f"'{state}'" for state in OPEN_STATES) + "]"

# Open incidents of the category in ``cat`` within the duplicate radius of the point ``p``,
# nearest first, among those the reader reads (``:areas``, ``scope.IN_AREAS``): shared by the
# placement statement and the check before saving.
NEARBY_OPEN = f"""
    SELECT i.id, i.state, i.description, i.created_at,
           round(ST_Distance(i.geom::geography, p.geom::geography)::numeric, 1) AS distance_m
    FROM incidents i JOIN grids g ON g.id = i.grid_id, p
    WHERE i.category_id = (SELECT id FROM cat) AND i.state = ANY({OPEN_ARRAY})
      AND {IN_AREAS.format(g="g")}
      AND i.geom && ST_Expand(p.geom, {DUPLICATE_RADIUS_M / 80000})
      AND ST_DWithin(i.geom::geography, p.geom::geography, {DUPLICATE_RADIUS_M})
    ORDER BY distance_m, i.id LIMIT 20"""

INCIDENT_COLUMNS = f"""
    i.id, i.state, i.version, i.description, i.created_at, i.updated_at, i.deadline,
    i.closed_at, i.duplicate_of, c.code AS category_code, c.service_code, c.name AS category,
    c.personal, g.code AS grid_code, g.name AS grid_name,
    (i.state = ANY({OPEN_ARRAY}) AND i.deadline < now()) AS overdue,
    ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat"""
INCIDENT_JOINS = """
    JOIN incident_categories c ON c.id = i.category_id JOIN grids g ON g.id = i.grid_id"""


# the current step: whom it waits on (an account or a unit, with the unit's contact) and by when
STEP_COLUMNS = """
    sl.step AS step_name, i.step_started_at, i.step_deadline,
    coalesce(i.step_deadline < now(), false) AS step_overdue,
    ua.name AS assignee, un.code AS unit_code, un.name AS unit, un.contact AS unit_contact,
    un.phone AS unit_phone"""
STEP_JOINS = """
    LEFT JOIN step_limits sl ON sl.state = i.state
    LEFT JOIN users ua ON ua.id = i.assignee_id
    LEFT JOIN units un ON un.id = i.assignee_unit_id"""


def categories(conn: Connection) -> list[dict]:
    return [dict(r) for r in conn.execute(text("""
        SELECT code, service_code, name, name_en, group_name, time_limit_hours, personal,
               description
        FROM incident_categories ORDER BY code""")).mappings()]


def nearby_open(conn: Connection, lon: float, lat: float, category: str,
                viewer: Account | None) -> list[dict]:
    """Open incidents of the same category within 250 m that ``viewer`` reads, nearest
    first. The public reads none (it has the blurred public view)."""
    if viewer is None:
        return []
    rows = conn.execute(text(f"""
        WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom),
        cat AS (SELECT id FROM incident_categories
                WHERE service_code = :category OR code = :category)
        {NEARBY_OPEN}"""), dict(lon=lon, lat=lat, category=category,
                                areas=read_areas(viewer))).mappings()
    return [plain(r) for r in rows]


def get(conn: Connection, incident_id: int, viewer: Account | None) -> dict:
    """One incident with its events, photos and mediation record, as ``viewer`` may see it."""
    row = conn.execute(text(f"""
        SELECT {INCIDENT_COLUMNS}, i.household_id, i.building_id, i.road_distance_m,
               h.code AS household_code, b.code AS building_code, b.name AS building_name,
               r.name AS road_name, i.reported_by, i.source, i.rating, i.contact,
               {STEP_COLUMNS}
        FROM incidents i {INCIDENT_JOINS} {STEP_JOINS}
        LEFT JOIN households h ON h.id = i.household_id
        LEFT JOIN buildings b ON b.id = i.building_id
        LEFT JOIN roads r ON r.id = i.road_id
        WHERE i.id = :id"""), {"id": incident_id}).mappings().one_or_none()
    if row is None or (viewer is not None and not reads(viewer, row["grid_code"])):
        raise NotFound("no incident %(id)s", id=incident_id)
    out = plain(row)
    out["allowed"] = list(allowed(out["state"]))
    out["barred"] = barred(conn, incident_id, out["allowed"], viewer)
    out["events"] = [plain(e) for e in conn.execute(text("""
        SELECT id, at, actor, from_state, to_state, note, photos, assignee FROM incident_events
        WHERE incident_id = :id ORDER BY at, id"""), {"id": incident_id}).mappings()]
    out["photos"] = [plain(p) for p in conn.execute(text("""
        SELECT id, filename, content_type, width, height, uploaded_by, uploaded_at
        FROM incident_photos WHERE incident_id = :id ORDER BY id"""),
        {"id": incident_id}).mappings()]
    med = conn.execute(text("SELECT * FROM mediations WHERE incident_id = :id"),
                       {"id": incident_id}).mappings().one_or_none()
    out["mediation"] = plain(med) if med else None
    return privacy.incident(out, viewer)


def barred(conn: Connection, incident_id: int, steps: list[str],
           viewer: Account | None) -> dict[str, str]:
    """Of ``steps``, those ``viewer`` may not take on this incident by separation of duties
    (``duty_rules``), each with the earlier state it moved the incident into."""
    if viewer is None or not steps:
        return {}
    from .writing import DUTY_BROKEN
    return dict(conn.execute(text(
        f"SELECT step, not_by FROM ({DUTY_BROKEN.format(incident=':id', step='d.step')}) x "
        "WHERE step = ANY(:steps)"), {"id": incident_id, "actor": viewer.name,
                                       "steps": steps}).all())


@dataclass
class Filters:
    states: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()   # service codes or codes
    grid: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    overdue: bool | None = None
    ids: tuple[int, ...] = ()
    areas: list[str] | None = None     # the reader's (scope.read_areas); None: everywhere

    def where(self) -> tuple[str, dict]:
        parts, params = ["TRUE"], {}
        if self.areas is not None:
            parts.append(IN_AREAS.format(g="g"))
            params["areas"] = list(self.areas)
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
    """Incidents matching ``filters``, newest first, one page; and the total count. The rows
    hold no personal data (no reporter, no contact), so every account may read them."""
    where, params = filters.where()
    total = conn.execute(text(f"SELECT count(*) FROM incidents i {INCIDENT_JOINS} "
                              f"WHERE {where}"), params).scalar_one()
    rows = conn.execute(text(f"""
        SELECT {INCIDENT_COLUMNS} FROM incidents i {INCIDENT_JOINS}
        WHERE {where} ORDER BY i.created_at DESC, i.id DESC
        LIMIT :limit OFFSET :offset"""),
        params | {"limit": page_size, "offset": (page - 1) * page_size}).mappings()
    return [plain(r) for r in rows], total


def as_feature_collection(rows: list[dict], **extra) -> dict:
    return {"type": "FeatureCollection", **extra, "features": [
        {"type": "Feature", "id": r["id"],
         "geometry": {"type": "Point", "coordinates": [round(r["lon"], 7), round(r["lat"], 7)]},
         "properties": {k: v for k, v in r.items() if k not in ("lon", "lat")}}
        for r in rows]}
