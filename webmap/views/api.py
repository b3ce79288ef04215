"""JSON API: summary, public layers as GeoJSON, per-grid figures, figures per level of the
administrative hierarchy."""
from __future__ import annotations

import json

from flask import Response, request, url_for
from flask_smorest import Blueprint
from flask_babel import gettext as _

from geodata import areas, queries
from geodata import search as geo_search
from geodata.gcj02 import wgs84_to_gcj02
from geodata.layers import MAP_LAYERS
from geodata.points import parse_bbox
from geodata.workflow import NotFound

from .. import schemas as s
from geodata.scope import read_areas, reads, within

from ..helpers import get_db, notice, viewer
from ..jsonapi import error
from ..openapi import answers

bp = Blueprint("api", __name__, url_prefix="/api", description="Layers and grids")


@bp.get("/summary")
@bp.arguments(s.AreaArgs, location="query")
@bp.response(200, s.Summary)
@answers(bp, 400, 404, 422)
def summary(args: dict):
    """Figures of everything the account reads, or of one ``area``: counts, road km by
    class, facilities by kind."""
    with get_db().connect() as conn:
        data = queries.summary(conn, within(viewer(), args.get("area")))
    return data | {"note": notice()}


@bp.get("/layers")
@bp.response(200, s.LayerNames)
@answers(bp)
def layers():
    """The names of the map layers."""
    return {"layers": list(MAP_LAYERS)}


@bp.route("/layers/<layer>", methods=["GET"], parameters=[{
    "in": "path", "name": "layer", "required": True,
    "schema": {"type": "string", "enum": list(MAP_LAYERS)}}])
@bp.arguments(s.LayerArgs, location="query", as_kwargs=True)
@bp.response(200, s.LayerPage, content_type="application/geo+json")
@answers(bp, 400, 404, 422)
def layer(layer: str, limit: int, offset: int, after: str | None = None,
          bbox: str | None = None):
    """A layer as a GeoJSON FeatureCollection of public properties, at most ``limit``
    (10,000) features a page in code order; ``next`` names the following page (by key)."""
    if layer not in MAP_LAYERS:
        return error(404, _("unknown layer %(layer)r", layer=layer), "unknown_layer",
                     layers=list(MAP_LAYERS))
    box = parse_bbox(bbox)
    with get_db().connect() as conn:
        body = json.loads(queries.layer_geojson(conn, layer, box, areas=read_areas(viewer()),
                                                limit=limit, offset=offset, after=after))
    if body.pop("more"):
        args = {k: v for k, v in request.args.to_dict().items() if k != "offset"}
        body["next"] = url_for("api.layer", layer=layer, **(
            args | {"after": body["features"][-1]["properties"]["code"]}))
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/geo+json")


@bp.get("/grids")
@bp.response(200, s.GridList)
@answers(bp)
def grids():
    """Grid codes and names."""
    with get_db().connect() as conn:
        return {"grids": queries.grid_codes(conn, read_areas(viewer()))}


@bp.get("/grids/<code>")
@bp.response(200, s.GridFigures)
@answers(bp, 404)
def grid(code: str):
    """A grid's figures: households, residents, area, roads, facilities, staff."""
    with get_db().connect() as conn:
        figures = queries.grid_figures(conn, code, viewer())
    if figures is None:
        raise NotFound("no grid with code %(code)r", code=code)
    return figures


@bp.get("/areas")
@bp.response(200, s.AreaFigures)
@answers(bp)
def areas_top():
    """The top of the administrative hierarchy: the figures of every district in the
    database (sums over their grids)."""
    with get_db().connect() as conn:
        return areas.figures(conn, None, read_areas(viewer()))


@bp.get("/areas/<code>")
@bp.response(200, s.AreaFigures)
@answers(bp, 404, 422)
def area(code: str):
    """An area's figures and its children's one level down: a district's subdistricts, a
    subdistrict's communities, a community's grids (codes of 6, 9, 12 or 15 digits)."""
    with get_db().connect() as conn:
        return areas.figures(conn, code, read_areas(viewer()))


@bp.get("/search")
@bp.arguments(s.SearchArgs, location="query")
@bp.response(200, s.SearchResults)
@answers(bp, 400, 422)
def search(args: dict):
    """Find a household code, building, compound, road or incident number within what the
    account reads; each result with its point (WGS 84) to fly to."""
    with get_db().connect() as conn:
        hits = geo_search.search(conn, args["q"], viewer(), args["limit"])
    if args["coord_system"] == "gcj02" and hits:
        lon, lat = wgs84_to_gcj02([h["lon"] for h in hits], [h["lat"] for h in hits])
        for h, x, y in zip(hits, lon, lat):
            h["lon"], h["lat"] = round(float(x), 7), round(float(y), 7)
    return {"results": hits}
