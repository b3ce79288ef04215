"""The privacy policy: what each kind of viewer may see of incidents and households.

Every read path (JSON API, pages, CSV, Open311, map builders) asks here, so the rule is written
once:

* **Public** (no account; every Open311 read): no reporter, no contact, no photos; disputes and
  housing cases (``personal`` categories) only at a ~200 m cell and without their description
  or address. The blur is done in SQL (``public_location_sql``) so exact points never leave the
  database.
* **Any account**: incidents with descriptions, but reporters' contacts and the names in a
  mediation record only for admins and the incident's own grid staff (``sees_personal``).
* **Per-household answers** (which door is covered, who is not): admins everywhere, grid heads
  and workers in their own grids, planners only as figures (``household_grids``).
"""
from __future__ import annotations

from .accounts import GRID_ROLES, Account

BLUR_DEGREES = 0.002   # about 200 m: the cell a personal case is shown in to the public
# what a viewer without the right to personal data sees of a mediation record
MEDIATION_SHOWN = ("incident_id", "party_branch", "sessions", "agreement", "updated_at")


def public_location_sql(geom: str = "i.geom", personal: str = "c.personal") -> str:
    """SQL for the point the public sees: exact, or the corner of its ~200 m cell."""
    return (f"CASE WHEN {personal} THEN ST_SnapToGrid({geom}, {BLUR_DEGREES}) "
            f"ELSE {geom} END")


def public_text_sql(value: str, personal: str = "c.personal") -> str:
    """SQL for a text the public may see only for impersonal cases (description, address)."""
    return f"CASE WHEN {personal} THEN NULL ELSE {value} END"


def sees_personal(viewer: Account | None, grid_code: str | None) -> bool:
    """Reporters' contacts and mediation names: admins, and the grid's own heads and workers."""
    return viewer is not None and grid_code is not None and viewer.may_act_in(grid_code)


def household_grids(viewer: Account | None) -> tuple[str, ...] | None:
    """The grids whose households ``viewer`` may see one by one, as code prefixes (grids, or
    an admin's areas); None means all of them."""
    if viewer is None:
        return ()
    if viewer.is_admin:
        return viewer.grid_codes or None      # an admin's areas, as code prefixes
    return viewer.grid_codes if viewer.role in GRID_ROLES else ()


def layers_for(viewer: Account | None) -> tuple[str, ...]:
    """The map layers ``viewer`` may read feature by feature (JSON API, OGC API): every map
    layer for any account, none for the public (which gets the public incident view only)."""
    from .layers import MAP_LAYERS
    return MAP_LAYERS if viewer is not None else ()


def incident(item: dict, viewer: Account | None) -> dict:
    """One incident (as read by ``incidents.get``) as ``viewer`` may see it."""
    if sees_personal(viewer, item.get("grid_code")):
        return item
    out = {k: v for k, v in item.items() if k != "contact"}
    if out.get("mediation"):
        med = out["mediation"]
        out["mediation"] = {k: med.get(k) for k in MEDIATION_SHOWN} | {
            "sessions": len(med.get("sessions") or []), "names_hidden": True}
    return out
