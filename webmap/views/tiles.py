"""Vector tiles: ``GET /tiles/<layer>/<z>/<x>/<y>.mvt[?gcj02=1]`` from PostGIS
(``geodata.tiles``; ``gcj02=1`` shifts every layer for Gaode's base map, in SQL), with the
viewer's privacy, compressed like every answer, and cached by the data's version: a tile's
ETag changes when its layer's data (or the kind of viewer) does, so a browser asks again only
with ``If-None-Match`` and gets a 304."""
from __future__ import annotations

from flask import Blueprint, Response, jsonify, request, url_for
from flask_babel import gettext as _

from geodata import tiles

from ..helpers import get_db, viewer
from ..jsonapi import core_error, error

bp = Blueprint("tiles", __name__)
MVT = "application/vnd.mapbox-vector-tile"


@bp.get("/tiles/<layer>/<int:z>/<int:x>/<int:y>.mvt")
def tile(layer: str, z: int, x: int, y: int):
    who = viewer()
    if layer not in tiles.layers(who):
        message = (_("no tile layer %(layer)r", layer=layer) if who else
                   _("no tile layer %(layer)r for the public (log in for the map layers)",
                     layer=layer))
        return error(404, message, "unknown_layer", layers=list(tiles.layers(who)))
    shift = request.args.get("gcj02", "0")
    if shift not in ("0", "1"):
        return error(400, _("gcj02 must be 0 or 1"), "invalid_parameter")
    try:
        tiles.check_address(z, x, y)
        with get_db().connect() as conn:
            tag = tiles.version(conn, layer, who, shift == "1")
            # the compressed answer's ETag carries the encoding (tag:br, tag:gzip): match it
            if tag and any(t.split(":")[0] == tag for t in request.if_none_match):
                response = Response(status=304)
            else:
                response = Response(tiles.tile(conn, layer, z, x, y, who, shift == "1"),
                                    mimetype=MVT)
    except tiles.TileError as exc:
        return core_error(400, exc)
    # per viewer kind, never in a shared cache; versioned layers revalidate by ETag
    response.headers["Cache-Control"] = ("private, no-cache" if tag
                                         else "private, max-age=30")
    response.headers["Vary"] = "Authorization, Cookie"
    if tag:
        response.set_etag(tag)
    return response


@bp.get("/tiles/<layer>.json")
def tilejson(layer: str):
    """TileJSON 3.0.0 of a tile layer (its URL template, zooms, bounds and fields), for
    MapLibre, QGIS and GDAL: a layer added from one URL."""
    template = url_for("tiles.tile", layer=layer, z=0, x=0, y=0, _external=True).replace(
        "/0/0/0.mvt", "/{z}/{x}/{y}.mvt")
    try:
        with get_db().connect() as conn:
            body = tiles.tilejson(conn, layer, viewer(), template)
    except LookupError:
        return error(404, _("no tile layer %(layer)r", layer=layer), "unknown_layer",
                     layers=list(tiles.layers(viewer())))
    response = jsonify(body)
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["Vary"] = "Authorization, Cookie"
    return response
