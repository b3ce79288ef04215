"""Grid scope of writes: who may change incidents where, as one SQL condition that every write
statement carries in its ``WHERE`` (so the rule holds however the statement is reached)."""
from __future__ import annotations

from sqlalchemy import Connection, text

from .accounts import Account
from .workflow import Forbidden, NotFound

# The condition on the grid aliased ``{g}``, with the bind parameter ``:grids`` (None: all).
IN_SCOPE = "(CAST(:grids AS text[]) IS NULL OR {g}.code = ANY(CAST(:grids AS text[])))"


def write_grids(actor: Account, *, placing: bool = False) -> list[str] | None:
    """The grids ``actor`` may change incidents in (None: all of them). Open311 clients may
    report anywhere (``placing``) and change nothing; planners change nothing (Forbidden)."""
    if actor.role == "open311_client":
        return None if placing else []
    grids = actor.write_grids()
    return None if grids is None else list(grids)


def refuse_missing(conn: Connection, incident_id: int, grids: list[str] | None) -> None:
    """A write touched no incident: NotFound, or Forbidden when it lies outside ``grids``."""
    grid = conn.execute(text("SELECT g.code FROM incidents i JOIN grids g ON g.id = i.grid_id "
                             "WHERE i.id = :id"), {"id": incident_id}).scalar_one_or_none()
    if grid is None:
        raise NotFound(f"no incident {incident_id}")
    if grids is not None and grid not in grids:
        raise Forbidden(f"incident {incident_id} lies in grid {grid}; you act in "
                        f"{', '.join(grids) or 'no grid'}")
