"""Writing incidents: placing them, moving them through the closed loop, mediation records.

Every function takes the acting account and enforces its grid scope inside its own SQL (the
``WHERE`` of the insert or update: the incident's grid, the household and building it names,
the original it duplicates), and writes its audit entry in the same transaction, so that every
way in (pages, JSON API, Open311, CLI) gets the same rules by calling them.

Placement is one SQL statement: the point is assigned to its grid with ``ST_Covers`` (a point on
a shared boundary goes to the lowest grid code), the nearest household and building within 50 m
of the same grid and the nearest road are recorded, the deadline comes from the category, and
the first event is written in the same statement. Every state change is an ``UPDATE … WHERE
version = :version`` (optimistic locking) plus an appended event.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Connection, text

from ..accounts import Account, audit
from ..db import plain
from ..points import wgs84_point
from ..scope import IN_SCOPE, read_areas, refuse_missing, write_grids
from ..workflow import (STATE_LABELS, DutySeparated, Forbidden, IllegalTransition,
                        InvalidInput, OutsideCommunity, StaleVersion, allowed)
from .reading import NEARBY_OPEN

NEAR_RADIUS_M = 50
MAX_DESCRIPTION = 4000
MAX_NOTE = 4000
MEDIATION_TEXT = ("party_branch", "resident_representative", "lawyer", "outcome")
MEDIATION_FIELDS = ("parties", *MEDIATION_TEXT, "sessions", "agreement")


@dataclass
class NewIncident:
    lon: float
    lat: float
    category: str                   # service_code or 4-digit code
    description: str
    coord_system: str = "wgs84"     # "gcj02" for points picked on a Gaode/Tencent map
    household_code: str | None = None
    building_code: str | None = None
    duplicate_of: int | None = None
    source: str = "web"
    contact: str | None = None      # the reporter's name and contact (personal data)


def _text(value, name: str, limit: int, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise InvalidInput("%(name)s is required", "required", name=name)
        return None
    if not isinstance(value, str):
        raise InvalidInput("%(name)s must be a text", name=name)
    if required and not value.strip():
        raise InvalidInput("%(name)s is required", "required", name=name)
    if len(value) > limit:
        raise InvalidInput("%(name)s is longer than %(limit)s characters", "too_long",
                           name=name, limit=limit)
    return value.strip()


def _id(value, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        raise InvalidInput("%(name)s must be an incident id (a positive integer)", name=name)
    return value


def _nearest_road(point: str) -> str:
    """A LATERAL subquery giving the road nearest to ``point`` in metres (``id``, ``d``): the
    nearest in degrees (by index) bounds the search, which the geodesic distance then decides
    (a degree east is shorter than one north). Placing a report and naming the sample's places
    both use it."""
    return f"""LATERAL (
        SELECT r.id, ST_Distance(r.geom::geography, {point}::geography) AS d
        FROM roads r, (SELECT ST_Distance(n.geom::geography, {point}::geography) AS d
                       FROM roads n ORDER BY n.geom <-> {point} LIMIT 1) bound
        WHERE ST_DWithin(r.geom, {point},
                         bound.d * 1.01 / (111320 * cos(radians(ST_Y({point})))))
        ORDER BY d LIMIT 1)"""


# The same places as a placement finds (PLACE_SQL: the nearest household and building within
# NEAR_RADIUS_M in the incident's grid, the nearest road in metres), for incidents stored
# without them (the sample's illustrative history), in one statement.
FILL_PLACES_SQL = text(f"""
UPDATE incidents i SET household_id = f.hh, building_id = coalesce(f.b, f.hh_building),
                       road_id = f.road, road_distance_m = f.road_m
