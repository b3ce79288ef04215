"""JSON API: summary, public layers as GeoJSON, per-grid figures. Errors are JSON too."""
from __future__ import annotations

import math

from flask import Blueprint, Response, jsonify, request

from geodata import queries
from geodata.layers import MAP_LAYERS

from ..helpers import get_db, notice
from ..jsonapi import BadRequest, error

bp = Blueprint("api", __name__, url_prefix="/api")


def parse_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    """``minlon,minlat,maxlon,maxlat`` in WGS 84, or None when absent."""
    if raw is None:
        return None
    parts = raw.split(",")
    if len(parts) != 4:
        raise BadRequest(f"bbox needs 4 comma-separated numbers minlon,minlat,maxlon,maxlat; "
                         f"got {len(parts)} value(s)")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise BadRequest(f"bbox values must be numbers: {raw!r}") from None
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise BadRequest("bbox values must be finite numbers")
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180):
        raise BadRequest("bbox longitudes must lie between -180 and 180")
    if not (-90 <= miny <= 90 and -90 <= maxy <= 90):
        raise BadRequest("bbox latitudes must lie between -90 and 90")
    if minx > maxx or miny > maxy:
        raise BadRequest("bbox minimum must not exceed maximum (order: minlon,minlat,maxlon,maxlat)")
    return minx, miny, maxx, maxy


@bp.get("/openapi.json")
def openapi():
    from ..openapi import document
    return jsonify(document())


@bp.get("/summary")
def summary():
    with get_db().connect() as conn:
        data = queries.summary(conn)
    return jsonify(data | {"note": notice()})


@bp.get("/layers")
def layers():
    return jsonify({"layers": list(MAP_LAYERS)})


@bp.get("/layers/<layer>")
def layer(layer: str):
    if layer not in MAP_LAYERS:
        return error(404, f"unknown layer {layer!r}", layers=list(MAP_LAYERS))
    bbox = parse_bbox(request.args.get("bbox"))
    with get_db().connect() as conn:
        body = queries.layer_geojson(conn, layer, bbox)
    return Response(body, mimetype="application/geo+json")


@bp.get("/grids")
def grids():
    with get_db().connect() as conn:
        return jsonify({"grids": queries.grid_codes(conn)})


@bp.get("/grids/<code>")
def grid(code: str):
    with get_db().connect() as conn:
        figures = queries.grid_figures(conn, code)
    if figures is None:
        return error(404, f"no grid with code {code!r}")
    return jsonify(figures)
