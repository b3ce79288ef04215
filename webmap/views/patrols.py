"""Patrols (巡查): tracks sent from the phone (JSON fixes) or as GPX, and what they covered.
Thin: ``geodata.patrols`` cleans, stores and measures."""
from __future__ import annotations

import json

from flask import Response
from flask_smorest import Blueprint

from geodata import patrols as geo_patrols

from .. import schemas as s
from ..helpers import get_db, viewer
from ..idempotent import idempotent, record
from ..openapi import answers

api_bp = Blueprint("patrols_api", __name__, description="Patrols")


def _store(lon, lat, t, accuracy=None):
    with get_db().begin() as conn:
        body = geo_patrols.record(conn, viewer(), lon, lat, t, accuracy)
        record(conn, body, 201)
        return body


@api_bp.post("/api/patrols")
@api_bp.arguments(s.NewPatrol)
@api_bp.response(201, s.PatrolRecord)
@answers(api_bp, 400, 413, 422)
@idempotent
def create(data: dict):
    """A patrol's fixes, sent as it goes or at the end; jumps, gaps, rides and imprecise fixes
    are dropped (see ``dropped`` and ``pieces``). ``Idempotency-Key`` as for incidents."""
    points = data["points"]
    return _store([p["lon"] for p in points], [p["lat"] for p in points],
                  [p["t"].timestamp() for p in points],
                  [p.get("accuracy") if p.get("accuracy") is not None else float("nan")
                   for p in points])


@api_bp.post("/api/patrols/gpx")
@api_bp.arguments(s.GpxUpload, location="files")
@api_bp.response(201, s.PatrolRecord)
@answers(api_bp, 400, 413, 422)
@idempotent
def upload_gpx(files: dict):
    """A patrol as a GPX file (multipart field ``gpx``), e.g. from a GPS logger app."""
    lon, lat, t = geo_patrols.read_gpx(files["gpx"].read())
    return _store(lon, lat, t)


@api_bp.get("/api/patrols")
@api_bp.arguments(s.PatrolArgs, location="query", as_kwargs=True)
@api_bp.response(200, s.PatrolPage)
@answers(api_bp, 400)
def patrol_list(**args):
    """Patrols in what I read, newest first, paged."""
    with get_db().connect() as conn:
        return geo_patrols.search(conn, viewer(), **args)


@api_bp.get("/api/patrols/weekly")
@api_bp.arguments(s.WeekArgs, location="query", as_kwargs=True)
@api_bp.response(200, s.WeeklyPatrols)
@answers(api_bp, 400)
def weekly(week=None):
    """Per grid and week: patrols, walking time and distance, road length and the part of it
    walked (within 20 m of a track, each part once)."""
    with get_db().connect() as conn:
        return geo_patrols.weekly(conn, viewer(), week)


@api_bp.get("/api/patrols/unwalked")
@api_bp.arguments(s.UnwalkedArgs, location="query", as_kwargs=True)
@api_bp.response(200, s.FeatureCollection, content_type="application/geo+json")
@answers(api_bp, 400)
def unwalked(grid: str, week=None):
    """The parts of a grid's roads not patrolled in the week, as GeoJSON."""
    with get_db().connect() as conn:
        body = geo_patrols.unwalked(conn, viewer(), grid, week)
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/geo+json")