FROM (
    SELECT i.id, hh.id AS hh, hh.building_id AS hh_building, b.id AS b, r.id AS road,
           r.d AS road_m
    FROM incidents i JOIN grids g ON g.id = i.grid_id
    LEFT JOIN LATERAL (
        SELECT h.id, h.building_id FROM households h
        WHERE h.geom && ST_Expand(i.geom, 0.0007)
          AND ST_DWithin(h.geom::geography, i.geom::geography, {NEAR_RADIUS_M})
          AND ST_Covers(g.geom, h.geom)
        ORDER BY ST_Distance(h.geom::geography, i.geom::geography) LIMIT 1) hh ON true
    LEFT JOIN LATERAL (
        SELECT b.id FROM buildings b
        WHERE b.geom && ST_Expand(i.geom, 0.0007)
          AND ST_DWithin(b.geom::geography, i.geom::geography, {NEAR_RADIUS_M})
          AND ST_Covers(g.geom, ST_PointOnSurface(b.geom))
        ORDER BY ST_Distance(b.geom::geography, i.geom::geography) LIMIT 1) b ON true
    LEFT JOIN {_nearest_road("i.geom")} r ON true
    WHERE i.id = ANY(:ids)) f
WHERE i.id = f.id""")


def fill_places(conn: Connection, ids: list[int]) -> None:
    """Name the nearest household, building and road of these incidents, as placing them
    would have (for incidents stored without them, e.g. the sample's history)."""
    conn.execute(FILL_PLACES_SQL, {"ids": list(ids)})


PLACE_SQL = text(f"""
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom),
cat AS (SELECT id, time_limit_hours FROM incident_categories
        WHERE service_code = :category OR code = :category),
g AS (SELECT g.id, g.code, g.geom FROM grids g, p WHERE ST_Covers(g.geom, p.geom)
      AND {IN_SCOPE.format(g="g")} ORDER BY g.code LIMIT 1),
-- the household and building: the ones named (they must lie in the incident's grid), else the
-- nearest within 50 m in the same grid. Candidates come first from the point's neighbourhood
-- or the code (indexes), then the grid is checked on those few (MATERIALIZED keeps that order).
hh_near AS MATERIALIZED (
    SELECT h.id, h.building_id, h.geom,
           ST_Distance(h.geom::geography, p.geom::geography) AS d
    FROM households h, p
    WHERE CAST(:household_code AS text) IS NULL AND h.geom && ST_Expand(p.geom, 0.0007)
      AND ST_DWithin(h.geom::geography, p.geom::geography, {NEAR_RADIUS_M})
    UNION ALL
    SELECT h.id, h.building_id, h.geom, -1 FROM households h WHERE h.code = :household_code),
hh AS (SELECT n.id, n.building_id FROM hh_near n, g WHERE ST_Covers(g.geom, n.geom)
       ORDER BY n.d LIMIT 1),
b_near AS MATERIALIZED (
    SELECT b.id, b.geom, ST_Distance(b.geom::geography, p.geom::geography) AS d
    FROM buildings b, p
    WHERE CAST(:building_code AS text) IS NULL AND b.geom && ST_Expand(p.geom, 0.0007)
      AND ST_DWithin(b.geom::geography, p.geom::geography, {NEAR_RADIUS_M})
    UNION ALL
    SELECT b.id, b.geom, -1 FROM buildings b WHERE b.code = :building_code),
b AS (SELECT n.id FROM b_near n, g WHERE ST_Covers(g.geom, ST_PointOnSurface(n.geom))
      ORDER BY n.d LIMIT 1),
-- the original a duplicate points to: only one the actor may act on (it gets an event too)
dup AS (SELECT i.id FROM incidents i JOIN grids g ON g.id = i.grid_id
        WHERE i.id = CAST(:duplicate_of AS int) AND {IN_SCOPE.format(g="g")}),
-- the nearest road in metres
r AS (SELECT nr.id, nr.d FROM p, {_nearest_road("p.geom")} nr),
ins AS (
    INSERT INTO incidents (category_id, description, state, grid_id, household_id,
                           building_id, road_id, road_distance_m, duplicate_of, reported_by,
                           source, contact, deadline, geom)
    SELECT cat.id, :description,
           CASE WHEN CAST(:duplicate_of AS int) IS NULL THEN 'reported' ELSE 'duplicate' END,
           g.id, (SELECT id FROM hh),
           coalesce((SELECT id FROM b), (SELECT building_id FROM hh)),
           (SELECT id FROM r), (SELECT d FROM r), (SELECT id FROM dup), :reported_by, :source,
           :contact, now() + make_interval(hours => cat.time_limit_hours), p.geom
    FROM cat, g, p
    WHERE (CAST(:household_code AS text) IS NULL OR EXISTS (SELECT 1 FROM hh))
      AND (CAST(:building_code AS text) IS NULL OR EXISTS (SELECT 1 FROM b))
      AND (CAST(:duplicate_of AS int) IS NULL OR EXISTS (SELECT 1 FROM dup))
    RETURNING id, state, deadline, created_at, version),
ev AS (
    INSERT INTO incident_events (incident_id, actor, from_state, to_state, note)
    SELECT id, :reported_by, NULL, state,
           CASE WHEN state = 'duplicate' THEN '重复上报，关联事件 #' || :duplicate_of END
    FROM ins
    UNION ALL
    SELECT dup.id, :reported_by, o.state, o.state, '关联重复上报 #' || ins.id
    FROM dup JOIN incidents o ON o.id = dup.id, ins)
SELECT ins.id, ins.state, ins.version, ins.deadline, ins.created_at, g.code AS grid_code,
       -- open incidents of the category nearby (the new row is not visible here yet)
       (SELECT coalesce(json_agg(json_build_object(
                   'id', d.id, 'state', d.state, 'description', d.description,
                   'created_at', d.created_at, 'distance_m', d.distance_m)
                   ORDER BY d.distance_m, d.id), '[]'::json)
        FROM ({NEARBY_OPEN}) d) AS possible_duplicates
FROM ins, g, p
""")


def place(conn: Connection, new: NewIncident, actor: Account) -> dict:
    """Store a new incident reported by ``actor`` and return its id, grid, state, deadline and
    nearby duplicates; audited.

    Raises InvalidInput for bad fields, OutsideCommunity for a point in no grid, Forbidden for
    a point, household, building or original outside the actor's grids.
    """
    grids = write_grids(actor, placing=True)
    lon, lat = wgs84_point(new.lon, new.lat, new.coord_system)
    params = dict(
        lon=lon, lat=lat, grids=grids,
        category=_text(new.category, "category", 64, required=True),
        description=_text(new.description, "description", MAX_DESCRIPTION, required=True),
        household_code=_text(new.household_code, "household_code", 64),
        building_code=_text(new.building_code, "building_code", 64),
        duplicate_of=_id(new.duplicate_of, "duplicate_of"),
        reported_by=actor.name, source=new.source, contact=new.contact,
        areas=read_areas(actor))   # the possible duplicates shown back: only what it reads
    row = conn.execute(PLACE_SQL, params).mappings().one_or_none()
    if row is None:
        _explain_refusal(conn, params)
    audit(conn, actor.name, "incident.create", str(row["id"]), grid=row["grid_code"],
          category=params["category"], source=new.source)
    return plain(row) | {"lon": lon, "lat": lat}


def _explain_refusal(conn: Connection, params: dict):
    """The placement inserted nothing: say which rule refused it."""
    c = conn.execute(text(f"""
        WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom),
        g AS (SELECT g.code, g.geom FROM grids g, p WHERE ST_Covers(g.geom, p.geom)
              ORDER BY g.code LIMIT 1)
        SELECT EXISTS (SELECT 1 FROM incident_categories
                       WHERE service_code = :category OR code = :category) AS category_ok,
               (SELECT code FROM g) AS grid,
               (SELECT {IN_SCOPE.format(g="g")} FROM g) AS grid_ok,
               EXISTS (SELECT 1 FROM households WHERE code = :household_code) AS hh_known,
               EXISTS (SELECT 1 FROM households h, g WHERE h.code = :household_code
                       AND ST_Covers(g.geom, h.geom)) AS hh_here,
               EXISTS (SELECT 1 FROM buildings WHERE code = :building_code) AS b_known,
               EXISTS (SELECT 1 FROM buildings b, g WHERE b.code = :building_code
                       AND ST_Covers(g.geom, ST_PointOnSurface(b.geom))) AS b_here,
               (SELECT gg.code FROM incidents i JOIN grids gg ON gg.id = i.grid_id
                WHERE i.id = CAST(:duplicate_of AS int)) AS dup_grid
    """), params).mappings().one()
    if not c["category_ok"]:
        raise InvalidInput("category: unknown category %(category)r", "unknown_category",
                           category=params["category"])
    if c["grid"] is None:
        raise OutsideCommunity(
            "the point (%(lon).6f, %(lat).6f) lies outside the community's grids; nothing was "
            "saved", lon=params["lon"], lat=params["lat"])
    if not c["grid_ok"]:
        raise Forbidden("the point lies in grid %(grid)s, outside your grid(s) %(yours)s; "
                        "nothing was saved", "outside_your_grids", grid=c["grid"],
                        yours=", ".join(params["grids"]))
    for kind, prefix in (("household", "hh"), ("building", "b")):
        code = params[f"{kind}_code"]
        if code is not None and not c[f"{prefix}_here"]:
            if not c[f"{prefix}_known"]:
                if kind == "household":
                    raise InvalidInput("household_code: there is no household %(code)r",
                                       "unknown_household", code=code)
                raise InvalidInput("building_code: there is no building %(code)r",
                                   "unknown_building", code=code)
            if kind == "household":
                raise InvalidInput("household_code: household %(code)s is not in grid %(grid)s, "
                                   "where the point lies", "household_elsewhere", code=code,
                                   grid=c["grid"])
            raise InvalidInput("building_code: building %(code)s is not in grid %(grid)s, "
                               "where the point lies", "building_elsewhere", code=code,
                               grid=c["grid"])
    if params["duplicate_of"] is not None:
        if c["dup_grid"] is None:
            raise InvalidInput("duplicate_of: there is no incident %(id)s", "unknown_incident",
                               id=params["duplicate_of"])
        raise Forbidden("duplicate_of: incident %(id)s lies outside your grid(s)",
                        "outside_your_grids", id=params["duplicate_of"])
    raise InvalidInput("could not place the incident")


# whom an incident may be dispatched to: a grid head or worker of its grid (active), or a
# unit serving an area that holds the grid
ASSIGNEE_RULE = "an active grid head or worker of the incident's grid, or a unit serving it"
ASSIGNABLE_ACCOUNT = ("u.active AND u.role IN ('grid_head', 'grid_worker') "
                      "AND old.grid_code = ANY(u.grid_codes)")
ASSIGNABLE_UNIT = "(n.area IS NULL OR starts_with(old.grid_code, n.area))"

# separation of duties (``duty_rules``): the rule the step into {step} would break for the
# actor, if any — they were the last to move the incident {incident} into the rule's earlier
# state (an event that only notes something, from a state to the same, does not count)
DUTY_BROKEN = """
    SELECT d.step, d.not_by FROM duty_rules d,
    LATERAL (SELECT e.actor FROM incident_events e
             WHERE e.incident_id = {incident} AND e.to_state = d.not_by
               AND e.from_state IS DISTINCT FROM e.to_state
             ORDER BY e.at DESC, e.id DESC LIMIT 1) last
    WHERE d.step = {step} AND last.actor = :actor"""

TRANSITION_SQL = text(f"""
    WITH old AS (SELECT i.id, i.state, g.code AS grid_code
                 FROM incidents i JOIN grids g ON g.id = i.grid_id
                 WHERE i.id = :id AND {IN_SCOPE.format(g="g")} FOR UPDATE OF i),
    a AS (SELECT CAST(:to AS text) AS next, CAST(:rating AS smallint) AS rating,
                 (SELECT o.id FROM incidents o JOIN grids g ON g.id = o.grid_id
                  WHERE o.id = CAST(:duplicate_of AS int) AND {IN_SCOPE.format(g="g")})
                   AS dup,
                 -- the assignee: {ASSIGNEE_RULE}
                 (SELECT u.id FROM users u, old WHERE u.name = CAST(:assignee AS text)
                  AND {ASSIGNABLE_ACCOUNT}) AS assignee_id,
                 (SELECT n.id FROM units n, old WHERE n.code = CAST(:unit AS text)
                  AND {ASSIGNABLE_UNIT}) AS unit_id),
    upd AS (
        UPDATE incidents i SET
            state = a.next, version = i.version + 1, updated_at = now(),
            closed_at = CASE WHEN a.next IN ('closed', 'rejected', 'duplicate') THEN now()
                             WHEN a.next = 'reopened' THEN NULL ELSE i.closed_at END,
            deadline = CASE WHEN a.next = 'reopened'
                            THEN now() + make_interval(hours => c.time_limit_hours)
                            ELSE i.deadline END,
            rating = CASE WHEN a.next = 'evaluated' THEN a.rating ELSE i.rating END,
            duplicate_of = CASE WHEN a.next = 'duplicate' THEN a.dup
                                WHEN a.next = 'reopened' THEN NULL ELSE i.duplicate_of END,
            -- a dispatch names the assignee; back to the register (misrouted) names nobody
            assignee_id = CASE WHEN a.next = 'dispatched' THEN a.assignee_id
                               WHEN a.next = 'registered' THEN NULL ELSE i.assignee_id END,
            assignee_unit_id = CASE WHEN a.next = 'dispatched' THEN a.unit_id
                                    WHEN a.next = 'registered' THEN NULL
                                    ELSE i.assignee_unit_id END
        FROM incident_categories c, old, a
        WHERE i.id = old.id AND c.id = i.category_id AND i.version = :version
          AND i.state = ANY(:froms)
          AND (a.next <> 'duplicate' OR a.dup IS NOT NULL)
          AND (a.next <> 'dispatched' OR (a.assignee_id IS NULL) <> (a.unit_id IS NULL))
          AND NOT EXISTS ({DUTY_BROKEN.format(incident="i.id", step="a.next")})
          AND (cardinality(CAST(:photos AS int[])) = 0
               OR (SELECT count(*) FROM incident_photos ph
                   WHERE ph.incident_id = i.id AND ph.id = ANY(CAST(:photos AS int[])))
                  = cardinality(CAST(:photos AS int[])))
        RETURNING i.id, old.state AS from_state, i.state, i.version, i.deadline, i.closed_at,
                  i.step_deadline, i.assignee_id, i.assignee_unit_id),
    who AS (SELECT (SELECT name FROM users WHERE id = upd.assignee_id) AS assignee,
                   (SELECT name FROM units WHERE id = upd.assignee_unit_id) AS unit
            FROM upd),
    ev AS (
        INSERT INTO incident_events (incident_id, actor, from_state, to_state, note, photos,
                                     assignee)
        SELECT id, :actor, from_state, state, :note, to_jsonb(CAST(:photos AS int[])),
               CASE WHEN state = 'dispatched' THEN coalesce(who.assignee, who.unit) END
        FROM upd, who)
    SELECT upd.id, upd.from_state, upd.state, upd.version, upd.deadline, upd.closed_at,
           upd.step_deadline, who.assignee, who.unit FROM upd, who""")


def transition(conn: Connection, incident_id: int, to: str, actor: Account, *, version: int,
               note: str | None = None, photos: tuple[int, ...] = (),
               rating: int | None = None, duplicate_of: int | None = None,
               assignee: str | None = None, unit: str | None = None) -> dict:
    """Move an incident to ``to`` if that is legal from its state, ``version`` is current and
    the incident lies in the actor's grids; audited. A dispatch names whom: ``assignee`` (an
    account: a grid head or worker of the incident's grid) or ``unit`` (a unit's code; one
    serving the grid), exactly one of them. Each step's deadline is set by the database
    (``step_limits``).

    Raises InvalidInput, NotFound, Forbidden, IllegalTransition, StaleVersion (the last two are
    conflicts: 409).
    """
    grids = write_grids(actor)
    if to not in STATE_LABELS:
        raise InvalidInput("to: unknown state %(to)r; states: %(states)s", "unknown_state",
                           to=to, states=", ".join(STATE_LABELS))
    if isinstance(version, bool) or not isinstance(version, int) or not 0 < version < 2**31:
        raise InvalidInput("version (the integer you last read) is required")
    note = _text(note, "note", MAX_NOTE)
    if to == "evaluated" and (isinstance(rating, bool) or not isinstance(rating, int)
                              or not 1 <= rating <= 5):
        raise InvalidInput("rating: an evaluation needs a rating from 1 to 5")
    duplicate_of = _id(duplicate_of, "duplicate_of")
    if to == "duplicate" and duplicate_of is None:
        raise InvalidInput("duplicate_of: marking a duplicate needs the original's id")
    if to == "duplicate" and duplicate_of == incident_id:
        raise InvalidInput("duplicate_of: an incident cannot duplicate itself")
    if not all(isinstance(p, int) and not isinstance(p, bool) and 0 < p < 2**31
               for p in photos):
        raise InvalidInput("photos must be a list of photo ids")
    assignee = _text(assignee, "assignee", 40)
    unit = _text(unit, "unit", 40)
    if to == "dispatched" and (assignee is None) == (unit is None):
        raise InvalidInput("a dispatch names whom: an account (assignee) or a unit (unit), "
                           "one of them", "assignee_required")
    if to != "dispatched" and (assignee or unit):
        raise InvalidInput("assignee and unit go with a dispatch only")
    froms = [s for s in STATE_LABELS if to in allowed(s)]
    row = conn.execute(TRANSITION_SQL, dict(
        id=incident_id, to=to, version=version, froms=froms, grids=grids,
        rating=rating if to == "evaluated" else None, duplicate_of=duplicate_of,
        actor=actor.name, note=note, photos=list(photos), assignee=assignee,
        unit=unit)).mappings().one_or_none()
    if row is None:
        _explain_transition(conn, incident_id, to, version, grids, duplicate_of, photos,
                            assignee, unit, actor.name)
    audit(conn, actor.name, "incident.transition", str(incident_id),
          **{"from": row["from_state"], "to": row["state"]},
          **({"assignee": row["assignee"] or row["unit"]} if to == "dispatched" else {}))
    return plain(row)


def _explain_transition(conn, incident_id, to, version, grids, duplicate_of, photos,
                        assignee=None, unit=None, actor=None):
    refuse_missing(conn, incident_id, grids)
    state, current = conn.execute(text("SELECT state, version FROM incidents WHERE id = :id"),
                                  {"id": incident_id}).one()
    if current != version:
        raise StaleVersion(version, current, state)
    if to not in allowed(state):
        raise IllegalTransition(state, to)
    broken = conn.execute(text(DUTY_BROKEN.format(incident=":id", step="CAST(:to AS text)")),
                          {"id": incident_id, "to": to, "actor": actor}).one_or_none()
    if broken is not None:
        raise DutySeparated(broken.step, broken.not_by, incident_id, actor)
    if to == "duplicate":
        refuse_missing(conn, duplicate_of, grids)
    if to == "dispatched":
        grid = conn.execute(text("SELECT g.code FROM incidents i JOIN grids g ON "
                                 "g.id = i.grid_id WHERE i.id = :id"), {"id": incident_id}).scalar()
        if assignee is not None:
            raise InvalidInput("assignee: %(name)s is not an active grid head or worker of grid "
                               "%(grid)s", "not_assignable", name=assignee, grid=grid)
        raise InvalidInput("unit: no unit %(unit)r serves grid %(grid)s", "not_assignable",
                           unit=unit, grid=grid)
    if photos:
        raise InvalidInput("photos must be ids of photos uploaded to this incident")
    raise InvalidInput("the change could not be made")


def _check_mediation(fields: dict) -> dict:
    unknown = set(fields) - set(MEDIATION_FIELDS)
    if unknown:
        raise InvalidInput("unknown field(s) %(unknown)s; fields: %(fields)s",
                           unknown=", ".join(sorted(unknown)), fields=", ".join(MEDIATION_FIELDS))
    out = {}
    for key, value in fields.items():
        if key in MEDIATION_TEXT:
            out[key] = _text(value, key, 2000)
        elif key == "parties":
            if value is not None and not (isinstance(value, list) and all(
                    isinstance(v, str) and len(v) <= 200 for v in value)):
                raise InvalidInput("parties must be a list of names (texts)")
            out[key] = json.dumps(value or [], ensure_ascii=False)
        elif key == "sessions":
            if value is not None and not (isinstance(value, list) and all(
                    isinstance(v, dict) for v in value)):
                raise InvalidInput("sessions must be a list of objects")
            out[key] = json.dumps(value or [], ensure_ascii=False)
        elif key == "agreement":
            if value is not None and not isinstance(value, bool):
                raise InvalidInput("agreement must be true, false or null")
            out[key] = value
    return out


def save_mediation(conn: Connection, incident_id: int, fields: dict, actor: Account) -> None:
    """Create or update the mediation record of a dispute in the actor's grids, noting it in
    the history; audited."""
    grids = write_grids(actor)
    values = _check_mediation(fields)
    cols = list(values)
    exprs = ", ".join(f"CAST(:{c} AS jsonb)" if c in ("parties", "sessions") else f":{c}"
                      for c in cols)
    updates = "".join(f"{c} = EXCLUDED.{c}, " for c in cols)
    row = conn.execute(text(f"""
        WITH target AS (
            SELECT i.id, i.state, c.service_code FROM incidents i
            JOIN incident_categories c ON c.id = i.category_id JOIN grids g ON g.id = i.grid_id
            WHERE i.id = :id AND {IN_SCOPE.format(g="g")}),
        saved AS (
            INSERT INTO mediations (incident_id{''.join(', ' + c for c in cols)}, updated_at)
            SELECT id{', ' + exprs if cols else ''}, now() FROM target
            WHERE service_code = 'dispute'
            ON CONFLICT (incident_id) DO UPDATE SET {updates} updated_at = now()
            RETURNING incident_id),
        ev AS (
            INSERT INTO incident_events (incident_id, actor, from_state, to_state, note)
            SELECT t.id, :actor, t.state, t.state, '更新一站式调解记录'
            FROM target t JOIN saved s ON s.incident_id = t.id)
        SELECT (SELECT service_code FROM target) AS kind,
               (SELECT incident_id FROM saved) AS saved"""),
        {"id": incident_id, "grids": grids, "actor": actor.name, **values}).one()
    if row.kind is None:
        refuse_missing(conn, incident_id, grids)
    if row.saved is None:
        raise InvalidInput("only disputes carry a mediation record")
    audit(conn, actor.name, "incident.mediation", str(incident_id))


def audit_refusal(engine, refused: DutySeparated) -> None:
    """Write a refused step to the audit log, in a transaction of its own (the step's own was
    rolled back with the refusal)."""
    with engine.begin() as conn:
        audit(conn, refused.actor, "incident.refused", str(refused.incident_id),
              step=refused.step, not_by=refused.not_by)


def duty_rules(conn: Connection) -> dict[str, str]:
    """The separation-of-duties rules: step → the earlier state whose actor may not take it."""
    return dict(conn.execute(text("SELECT step, not_by FROM duty_rules ORDER BY step")).all())


def set_duty_rule(conn: Connection, step: str, not_by: str | None, actor: str = "cli") -> None:
    """Require that ``step`` be taken by someone other than whoever moved the case into
    ``not_by``; ``not_by`` None drops the rule of ``step``. Audited."""
    if step not in STATE_LABELS or (not_by is not None and not_by not in STATE_LABELS):
        raise InvalidInput("states: %(states)s", states=", ".join(STATE_LABELS))
    if not_by == step:
        raise InvalidInput("a step cannot be kept apart from itself")
    if not_by is None:
        conn.execute(text("DELETE FROM duty_rules WHERE step = :s"), {"s": step})
    else:
        conn.execute(text("INSERT INTO duty_rules (step, not_by) VALUES (:s, :n) "
                          "ON CONFLICT (step) DO UPDATE SET not_by = EXCLUDED.not_by"),
                     {"s": step, "n": not_by})
    audit(conn, actor, "duty_rule", step, not_by=not_by)
