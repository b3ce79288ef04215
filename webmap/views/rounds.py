"""/rounds: a grid's patrols, camera gaps and visits on one map, with the weekly tables of
every grid. Thin: ``geodata.patrols``, ``geodata.cameras``, ``geodata.visits``."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request

from geodata import cameras, patrols, privacy, queries
from geodata import visits as geo_visits
from geodata.scope import read_areas, reads

from ..helpers import basemap_arg, get_db, viewer
from ..incident_map import rounds_map
from ..maps import render_parts

bp = Blueprint("rounds", __name__)


@bp.get("/rounds")
def page():
    from flask_babel import gettext as _
    who = viewer()
    basemap = basemap_arg()
    with get_db().connect() as conn:
        grids = queries.layer_features(conn, "grids", precision=6, areas=read_areas(who))
        codes = [f["properties"]["code"] for f in grids["features"]]
        grid = request.args.get("grid") or (codes[0] if codes else None)
        if grid not in codes or not reads(who, grid):
            abort(404, _("no grid with code %(code)r", code=grid))
        week = patrols.weekly(conn, who)
        net = cameras.watched(conn, who)
        unwalked = patrols.unwalked(conn, who, grid)
        gaps = cameras.gaps(conn, who, grid)
        shown = privacy.household_grids(who)
        households = (geo_visits.last_visits(conn, who, grid) if shown is None or
                      any(grid.startswith(p) for p in shown) else None)
    focus = {"type": "FeatureCollection", "features": [
        f for f in grids["features"] if f["properties"]["code"] == grid]}
    m = rounds_map(grids, focus, unwalked, gaps, households, net["best_site"], basemap=basemap,
                   tianditu_key=current_app.config["TIANDITU_KEY"])
    return render_template("rounds.html", map=render_parts(m), week=week, net=net, grid=grid,
                           grid_names={f["properties"]["code"]: f["properties"]["name"]
                                       for f in grids["features"]},
                           households_shown=households is not None, basemap=basemap)
