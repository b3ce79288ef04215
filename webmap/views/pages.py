"""Map pages: the community map at ``/`` and one page per grid."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _

from geodata import queries
from geodata.gcj02 import wgs84_to_gcj02
from geodata.layers import MAP_LAYERS

from geodata import areas as geo_areas
from geodata.scope import reads, within
from geodata.workflow import InvalidInput, NotFound

from ..i18n import text
from ..helpers import basemap_arg, get_db, notice, viewer
from ..maps import BASEMAPS, available_basemaps, community_map, extent, render_parts

bp = Blueprint("pages", __name__)


def _map_page(template: str, focus: str | None = None, area: str | None = None, **context):
    basemap = basemap_arg()
    try:
        areas = within(viewer(), area)
    except InvalidInput as exc:
        abort(400, text(exc))
    except NotFound as exc:
        abort(404, text(exc))
    with get_db().connect() as conn:
        figures = queries.grid_figures(conn, focus, viewer()) if focus else None
        area = None if focus else area
        if focus and figures is None:
            abort(404, _("no grid with code %(code)r", code=focus))
        # a grid's page draws its grid's surroundings, not the whole community's features
        box = _around(figures["bbox"]) if figures else None
        # households, roads and buildings come as vector tiles (shifted in SQL for Gaode's
        # base map)
        tiled = {"households", "roads", "buildings"}
        names = [n for n in MAP_LAYERS if n not in tiled]
        layers = {name: queries.layer_features(conn, name, None if name == "grids" else box,
                                               precision=6, areas=areas)
                  for name in names}
        summary = queries.summary(conn, areas)
        if not focus:   # the area's figures and its children's, for the drill-down
            area = area or geo_areas.default_area(conn, areas)
            context["area"] = geo_areas.figures(conn, area, areas)
            above = geo_areas.parents(area)
            names = geo_areas.names(conn, above)
            context["parents"] = [{"code": c, "name": names.get(c, c)} for c in above]
    m = community_map(layers, basemap=basemap, focus=focus, note=notice(),
                      households_count=summary["households"],
                      tianditu_key=current_app.config["TIANDITU_KEY"])
    # what the map is about (the print view centres its sheet on it)
    bbox = figures["bbox"] if figures else extent(layers["grids"])
    if BASEMAPS.get(basemap, BASEMAPS["none"]).gcj02:      # drawn shifted on Gaode's map
        lon, lat = wgs84_to_gcj02([bbox[0], bbox[2]], [bbox[1], bbox[3]])
        bbox = (float(lon[0]), float(lat[0]), float(lon[1]), float(lat[1]))
    return render_template(
        template, map=render_parts(m), summary=summary, figures=figures, basemap=basemap,
        bbox=bbox,
        basemaps=available_basemaps(current_app.config["TIANDITU_KEY"]), **context)


def _around(bbox: list[float], margin: float = 0.1) -> tuple[float, ...]:
    """The box grown by ``margin`` of its size on each side (neighbours at the edge show)."""
    minx, miny, maxx, maxy = bbox
    dx, dy = (maxx - minx) * margin, (maxy - miny) * margin
    return minx - dx, miny - dy, maxx + dx, maxy + dy


@bp.get("/")
def community():
    """The map of an area (``?area=``: a district, subdistrict or community code; by default
    the narrowest one holding everything the viewer reads) with its figures and its parts."""
    return _map_page("community.html", area=request.args.get("area") or None)


@bp.get("/grids/<code>")
def grid(code: str):
    return _map_page("grid.html", focus=code)


# paper sizes (mm, portrait) and the printable sheet inside an 8 mm margin
PAPER = {"A4": (210, 297), "A3": (297, 420)}
MARGIN_MM = 8


@bp.get("/print")
def print_map():
    """A map to print on A4 or A3 (``size``), landscape or portrait (``orientation``): a
    grid (``grid``) or an area (``area``), with its legend, metric scale, north arrow, date
    and the data notice; the browser's print makes the paper copy or a PDF."""
    size = request.args.get("size", "A4")
    orientation = request.args.get("orientation", "landscape")
    if size not in PAPER:
        abort(400, _("size must be A4 or A3"))
    if orientation not in ("landscape", "portrait"):
        abort(400, _("orientation must be landscape or portrait"))
    short, long_ = PAPER[size]
    width, height = (long_, short) if orientation == "landscape" else (short, long_)
    from datetime import datetime
    from geodata.db import TIMEZONE
    from zoneinfo import ZoneInfo
    today = datetime.now(ZoneInfo(TIMEZONE)).strftime("%Y 年 %m 月 %d 日")
    return _map_page("print.html", focus=request.args.get("grid") or None,
                     area=request.args.get("area") or None, paper=size,
                     orientation=orientation, sheet=(width - 2 * MARGIN_MM,
                                                     height - 2 * MARGIN_MM),
                     margin=MARGIN_MM, today=today)
