"""The camera net: /api/cameras (watched road per grid and the best new site) and the gaps of a
grid as GeoJSON. Thin: ``geodata.cameras``."""
from __future__ import annotations

import json

from flask import Response
from flask_smorest import Blueprint

from geodata import cameras as geo_cameras

from .. import schemas as s
from ..helpers import get_db, viewer
from ..openapi import answers

api_bp = Blueprint("cameras_api", __name__, description="The camera net")


@api_bp.get("/api/cameras")
@api_bp.response(200, s.CameraNet)
@answers(api_bp)
def camera_net():
    """Per grid: cameras, road length, the part watched (sectors cut by buildings), the gap;
    and the one point along the roads where a new camera would watch the most unwatched road."""
    with get_db().connect() as conn:
        return geo_cameras.watched(conn, viewer())


@api_bp.get("/api/cameras/gaps")
@api_bp.arguments(s.GridArg, location="query", as_kwargs=True)
@api_bp.response(200, s.FeatureCollection, content_type="application/geo+json")
@answers(api_bp, 400)
def camera_gaps(grid: str):
    """A grid's roads with their unwatched parts as GeoJSON (watched and total length)."""
    with get_db().connect() as conn:
        body = geo_cameras.gaps(conn, viewer(), grid)
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/geo+json")
