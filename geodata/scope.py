"""Scope: who may change what where (``IN_SCOPE``, in every write statement's ``WHERE``) and
who reads what (``IN_AREAS`` and ``read_areas``, in every read of grids, households, incidents
and figures), each as one SQL condition on a grid's code, so the rule holds however the
statement is reached. Scopes are code prefixes: a grid (15 digits), a community (12), a
subdistrict (9) or a district (6).

The shared geography — roads, buildings, compounds, parking lots, facilities, community
boundaries — is read by every account; what is about people and cases is scoped.
"""
from __future__ import annotations

from sqlalchemy import Connection, text

from .accounts import Account
from .workflow import Forbidden, InvalidInput, NotFound

# The condition on the grid aliased ``{g}``, with the bind parameter ``:grids`` (None: all).
IN_SCOPE = ("(CAST(:grids AS text[]) IS NULL OR EXISTS (SELECT 1 FROM "
            "unnest(CAST(:grids AS text[])) p WHERE starts_with({g}.code, p)))")
# The same on what a viewer reads, with ``:areas`` (``read_areas``; None: everything).
IN_AREAS = ("(CAST(:areas AS text[]) IS NULL OR EXISTS (SELECT 1 FROM "
            "unnest(CAST(:areas AS text[])) a WHERE starts_with({g}.code, a)))")


def read_areas(viewer: Account | None) -> list[str] | None:
    """The code prefixes ``viewer`` reads (None: everything). The public reads only the public
    views (public incidents, Open311), which are not scoped."""
    if viewer is None:
        return None
    areas = viewer.read_areas()
    return None if areas is None else list(areas)


AREA_CODE_LENGTHS = (6, 9, 12, 15)


def within(viewer: Account | None, area: str | None) -> list[str] | None:
    """What ``viewer`` reads, narrowed to the area a page or request picked (a district,
    subdistrict, community or grid code; None: no narrowing). InvalidInput for a malformed
    code, NotFound when the viewer reads nothing there."""
    areas = read_areas(viewer)
    if not area:
        return areas
    if not (area.isascii() and area.isdigit()) or len(area) not in AREA_CODE_LENGTHS:
        raise InvalidInput("area: a code of 6 (district), 9 (subdistrict), 12 (community) or "
                           "15 (grid) digits")
    if areas is None or any(area.startswith(a) for a in areas):
        return [area]
    inner = [a for a in areas if a.startswith(area)]   # a wider area: the viewer's part of it
    if not inner:
        raise NotFound("area %(area)s lies outside what you may read", area=area)
    return inner


def reads(viewer: Account | None, grid_code: str) -> bool:
    areas = read_areas(viewer)
    return areas is None or any(grid_code.startswith(a) for a in areas)


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
        raise NotFound("no incident %(id)s", id=incident_id)
    if grids is not None and not any(grid.startswith(p) for p in grids):
        # which grid it lies in is not said: that would place a case one may not read
        raise Forbidden("incident %(id)s lies outside the grids you act in (%(yours)s)",
                        "outside_your_grids", id=incident_id,
                        yours=", ".join(grids) or "no grid")
