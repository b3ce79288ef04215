"""Map pages: the community map at ``/`` and one page per grid."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template

from geodata import queries
from geodata.layers import MAP_LAYERS

from ..helpers import basemap_arg, get_db, notice
from ..maps import available_basemaps, community_map, render_parts

bp = Blueprint("pages", __name__)


def _map_page(template: str, focus: str | None = None, **context):
    basemap = basemap_arg()
    with get_db().connect() as conn:
        layers = {name: queries.layer_features(conn, name, precision=6)
                  for name in MAP_LAYERS}
        summary = queries.summary(conn)
        figures = queries.grid_figures(conn, focus) if focus else None
    if focus and figures is None:
        abort(404, f"no grid with code {focus}")
    m = community_map(layers, basemap=basemap, focus=focus, note=notice(),
                      tianditu_key=current_app.config["TIANDITU_KEY"])
    return render_template(
        template, map=render_parts(m), summary=summary, figures=figures, basemap=basemap,
        basemaps=available_basemaps(current_app.config["TIANDITU_KEY"]), **context)


@bp.get("/")
def community():
    return _map_page("community.html")


@bp.get("/grids/<code>")
def grid(code: str):
    return _map_page("grid.html", focus=code)
