"""The party network down to every household: general branch → compound branches → building
groups → party members → the households each keeps in touch with (党员联系户).

Organisations carry no place; a member belongs where the households they contact are (the grid
most of them lie in), and an organisation is shown to a reader when one of its members' grids
lies in what the reader reads. Members' names and phones follow the personal-data rule of
``privacy.sees_personal``: admins and the member's grid's own staff.
"""
from __future__ import annotations

from sqlalchemy import Connection, text

from . import privacy
from .accounts import Account
from .scope import IN_AREAS, read_areas
from .workflow import NotFound

MEMBERS_SQL = f"""
    WITH m AS (
        SELECT pm.id, pm.code, pm.name, pm.phone, pm.group_id, count(h.id) AS households,
               mode() WITHIN GROUP (ORDER BY g.code) AS grid_code
        FROM party_members pm
        LEFT JOIN households h ON h.contact_member_id = pm.id
        LEFT JOIN grids g ON g.id = h.grid_id
        GROUP BY pm.id)
    SELECT m.* FROM m LEFT JOIN grids g ON g.code = m.grid_code
    WHERE m.grid_code IS NULL AND CAST(:areas AS text[]) IS NULL
       OR m.grid_code IS NOT NULL AND {IN_AREAS.format(g="g")}
    ORDER BY m.code"""


def tree(conn: Connection, viewer: Account, areas: list[str] | None) -> dict:
    """The organisation tree within ``areas`` (``scope.within``), each member with their
    household count (names and phones only where the viewer may see personal data), and the
    share of households with a contact member per grid and per compound."""
    params = {"areas": areas}
    members = conn.execute(text(MEMBERS_SQL), params).mappings().all()
    orgs = conn.execute(text("""
        SELECT o.id, o.code, o.name, o.level, o.parent_id FROM party_organizations o
        ORDER BY o.code""")).mappings().all()
    nodes = {o["id"]: {"code": o["code"], "name": o["name"], "level": o["level"],
                       "children": [], "members": [], "households": 0} for o in orgs}
    parents = {o["id"]: o["parent_id"] for o in orgs}
    shown = set()
    for m in members:
        personal = privacy.sees_personal(viewer, m["grid_code"])
        node = nodes.get(m["group_id"])
        if node is None:
            continue
        node["members"].append({
            "code": m["code"], "grid_code": m["grid_code"], "households": m["households"],
            "name": m["name"] if personal else None, "phone": m["phone"] if personal else None})
        org = m["group_id"]
        while org is not None:                   # the member's organisations, up to the root
            nodes[org]["households"] += m["households"]
            shown.add(org)
            org = parents[org]
    roots = []
    for o in orgs:                               # codes sort parents before children
        if o["id"] not in shown:
            continue
        if o["parent_id"] is None:
            roots.append(nodes[o["id"]])
        else:
            nodes[o["parent_id"]]["children"].append(nodes[o["id"]])
    return {"organisations": roots, "coverage": contact_shares(conn, areas)}


def contact_shares(conn: Connection, areas: list[str] | None) -> dict:
    """Households with and without a contact party member, per grid and per compound."""
    params = {"areas": areas}
    grids = conn.execute(text(f"""
        SELECT g.code, g.name, count(h.id) AS households,
               count(h.contact_member_id) AS with_contact
        FROM grids g LEFT JOIN households h ON h.grid_id = g.id
        WHERE {IN_AREAS.format(g="g")} GROUP BY g.code, g.name ORDER BY g.code"""),
        params).mappings().all()
    compounds = conn.execute(text(f"""
        SELECT c.code, c.name, count(h.id) AS households,
               count(h.contact_member_id) AS with_contact
        FROM households h JOIN grids g ON g.id = h.grid_id
        JOIN buildings b ON b.id = h.building_id JOIN compounds c ON c.id = b.compound_id
        WHERE {IN_AREAS.format(g="g")} GROUP BY c.code, c.name ORDER BY c.code"""),
        params).mappings().all()

    def share(rows):
        return [dict(r) | {"without_contact": r["households"] - r["with_contact"],
                           "share_without": (r["households"] - r["with_contact"])
                           / r["households"] if r["households"] else None} for r in rows]
    return {"grids": share(grids), "compounds": share(compounds)}


def member_households(conn: Connection, viewer: Account, code: str) -> dict:
    """Where a member's contact households are: per building (name, centre, how many: no one
    is named, for every account that reads the member's grid), and one by one with their
    doors for a viewer who may see households there (``privacy.household_grids``; empty for
    planners). NotFound when none of them lies in what the viewer reads."""
    member = conn.execute(text("SELECT id FROM party_members WHERE code = :c"),
                          {"c": code}).scalar_one_or_none()
    if member is None:
        raise NotFound("no party member %(code)r", code=code)
    areas = read_areas(viewer)
    buildings = conn.execute(text(f"""
        SELECT b.code, b.name, count(*) AS households,
               ST_X(ST_PointOnSurface(b.geom)) AS lon, ST_Y(ST_PointOnSurface(b.geom)) AS lat
        FROM households h JOIN grids g ON g.id = h.grid_id
        JOIN buildings b ON b.id = h.building_id
        WHERE h.contact_member_id = :m AND {IN_AREAS.format(g="g")}
        GROUP BY b.id ORDER BY b.code"""), {"m": member, "areas": areas}).mappings().all()
    if not buildings:
        raise NotFound("no party member %(code)r", code=code)
    shown = privacy.household_grids(viewer)
    rows = [] if shown == () else conn.execute(text("""
        SELECT h.code, b.name AS building, h.unit_room, h.elderly_alone, h.low_income,
               g.code AS grid_code, ST_X(h.geom) AS lon, ST_Y(h.geom) AS lat
        FROM households h JOIN grids g ON g.id = h.grid_id
        JOIN buildings b ON b.id = h.building_id
        WHERE h.contact_member_id = :m
          AND (CAST(:shown AS text[]) IS NULL
               OR EXISTS (SELECT 1 FROM unnest(CAST(:shown AS text[])) p
                          WHERE starts_with(g.code, p)))
        ORDER BY h.code"""), {"m": member, "shown": None if shown is None else list(shown)}
    ).mappings().all()
    return {"member": code, "buildings": [dict(b) for b in buildings],
            "households": [dict(r) for r in rows]}


def branch_areas(conn: Connection, areas: list[str] | None) -> list[dict]:
    """Where each compound branch works: the hull of the buildings its members' contact
    households live in (WGS 84 GeoJSON geometry), with how many members and households;
    figures only, for every reader of the tree."""
    rows = conn.execute(text(f"""
        WITH RECURSIVE up AS (          -- each organisation with its compound branch above it
            SELECT id, id AS branch FROM party_organizations WHERE level = 'compound_branch'
            UNION ALL
            SELECT o.id, up.branch FROM party_organizations o JOIN up ON o.parent_id = up.id)
        SELECT br.code, br.name, count(DISTINCT pm.id) AS members, count(h.id) AS households,
               ST_AsGeoJSON(ST_Buffer(ST_ConvexHull(ST_Collect(b.geom))::geography, 8)::geometry,
                            6) AS geometry
        FROM up JOIN party_organizations br ON br.id = up.branch
        JOIN party_members pm ON pm.group_id = up.id
        JOIN households h ON h.contact_member_id = pm.id
        JOIN grids g ON g.id = h.grid_id JOIN buildings b ON b.id = h.building_id
        WHERE {IN_AREAS.format(g="g")}
        GROUP BY br.code, br.name ORDER BY br.code"""), {"areas": areas}).mappings().all()
    return [dict(r) for r in rows]
