"""Incident pages: the incident map with the report form, one incident, the dashboards."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _

from geodata import incidents, privacy, queries
from geodata.dashboard import stats as dashboard_stats
from geodata.incidents import tasks as geo_tasks
from geodata.workflow import NotFound

from ..helpers import basemap_arg, form_filters, get_db, viewer
from ..incident_map import incident_map as build_incident_map
from ..incident_map import public_incident_map
from ..maps import available_basemaps, render_parts

bp = Blueprint("incident_pages", __name__)
LIST_SIZE = 50          # incidents listed a page, newest first
MAP_INCIDENTS = 5000    # the newest ones drawn on the map (filters narrow it)


@bp.get("/incidents")
def incident_map():
    basemap = basemap_arg()
    filters = form_filters(request.args)
    try:
        number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        abort(400, _("page must be a whole number"))
    with get_db().connect() as conn:
        rows, total = incidents.search(conn, filters, page=1, page_size=MAP_INCIDENTS)
        listed = rows[:LIST_SIZE] if number == 1 else incidents.search(
            conn, filters, page=number, page_size=LIST_SIZE)[0]
        grids_fc = queries.layer_features(conn, "grids", precision=6, areas=filters.areas)
        categories = incidents.categories(conn)
    pages = max(1, -(-total // LIST_SIZE))
    if number > pages:
        abort(404, _("page %(n)s does not exist: the table has %(pages)s page(s)", n=number,
                     pages=pages))
    m = build_incident_map(grids_fc, incidents.as_feature_collection(rows),
                           basemap=basemap, tianditu_key=current_app.config["TIANDITU_KEY"])
    return render_template("incidents.html", map=render_parts(m), rows=listed,
                           page=number, pages=pages,
                           page_url=lambda n: url_for("incident_pages.incident_map",
                                                      **(request.args.to_dict() | {"page": n})),
                           total=total, basemap=basemap, args=request.args,
                           categories=categories,
                           basemaps=available_basemaps(current_app.config["TIANDITU_KEY"]))


@bp.get("/incidents/<int:incident_id>")
def incident_page(incident_id: int):
    with get_db().connect() as conn:
        try:
            item = incidents.get(conn, incident_id, viewer())
        except NotFound:
            abort(404, _("no incident %(id)s", id=incident_id))
        may_act = privacy.sees_personal(viewer(), item["grid_code"])
        choices = (geo_tasks.assignees(conn, viewer(), incident_id)
                   if may_act and "dispatched" in item["allowed"] else None)
    return render_template("incident.html", item=item, may_act=may_act, choices=choices,
                           map=None, basemap="none")


@bp.get("/dashboard")
def dashboard():
    filters = form_filters(request.args)
    with get_db().connect() as conn:
        stats = dashboard_stats(conn, filters)
        grid_name = next((g["name"] for g in queries.grid_codes(conn, filters.areas)
                          if g["code"] == filters.grid), None)
        categories = incidents.categories(conn)
    if filters.grid and grid_name is None:
        abort(404, _("no grid with code %(code)r", code=filters.grid))
    return render_template("dashboard.html", stats=stats, map=None, basemap="none",
                           args=request.args, grid_name=grid_name, categories=categories)


@bp.get("/public/incidents")
def public_incidents():
    """What residents may see: no personal data, personal cases' locations blurred."""
    filters = form_filters(request.args)
    with get_db().connect() as conn:
        fc = incidents.public_feature_collection(conn, filters)
        grids_fc = queries.layer_features(conn, "grids", precision=6)
        categories = incidents.categories(conn)
    m = public_incident_map(grids_fc, fc)
    return render_template("public_incidents.html", map=render_parts(m),
                           total=len(fc["features"]), basemap="none", basemaps=[],
                           args=request.args, categories=categories)
