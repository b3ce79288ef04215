"""Incident pages: the incident map with the report form, one incident, the dashboards."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request

from geodata import incidents, queries
from geodata.dashboard import stats as dashboard_stats
from geodata.sample import NOTE
from geodata.workflow import STATE_COLOURS, STATE_LABELS, NotFound

from .. import engine
from ..incident_map import incident_map as build_incident_map
from ..incident_map import public_incident_map
from ..maps import available_basemaps, render_parts
from .incidents_api import filters_from
from .pages import basemap_arg

bp = Blueprint("incident_pages", __name__)
LIST_SIZE = 50


def _common(conn) -> dict:
    return dict(grids=queries.grid_codes(conn), categories=incidents.categories(conn),
                states=STATE_LABELS, state_colours=STATE_COLOURS, note=NOTE)


@bp.get("/incidents")
def incident_map():
    basemap = basemap_arg()
    filters = filters_from(request.args)
    with engine(current_app).connect() as conn:
        rows, total = incidents.search(conn, filters, page=1, page_size=5000)
        grids_fc = queries.layer_features(conn, "grids", precision=6)
        roads_fc = queries.layer_features(conn, "roads", precision=6)
        common = _common(conn)
    m = build_incident_map(grids_fc, roads_fc, incidents.as_feature_collection(rows),
                           basemap=basemap, tianditu_key=current_app.config["TIANDITU_KEY"])
    return render_template("incidents.html", map=render_parts(m), rows=rows[:LIST_SIZE],
                           total=total, basemap=basemap, args=request.args,
                           basemaps=available_basemaps(current_app.config["TIANDITU_KEY"]),
                           **common)


@bp.get("/incidents/<int:incident_id>")
def incident_page(incident_id: int):
    with engine(current_app).connect() as conn:
        try:
            item = incidents.get(conn, incident_id)
        except NotFound:
            abort(404, f"no incident {incident_id}")
        common = _common(conn)
    return render_template("incident.html", item=item, map=None, basemap="none", **common)


@bp.get("/dashboard")
def dashboard():
    filters = filters_from(request.args)
    with engine(current_app).connect() as conn:
        stats = dashboard_stats(conn, filters)
        common = _common(conn)
    grid_name = next((g["name"] for g in common["grids"] if g["code"] == filters.grid), None)
    if filters.grid and grid_name is None:
        abort(404, f"no grid with code {filters.grid}")
    return render_template("dashboard.html", stats=stats, map=None, basemap="none",
                           args=request.args, grid_name=grid_name, **common)


@bp.get("/public/incidents")
def public_incidents():
    """What residents may see: no personal data, personal cases' locations blurred."""
    filters = filters_from(request.args)
    with engine(current_app).connect() as conn:
        fc = incidents.public_feature_collection(conn, filters)
        grids_fc = queries.layer_features(conn, "grids", precision=6)
        common = _common(conn)
    m = public_incident_map(grids_fc, fc)
    return render_template("public_incidents.html", map=render_parts(m), total=len(
        fc["features"]), basemap="none", basemaps=[], args=request.args, **common)
