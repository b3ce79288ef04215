"""Map pages: the community map at ``/`` and one page per grid."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request

from geodata import queries
from geodata.layers import MAP_LAYERS
from geodata.sample import NOTE

from .. import engine
from ..maps import BASEMAPS, available_basemaps, community_map, render_parts

bp = Blueprint("pages", __name__)


def basemap_arg() -> str:
    key = request.args.get("basemap", "none")
    if key not in BASEMAPS or (BASEMAPS[key].needs_key and not current_app.config["TIANDITU_KEY"]):
        abort(400, f"unknown or unavailable base map {key!r}")
    return key


def _map_page(template: str, focus: str | None = None, **context):
    basemap = basemap_arg()
    with engine(current_app).connect() as conn:
        layers = {name: queries.layer_features(conn, name, precision=6)
                  for name in MAP_LAYERS}
        grids = queries.grid_codes(conn)
        summary = queries.summary(conn)
        figures = queries.grid_figures(conn, focus) if focus else None
    if focus and figures is None:
        abort(404, f"no grid with code {focus}")
    m = community_map(layers, basemap=basemap, focus=focus,
                      tianditu_key=current_app.config["TIANDITU_KEY"])
    return render_template(
        template, map=render_parts(m), grids=grids, summary=summary, figures=figures,
        basemap=basemap, basemaps=available_basemaps(current_app.config["TIANDITU_KEY"]),
        note=NOTE, **context)


@bp.get("/")
def community():
    return _map_page("community.html")


@bp.get("/grids/<code>")
def grid(code: str):
    return _map_page("grid.html", focus=code)


@bp.app_context_processor
def _labels():
    from ..maps import FACILITY_STYLES, ROAD_STYLES
    return {"road_labels": {k: v[0] for k, v in ROAD_STYLES.items()},
            "facility_labels": {k: v[0] for k, v in FACILITY_STYLES.items()}}
