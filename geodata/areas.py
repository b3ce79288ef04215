"""The administrative hierarchy — district (6 digits) → subdistrict (9) → community (12) → grid
(15) — read from the codes themselves: every grid code begins with its community's, every
community code with its subdistrict's. Figures at any level are sums of the derived per-grid
figures (``geodata.derived.GRID_STATS``) and of the incidents, grouped by code prefix in SQL.
"""
from __future__ import annotations

import re

from sqlalchemy import Connection, text

from . import derived
from .scope import IN_AREAS
from .workflow import OPEN_STATES, InvalidInput, NotFound

LEVELS = {6: "district", 9: "subdistrict", 12: "community", 15: "grid"}
LEVEL_NAMES = {"district": "区县", "subdistrict": "街道", "community": "社区", "grid": "网格"}
CHILD_LENGTH = {0: 6, 6: 9, 9: 12, 12: 15, 15: 15}   # a grid: its own row, no children

# the name of an area of any level, from the table that holds it
NAME_OF = """
    SELECT code, name FROM admin_areas WHERE code = ANY(:codes)
    UNION ALL SELECT code, name FROM community WHERE code = ANY(:codes)
    UNION ALL SELECT code, name FROM grids WHERE code = ANY(:codes)"""


def check_code(code: str) -> str:
    """The level of an area code; InvalidInput when it has no level's length."""
    if not re.fullmatch(r"[0-9]+", code or "") or len(code) not in LEVELS:
        raise InvalidInput("area code: 6 (district), 9 (subdistrict), 12 (community) or 15 "
                           "(grid) digits")
    return LEVELS[len(code)]


def figures(conn: Connection, code: str | None, areas: list[str] | None) -> dict:
    """An area's figures (None: everything in the database) and its children's one level
    down: grids, households, residents, flagged households, road km, open and overdue
    incidents; only the grids in ``areas`` (the reader's, ``scope.read_areas``; None: all).
    NotFound when no such grid lies in the area."""
    level = check_code(code) if code else None
    derived.ensure(conn, derived.GRID_STATS)
    length = CHILD_LENGTH[len(code or "")]
    rows = conn.execute(text(f"""
        WITH g AS (SELECT id, code, left(code, :n) AS child FROM grids g
                   WHERE starts_with(code, :prefix) AND {IN_AREAS.format(g="g")}),
             inc AS (SELECT g.child, count(*) FILTER (WHERE i.state = ANY(:open)) AS open,
                            count(*) FILTER (WHERE i.state = ANY(:open) AND i.deadline < now())
                              AS overdue
                     FROM incidents i JOIN g ON g.id = i.grid_id GROUP BY g.child),
             roads AS (SELECT g.child, sum(value::float8) AS road_m
                       FROM g JOIN grid_stats st ON st.grid_id = g.id,
                            jsonb_each_text(st.road_m_by_class) GROUP BY g.child)
        SELECT g.child AS code, count(*) AS grids,
               coalesce(sum(st.households), 0) AS households,
               coalesce(sum(st.residents), 0) AS residents,
               coalesce(sum(st.elderly_alone), 0) AS elderly_alone,
               coalesce(sum(st.with_minors), 0) AS with_minors,
               coalesce(sum(st.low_income), 0) AS low_income,
               round((coalesce(max(r.road_m), 0) / 1000)::numeric, 3) AS road_km,
               coalesce(max(inc.open), 0) AS open_incidents,
               coalesce(max(inc.overdue), 0) AS overdue_incidents
        FROM g LEFT JOIN grid_stats st ON st.grid_id = g.id
        LEFT JOIN inc ON inc.child = g.child LEFT JOIN roads r ON r.child = g.child
        GROUP BY g.child ORDER BY g.child"""),
        {"n": length, "prefix": code or "", "open": list(OPEN_STATES),
         "areas": areas}).mappings().all()
    if code and not rows:
        raise NotFound("no grid lies in area %(code)s", code=code)
    codes = [r["code"] for r in rows] + ([code] if code else [])
    named = names(conn, codes)
    children = [{"code": r["code"], "level": LEVELS[length], "name": named.get(r["code"]),
                 **{k: (float(v) if k == "road_km" else int(v)) for k, v in r.items()
                    if k != "code"}} for r in rows]
    sums = {k: sum(c[k] for c in children) for k in children[0] if k not in
            ("code", "level", "name")} if children else {}
    if "road_km" in sums:
        sums["road_km"] = round(sums["road_km"], 3)
    return {"code": code, "level": level, "name": named.get(code) if code else None,
            "totals": sums, "children": [] if level == "grid" else children}


def default_area(conn: Connection, areas: list[str] | None) -> str | None:
    """The narrowest district, subdistrict or community holding every grid in ``areas`` (the
    page a reader lands on: the sample's community, a subdistrict officer's subdistrict);
    None when the grids span several districts or there are none."""
    low, high = conn.execute(text(f"SELECT min(code), max(code) FROM grids g "
                                  f"WHERE {IN_AREAS.format(g='g')}"), {"areas": areas}).one()
    if low is None:
        return None
    common = len(low)
    while low[:common] != high[:common]:
        common -= 1
    return next((low[:n] for n in (12, 9, 6) if n <= common), None)


def names(conn: Connection, codes: list[str]) -> dict[str, str]:
    """The names of areas of any level, by code."""
    return dict(conn.execute(text(NAME_OF), {"codes": list(codes)}).all())


def parents(code: str | None) -> list[str]:
    """The codes above an area, widest first."""
    return [code[:n] for n in (6, 9, 12) if code and n < len(code)]


__all__ = ["figures", "default_area", "parents", "check_code", "LEVELS", "LEVEL_NAMES"]
