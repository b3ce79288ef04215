"""What waits on me: /tasks (the page) and /api/tasks, the grids' workload, and whom an
incident can be dispatched to. Thin: ``geodata.incidents.tasks`` decides."""
from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_smorest import Blueprint as ApiBlueprint

from geodata import visits as geo_visits
from geodata import workload as geo_workload
from geodata.incidents import tasks as geo_tasks
from geodata.workflow import STATE_LABELS

from .. import schemas as s
from ..helpers import get_db, viewer
from ..openapi import answers

bp = Blueprint("tasks", __name__)
api_bp = ApiBlueprint("tasks_api", __name__, description="Tasks, dispatch and workload")
PAGE_SIZE = 25
VISITS_SHOWN = 10     # households due a visit listed on the page (all: /api/visits/due)


@api_bp.get("/api/tasks")
@api_bp.arguments(s.TaskArgs, location="query", as_kwargs=True)
@api_bp.response(200, s.TaskPage)
@answers(api_bp, 400)
def task_list(mine: str, limit: int, offset: int):
    """Open incidents waiting on me (``mine=true``: dispatched to me) or on my grids, overdue
    steps first, then by the current step's deadline; paged (``next``)."""
    with get_db().connect() as conn:
        page = geo_tasks.tasks(conn, viewer(), mine=mine == "true", limit=limit, offset=offset)
    nxt = page["next_offset"]
    page["next"] = (url_for("tasks_api.task_list", mine=mine, limit=limit, offset=nxt,
                            _external=True) if nxt is not None else None)
    return page


@api_bp.get("/api/tasks/workload")
@api_bp.response(200, s.Workload)
@answers(api_bp)
def workload():
    """Per grid (households, open, overdue, not yet dispatched) and per assignee (open,
    overdue), in the grids I head or administer."""
    with get_db().connect() as conn:
        return geo_tasks.workload(conn, viewer())


@api_bp.get("/api/workload")
@api_bp.response(200, s.FullWorkload)
@answers(api_bp)
def full_workload():
    """Per grid (households against the 300–500 norm, residents, flagged households, open
    and overdue incidents, visits due, this week's patrols) and per grid worker (incidents
    dispatched to them, visits and patrol km this week), in the grids I head or administer."""
    with get_db().connect() as conn:
        return geo_workload.workload(conn, viewer())


@api_bp.get("/api/incidents/<int:incident_id>/assignees")
@api_bp.response(200, s.Assignees)
@answers(api_bp, 404)
def assignees(incident_id: int):
    """Whom this incident may be dispatched to: its grid's heads and workers, and the units
    serving its grid (each with its contact)."""
    with get_db().connect() as conn:
        return geo_tasks.assignees(conn, viewer(), incident_id)


@bp.get("/tasks")
def page():
    """My tasks (``?mine=1``) or my grids' open incidents, 25 a page; heads and admins see the
    workload per grid and per assignee below."""
    who = viewer()
    mine = request.args.get("mine") == "1"
    try:
        number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        number = 1
    with get_db().connect() as conn:
        found = geo_tasks.tasks(conn, who, mine=mine, limit=PAGE_SIZE,
                                offset=(number - 1) * PAGE_SIZE)
        heads = who.role in ("admin", "grid_head")
        load = geo_tasks.workload(conn, who) if heads else None
        balance = geo_workload.workload(conn, who) if heads else None
        visits_due = geo_visits.due(conn, who, limit=VISITS_SHOWN)
    pages = max(1, -(-found["total"] // PAGE_SIZE))
    return render_template("tasks.html", found=found, load=load, mine=mine, page=number,
                           visits_due=visits_due, balance=balance,
                           pages=pages, states=STATE_LABELS, map=None, basemap="none")
