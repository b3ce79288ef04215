"""Home visits (走访): /api/visits, the households due one, and a household's card
(/households/<code>), from which a visit is recorded through the phone's outbox. Thin:
``geodata.visits``."""
from __future__ import annotations

from flask import Blueprint as PageBlueprint
from flask import abort, render_template
from flask_smorest import Blueprint

from geodata import incidents
from geodata import visits as geo_visits
from geodata.workflow import NotFound

from .. import schemas as s
from ..helpers import get_db, viewer
from ..idempotent import idempotent, record
from ..openapi import answers

api_bp = Blueprint("visits_api", __name__, description="Home visits")
bp = PageBlueprint("visits", __name__)
KINDS = {"home": "上门", "phone": "电话", "other": "其他"}


@api_bp.post("/api/visits")
@api_bp.arguments(s.NewVisit)
@api_bp.response(201, s.VisitRecord)
@answers(api_bp, 400, 422)
@idempotent
def create(data: dict):
    """Record a visit to a household of my grids; ``incident_category`` (with
    ``incident_description``) turns its follow-up into an incident at the door in the same
    step. ``Idempotency-Key`` as for incidents."""
    with get_db().begin() as conn:
        incident = ({"category": data["incident_category"],
                     "description": data.get("incident_description")}
                    if data.get("incident_category") else None)
        body = geo_visits.record(conn, viewer(), data["household_code"], data["visited_at"],
                                 data["kind"], data.get("notes"), data["follow_up"], incident)
        record(conn, body, 201)
        return body


@api_bp.get("/api/visits")
@api_bp.arguments(s.VisitArgs, location="query", as_kwargs=True)
@api_bp.response(200, s.VisitPage)
@answers(api_bp, 400)
def visit_list(**args):
    """Visits, newest first, in the households I may see one by one."""
    with get_db().connect() as conn:
        return geo_visits.search(conn, viewer(), **args)


@api_bp.get("/api/visits/due")
@api_bp.arguments(s.PageArgs, location="query", as_kwargs=True)
@api_bp.response(200, s.DuePage)
@answers(api_bp, 400)
def due(limit: int, offset: int):
    """Households of my grids due a visit by the rules (``visit_rules``): never visited
    first, then the longest overdue."""
    with get_db().connect() as conn:
        return geo_visits.due(conn, viewer(), limit=limit, offset=offset)


@bp.get("/households/<code>")
def card(code: str):
    """A household's card: address, flags, residents, its contact, why it is due a visit, its
    last visits and the open incidents at its door; the form records a visit (offline too)."""
    from flask_babel import gettext as _
    with get_db().connect() as conn:
        try:
            found = geo_visits.household_card(conn, viewer(), code)
        except NotFound:
            abort(404, _("no household %(code)s", code=code))
        categories = incidents.categories(conn)
    return render_template("household.html", card=found, categories=categories, kinds=KINDS,
                           map=None, basemap="none")
