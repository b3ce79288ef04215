"""Workload and balance: per grid and per grid worker, what a grid head weighs to see an
overloaded grid (the norm is 300–500 households per grid): households, residents, flagged
households, open and overdue incidents, visits due, and this week's patrols."""
from __future__ import annotations

from sqlalchemy import Connection, text

from . import derived, patrols, visits
from .accounts import GRID_ROLES, Account
from .scope import IN_SCOPE
from .workflow import OPEN_STATES, Forbidden

NORM = (300, 500)          # households per grid


def workload(conn: Connection, viewer: Account) -> dict:
    """Per grid and per worker in the grids ``viewer`` heads or administers."""
    if viewer.role not in ("admin", "grid_head"):
        raise Forbidden("the workload is for grid heads and administrators", "heads_only")
    grids = viewer.write_grids()
    prefixes = None if grids is None else list(grids)
    derived.ensure(conn, derived.GRID_STATS)
    start, end = patrols.week_of(None)
    params = {"grids": prefixes, "open": list(OPEN_STATES), "start": start, "end": end}
    per_grid = [dict(r) for r in conn.execute(text(f"""
        SELECT g.code, g.name, coalesce(s.households, 0) AS households,
               coalesce(s.residents, 0) AS residents,
               coalesce(s.elderly_alone, 0) AS elderly_alone,
               coalesce(s.with_minors, 0) AS with_minors,
               coalesce(s.low_income, 0) AS low_income,
               (SELECT count(*) FROM incidents i WHERE i.grid_id = g.id
                AND i.state = ANY(:open)) AS open,
               (SELECT count(*) FROM incidents i WHERE i.grid_id = g.id
                AND i.state = ANY(:open) AND i.step_deadline < now()) AS overdue,
               (SELECT count(*) FROM grid_staff gs WHERE gs.grid_id = g.id) AS staff
        FROM grids g LEFT JOIN grid_stats s ON s.grid_id = g.id
        WHERE {IN_SCOPE.format(g='g')} ORDER BY g.code"""), params).mappings()]
    due = visits.due_per_grid(conn, prefixes)
    walked = {g["code"]: g for g in patrols.weekly_in(conn, prefixes)}
    for g in per_grid:
        g["visits_due"] = due.get(g["code"], 0)
        week = walked.get(g["code"], {})
        g["patrol_km"] = week.get("distance_km", 0.0)
        g["patrol_share"] = week.get("share")
        g["norm"] = ("over" if g["households"] > NORM[1] else
                     "under" if g["households"] < NORM[0] else "within")
    per_worker = [dict(r) for r in conn.execute(text(f"""
        SELECT u.name, u.role, u.grid_codes,
               (SELECT count(*) FROM incidents i WHERE i.assignee_id = u.id
                AND i.state = ANY(:open)) AS open,
               (SELECT count(*) FROM incidents i WHERE i.assignee_id = u.id
                AND i.state = ANY(:open) AND i.step_deadline < now()) AS overdue,
               (SELECT count(*) FROM visits v WHERE v.visitor = u.name
                AND v.visited_at >= :start AND v.visited_at < :end) AS visits_week,
               (SELECT coalesce(sum(p.distance_m), 0) / 1000 FROM patrols p
                WHERE p.worker = u.name AND p.started_at >= :start
                  AND p.started_at < :end) AS patrol_km_week
        FROM users u
        WHERE u.active AND u.role = ANY(:roles)
          AND EXISTS (SELECT 1 FROM unnest(u.grid_codes) c, grids g
                      WHERE g.code = c AND {IN_SCOPE.format(g='g')})
        ORDER BY u.name"""), params | {"roles": list(GRID_ROLES)}).mappings()]
    return {"norm": list(NORM), "week_start": start.isoformat(), "grids": per_grid,
            "workers": per_worker}
