"""What waits on someone: task lists, whom an incident can be dispatched to, and each grid's
workload.

A task is an open incident in the grids an account acts in (``Account.write_grids``: a grid
worker's or head's grids, an admin's areas). "Mine" narrows it to what is dispatched to the
account itself. Lists run by the current step's deadline, so what is overdue comes first.
"""
from __future__ import annotations

from sqlalchemy import Connection, text

from .. import derived
from ..accounts import Account
from ..db import plain
from ..scope import IN_SCOPE, refuse_missing
from ..workflow import OPEN_STATES, Forbidden
from .reading import INCIDENT_COLUMNS, INCIDENT_JOINS, OPEN_ARRAY, STEP_COLUMNS, STEP_JOINS
from .writing import ASSIGNABLE_ACCOUNT, ASSIGNABLE_UNIT

MAX_TASKS_PAGE = 100


def tasks(conn: Connection, viewer: Account, *, mine: bool = False, limit: int = 50,
          offset: int = 0) -> dict:
    """One page of open incidents waiting on ``viewer`` (``mine``) or on their grids, overdue
    steps first, then by step deadline; with the totals. Planners have no tasks (Forbidden)."""
    grids = viewer.write_grids()
    where = f"i.state = ANY({OPEN_ARRAY}) AND {IN_SCOPE.format(g='g')}"
    if mine:
        where += " AND i.assignee_id = :me"
    params = dict(grids=None if grids is None else list(grids), me=viewer.id,
                  limit=limit, offset=offset)
    totals = conn.execute(text(f"""
        SELECT count(*) AS total, count(*) FILTER (WHERE i.step_deadline < now()) AS overdue
        FROM incidents i {INCIDENT_JOINS} WHERE {where}"""), params).mappings().one()
    rows = conn.execute(text(f"""
        SELECT {INCIDENT_COLUMNS}, {STEP_COLUMNS}
        FROM incidents i {INCIDENT_JOINS} {STEP_JOINS}
        WHERE {where}
        ORDER BY i.step_deadline NULLS LAST, i.id
        LIMIT :limit OFFSET :offset"""), params).mappings()
    items = [plain(r) for r in rows]
    more = offset + len(items) < totals["total"]
    return {"total": totals["total"], "overdue": totals["overdue"], "items": items,
            "next_offset": offset + len(items) if more else None}


def assignees(conn: Connection, viewer: Account, incident_id: int) -> dict:
    """Whom ``viewer`` may dispatch an incident to: the active heads and workers of its grid,
    and the units serving it (the rule the dispatch itself checks). NotFound, or Forbidden
    outside the viewer's grids."""
    grids = viewer.write_grids()
    refuse_missing(conn, incident_id, None if grids is None else list(grids))
    params = {"grid": conn.execute(text(
        "SELECT g.code FROM incidents i JOIN grids g ON g.id = i.grid_id WHERE i.id = :id"),
        {"id": incident_id}).scalar_one()}
    accounts = conn.execute(text(f"""
        SELECT u.name, u.role FROM users u, (SELECT CAST(:grid AS text) AS grid_code) old
        WHERE {ASSIGNABLE_ACCOUNT} ORDER BY u.role, u.name"""), params).mappings()
    units = conn.execute(text(f"""
        SELECT n.code, n.name, n.kind, n.contact, n.phone
        FROM units n, (SELECT CAST(:grid AS text) AS grid_code) old
        WHERE {ASSIGNABLE_UNIT} ORDER BY n.kind, n.name"""), params).mappings()
    return {"accounts": [dict(a) for a in accounts], "units": [dict(u) for u in units]}


def workload(conn: Connection, viewer: Account) -> dict:
    """Open and overdue incidents per grid and per assignee (an account or a unit) in the
    grids ``viewer`` heads or administers, with households per grid for the norm of 300–500
    per grid. Grid workers and planners: Forbidden."""
    if viewer.role not in ("admin", "grid_head"):
        raise Forbidden("the workload is for grid heads and administrators", "heads_only")
    grids = viewer.write_grids()
    params = {"grids": None if grids is None else list(grids), "open": list(OPEN_STATES)}
    derived.ensure(conn, derived.GRID_STATS)
    per_grid = conn.execute(text(f"""
        SELECT g.code, g.name, coalesce(s.households, 0) AS households,
               count(i.id) AS open,
               count(i.id) FILTER (WHERE i.step_deadline < now()) AS overdue,
               count(i.id) FILTER (WHERE i.assignee_id IS NULL
                                   AND i.assignee_unit_id IS NULL) AS not_dispatched
        FROM grids g
        LEFT JOIN grid_stats s ON s.grid_id = g.id
        LEFT JOIN incidents i ON i.grid_id = g.id AND i.state = ANY(:open)
        WHERE {IN_SCOPE.format(g='g')}
        GROUP BY g.code, g.name, s.households ORDER BY g.code"""), params).mappings()
    per_assignee = conn.execute(text(f"""
        SELECT coalesce(u.name, n.name) AS assignee,
               CASE WHEN u.id IS NOT NULL THEN 'account' ELSE 'unit' END AS kind,
               count(*) AS open,
               count(*) FILTER (WHERE i.step_deadline < now()) AS overdue
        FROM incidents i JOIN grids g ON g.id = i.grid_id
        LEFT JOIN users u ON u.id = i.assignee_id
        LEFT JOIN units n ON n.id = i.assignee_unit_id
        WHERE i.state = ANY(:open) AND {IN_SCOPE.format(g='g')}
          AND (u.id IS NOT NULL OR n.id IS NOT NULL)
        GROUP BY 1, 2 ORDER BY overdue DESC, open DESC, assignee"""), params).mappings()
    return {"grids": [dict(r) for r in per_grid], "assignees": [dict(r) for r in per_assignee]}
