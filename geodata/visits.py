"""Home visits (走访): recording them, reading them back, and the households due one.

A household is due a visit when it carries a flag of ``visit_rules`` (elderly living alone,
low income, minors) and nobody has visited it within that rule's days (or ever). Visits are
recorded by grid staff in their own grids and admins in their areas (``scope.IN_SCOPE``); they are
personal, so they are read by those who see households one by one (``privacy.household_grids``).
A visit's follow-up can become an incident at the household's door in the same step.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection, text

from . import incidents, privacy
from .accounts import Account, audit
from .db import plain
from .scope import IN_SCOPE
from .workflow import Forbidden, InvalidInput

KINDS = ("home", "phone", "other")
MAX_NOTES = 4000
# which household column each rule's flag reads
FLAG_SQL = {"elderly_alone": "h.elderly_alone", "low_income": "h.low_income",
            "with_minors": "h.minors > 0"}


def _shown(viewer: Account) -> list[str] | None:
    shown = privacy.household_grids(viewer)
    if shown == ():
        raise Forbidden("households are shown one by one to grid staff and administrators",
                        "households_hidden")
    return None if shown is None else list(shown)


SHOWN = ("(CAST(:shown AS text[]) IS NULL OR EXISTS (SELECT 1 FROM "
         "unnest(CAST(:shown AS text[])) p WHERE starts_with(g.code, p)))")


def record(conn: Connection, actor: Account, household_code: str, visited_at: datetime,
           kind: str = "home", notes: str | None = None, follow_up: bool = False,
           incident: dict | None = None) -> dict:
    """Store a visit by ``actor`` to a household of their grids; audited. ``incident``
    (``{"category", "description"}``) turns the follow-up into an incident at the door."""
    grids = actor.write_grids()
    if kind not in KINDS:
        raise InvalidInput("kind must be one of: %(kinds)s", kinds=", ".join(KINDS))
    if notes is not None and len(notes) > MAX_NOTES:
        raise InvalidInput("%(name)s is longer than %(limit)s characters", "too_long",
                           name="notes", limit=MAX_NOTES)
    if visited_at.tzinfo is None:
        raise InvalidInput("visited_at needs its time zone (e.g. 2026-11-26T09:30:00+08:00)")
    if visited_at > datetime.now(timezone.utc) + timedelta(minutes=5):
        raise InvalidInput("visited_at lies in the future", "future_visit")
    row = conn.execute(text(f"""
        INSERT INTO visits (household_id, visited_at, kind, notes, follow_up, visitor)
        SELECT h.id, :at, :kind, :notes, :follow_up, :visitor
        FROM households h JOIN grids g ON g.id = h.grid_id
        WHERE h.code = :code AND {IN_SCOPE.format(g="g")}
        RETURNING id, household_id"""), dict(
        at=visited_at, kind=kind, notes=notes, follow_up=follow_up or incident is not None,
        visitor=actor.name, code=household_code,
        grids=None if grids is None else list(grids))).mappings().one_or_none()
    if row is None:
        grid = conn.execute(text("SELECT g.code FROM households h JOIN grids g ON "
                                 "g.id = h.grid_id WHERE h.code = :c"),
                            {"c": household_code}).scalar_one_or_none()
        if grid is None:
            raise InvalidInput("household_code: there is no household %(code)r",
                               "unknown_household", code=household_code)
        raise Forbidden("household %(code)s lies outside your grid(s)",
                        "outside_your_grids", code=household_code)
    made = None
    if incident is not None:
        door = conn.execute(text("SELECT ST_X(geom), ST_Y(geom) FROM households "
                                 "WHERE id = :h"), {"h": row["household_id"]}).one()
        made = incidents.place(conn, incidents.NewIncident(
            lon=door[0], lat=door[1], category=incident.get("category"),
            description=incident.get("description"), household_code=household_code,
            source="visit"), actor)
        conn.execute(text("UPDATE visits SET incident_id = :i WHERE id = :v"),
                     {"i": made["id"], "v": row["id"]})
    audit(conn, actor.name, "visit.create", household_code, kind=kind,
          **({"incident": made["id"]} if made else {}))
    return get(conn, actor, row["id"])


def get(conn: Connection, viewer: Account, visit_id: int) -> dict:
    found = conn.execute(text(f"""
        SELECT v.id, h.code AS household_code, g.code AS grid_code, v.visited_at, v.kind,
               v.notes, v.follow_up, v.visitor, v.incident_id, v.created_at
        FROM visits v JOIN households h ON h.id = v.household_id
        JOIN grids g ON g.id = h.grid_id
        WHERE v.id = :id AND {SHOWN}"""),
        {"id": visit_id, "shown": _shown(viewer)}).mappings().one()
    return plain(found)


def search(conn: Connection, viewer: Account, *, household: str | None = None,
           grid: str | None = None, since: datetime | None = None, limit: int = 50,
           offset: int = 0) -> dict:
    """Visits, newest first, one page, within the households the viewer may see."""
    params = dict(shown=_shown(viewer), household=household, grid=grid, since=since,
                  limit=limit, offset=offset)
    where = f"""{SHOWN} AND (CAST(:household AS text) IS NULL OR h.code = :household)
        AND (CAST(:grid AS text) IS NULL OR g.code = :grid)
        AND (CAST(:since AS timestamptz) IS NULL OR v.visited_at >= :since)"""
    joins = ("FROM visits v JOIN households h ON h.id = v.household_id "
             "JOIN grids g ON g.id = h.grid_id")
    total = conn.execute(text(f"SELECT count(*) {joins} WHERE {where}"), params).scalar_one()
    rows = conn.execute(text(f"""
        SELECT v.id, h.code AS household_code, g.code AS grid_code, v.visited_at, v.kind,
               v.notes, v.follow_up, v.visitor, v.incident_id, v.created_at
        {joins} WHERE {where} ORDER BY v.visited_at DESC, v.id DESC
        LIMIT :limit OFFSET :offset"""), params).mappings()
    items = [plain(r) for r in rows]
    more = offset + len(items) < total
    return {"total": total, "items": items, "next_offset": offset + len(items) if more else None}


def _due_sql(rules) -> str:
    """Households due a visit (``d``: id, rules, due_since, last_visited_at) within the
    households ``:shown`` (code prefixes; NULL: all)."""
    # one row per household and rule it is due by
    per_rule = " UNION ALL ".join(
        f"SELECT h.id, '{r['flag']}' AS flag, {int(r['days'])} AS days FROM households h "
        f"JOIN grids g ON g.id = h.grid_id WHERE {FLAG_SQL[r['flag']]} AND {SHOWN}"
        for r in rules)
    return f"""
        WITH r AS ({per_rule}),
        last AS (SELECT h.id, max(v.visited_at) AS at FROM households h
                 JOIN visits v ON v.household_id = h.id
                 WHERE h.id IN (SELECT id FROM r) GROUP BY h.id),
        d AS (SELECT r.id, array_agg(r.flag ORDER BY r.flag) AS rules,
                     min(last.at + make_interval(days => r.days)) AS due_since,
                     max(last.at) AS last_visited_at
              FROM r LEFT JOIN last ON last.id = r.id
              WHERE last.at IS NULL OR last.at < now() - make_interval(days => r.days)
              GROUP BY r.id)"""


def rules_of(conn: Connection) -> list[dict]:
    return [dict(r) for r in conn.execute(text(
        "SELECT flag, days, label FROM visit_rules ORDER BY flag")).mappings()]


def due(conn: Connection, viewer: Account, *, limit: int = 50, offset: int = 0) -> dict:
    """Households of the viewer's grids due a visit by ``visit_rules``: never visited first,
    then the longest overdue; each with the rules it is due by and its last visit."""
    rules = rules_of(conn)
    if not rules:
        return {"total": 0, "items": [], "next_offset": None, "rules": []}
    params = dict(shown=_shown(viewer), limit=limit, offset=offset)
    base = _due_sql(rules) + f"""
        SELECT h.code AS household_code, b.name AS building, h.unit_room, g.code AS grid_code,
               d.rules, d.last_visited_at, d.due_since,
               CASE WHEN d.last_visited_at IS NULL THEN NULL
                    ELSE floor(extract(epoch FROM now() - d.last_visited_at) / 86400)::int
               END AS days_since, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat
        FROM d JOIN households h ON h.id = d.id JOIN grids g ON g.id = h.grid_id
        JOIN buildings b ON b.id = h.building_id
        WHERE {SHOWN}"""
    total = conn.execute(text(f"SELECT count(*) FROM ({base}) x"), params).scalar_one()
    rows = conn.execute(text(f"""{base}
        ORDER BY d.last_visited_at IS NOT NULL, d.due_since, h.code
        LIMIT :limit OFFSET :offset"""), params).mappings()
    items = [plain(r) for r in rows]
    more = offset + len(items) < total
    return {"total": total, "items": items, "next_offset": offset + len(items) if more else None,
            "rules": rules}


def due_per_grid(conn: Connection, grids: list[str] | None) -> dict[str, int]:
    """How many households are due a visit, per grid code, within ``grids`` (prefixes)."""
    rules = rules_of(conn)
    if not rules:
        return {}
    return dict(conn.execute(text(_due_sql(rules) + """
        SELECT g.code, count(*) FROM d JOIN households h ON h.id = d.id
        JOIN grids g ON g.id = h.grid_id GROUP BY g.code"""), {"shown": grids}).all())


def last_visits(conn: Connection, viewer: Account, grid: str) -> dict:
    """Every household of one grid with the days since its last visit (None: never), as a
    FeatureCollection, for a viewer who may see them one by one."""
    return conn.execute(text(f"""
        SELECT json_build_object('type', 'FeatureCollection', 'features',
            coalesce(json_agg(json_build_object('type', 'Feature',
                'geometry', ST_AsGeoJSON(h.geom, 7)::json,
                'properties', json_build_object('code', h.code,
                    'days', floor(extract(epoch FROM now() - v.at) / 86400)::int,
                    'flagged', h.elderly_alone OR h.low_income OR h.minors > 0))
                ORDER BY h.code), '[]'::json))
        FROM households h JOIN grids g ON g.id = h.grid_id
        LEFT JOIN LATERAL (SELECT max(visited_at) AS at FROM visits
                           WHERE household_id = h.id) v ON true
        WHERE g.code = :grid AND {SHOWN}"""),
        {"grid": grid, "shown": _shown(viewer)}).scalar_one()


def household_card(conn: Connection, viewer: Account, code: str) -> dict:
    """Everything a grid worker needs at a door, as ``viewer`` may see it: the address
    (building, unit, compound), the household's flags and residents, the party member who keeps
    in touch with it (name and phone only for the grid's own staff and admins), the rules it is
    due a visit by, its last visits and the open incidents at that door. NotFound for a
    household the viewer may not see one by one (as if it did not exist)."""
    from .incidents.reading import OPEN_ARRAY
    from .workflow import NotFound
    row = conn.execute(text(f"""
        SELECT h.id, h.code, h.unit_room, h.residents, h.minors, h.elderly_alone,
               h.party_member, h.low_income, g.code AS grid_code, g.name AS grid_name,
               b.code AS building_code, b.name AS building_name, c.name AS compound,
               m.name AS contact_name, m.phone AS contact_phone,
               ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat
        FROM households h JOIN grids g ON g.id = h.grid_id
        JOIN buildings b ON b.id = h.building_id
        LEFT JOIN compounds c ON c.id = b.compound_id
        LEFT JOIN party_members m ON m.id = h.contact_member_id
        WHERE h.code = :code AND {SHOWN}"""),
        {"code": code, "shown": _shown(viewer)}).mappings().one_or_none()
    if row is None:
        raise NotFound("no household %(code)s", code=code)
    card = plain(row)
    if not privacy.sees_personal(viewer, card["grid_code"]):
        card["contact_name"] = card["contact_phone"] = None
    flags = {"elderly_alone": card["elderly_alone"], "low_income": card["low_income"],
             "with_minors": card["minors"] > 0}
    card["due"] = [dict(r) | {"due": r["days"]} for r in rules_of(conn) if flags.get(r["flag"])]
    card["visits"] = search(conn, viewer, household=code, limit=5)["items"]
    card["incidents"] = [plain(r) for r in conn.execute(text(f"""
        SELECT i.id, i.state, c.name AS category, i.description, i.created_at
        FROM incidents i JOIN incident_categories c ON c.id = i.category_id
        WHERE i.household_id = :h AND i.state = ANY({OPEN_ARRAY})
        ORDER BY i.created_at DESC LIMIT 20"""), {"h": card.pop("id")}).mappings()]
    return card
