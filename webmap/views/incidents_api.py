"""Incidents JSON API: place, list (GeoJSON, paged, CSV), read, transition, photos, mediation.
Thin: parse, call ``geodata.incidents`` with the acting account, serialise."""
from __future__ import annotations

import csv
import io
import json

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory, url_for

from geodata import incidents, photos
from geodata.db import PROJECT_ROOT
from geodata.incidents import NewIncident
from geodata.points import wgs84_point

from ..helpers import filters_from, get_db, int_field, page_args, viewer
from ..jsonapi import BadRequest, json_body

bp = Blueprint("incidents_api", __name__)
JSON_LIMIT = 1024 * 1024


def _text_field(data: dict, key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{key} must be a text")
    return value or None


@bp.get("/api/incident-categories")
def categories():
    with get_db().connect() as conn:
        return jsonify({"categories": incidents.categories(conn)})


@bp.post("/api/incidents")
def create():
    data = json_body()
    for key in ("lon", "lat", "category", "description"):
        if data.get(key) in (None, ""):
            raise BadRequest(f"{key} is required")
    new = NewIncident(
        lon=data["lon"], lat=data["lat"], category=data["category"],
        description=data["description"], coord_system=_text_field(data, "coord_system"),
        household_code=_text_field(data, "household_code"),
        building_code=_text_field(data, "building_code"),
        duplicate_of=int_field(data, "duplicate_of"), source="api")
    with get_db().begin() as conn:
        placed = incidents.place(conn, new, viewer())
    body = json.loads(json.dumps(placed, default=str))
    body["url"] = url_for(".one", incident_id=placed["id"])
    return jsonify(body), 201, {"Location": body["url"]}


@bp.get("/api/incidents")
def search():
    page, size = page_args(request.args)
    with get_db().connect() as conn:
        rows, total = incidents.search(conn, filters_from(request.args), page=page,
                                       page_size=size)
    fc = incidents.as_feature_collection(rows, total=total, page=page, page_size=size)
    return Response(json.dumps(fc, ensure_ascii=False, default=str),
                    mimetype="application/geo+json")


@bp.get("/api/public/incidents")
def public():
    """Incidents for the public (no account): no personal data, personal cases blurred."""
    with get_db().connect() as conn:
        fc = incidents.public_feature_collection(conn, filters_from(request.args))
    return Response(json.dumps(fc, ensure_ascii=False), mimetype="application/geo+json")


CSV_COLUMNS = ["id", "category_code", "category", "state", "grid_code", "created_at",
               "deadline", "closed_at", "overdue", "lon", "lat", "description"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ or a tab or
    carriage return gets a leading apostrophe (OWASP's advice for CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


@bp.get("/api/incidents.csv")
def export_csv():
    with get_db().connect() as conn:
        rows, _ = incidents.search(conn, filters_from(request.args), page=1,
                                   page_size=10**9)
    out = io.StringIO()
    out.write("\ufeff")  # so that spreadsheet programs read the Chinese text as UTF-8
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: csv_safe(v) for k, v in row.items()} for row in rows)
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=incidents.csv"})


@bp.get("/api/incidents/nearby")
def nearby():
    """Open incidents of a category within 250 m: the duplicate check before saving."""
    args = request.args
    for key in ("lon", "lat", "category"):
        if not args.get(key):
            raise BadRequest(f"{key} is required")
    lon, lat = wgs84_point(args["lon"], args["lat"], args.get("coord_system", "wgs84"))
    with get_db().connect() as conn:
        found = incidents.nearby_open(conn, lon, lat, args["category"])
    return Response(json.dumps({"incidents": found}, ensure_ascii=False, default=str),
                    mimetype="application/json")


@bp.get("/api/incidents/<int:incident_id>")
def one(incident_id: int):
    with get_db().connect() as conn:
        return jsonify(incidents.get(conn, incident_id, viewer()))


@bp.post("/api/incidents/<int:incident_id>/transitions")
def move(incident_id: int):
    data = json_body()
    if not data.get("to"):
        raise BadRequest("to (the next state) is required")
    photo_ids = data.get("photos") or []
    if not isinstance(photo_ids, list):
        raise BadRequest("photos must be a list of photo ids")
    with get_db().begin() as conn:
        incidents.transition(conn, incident_id, data["to"], viewer(),
                             version=int_field(data, "version", required=True),
                             note=_text_field(data, "note"), photos=tuple(photo_ids),
                             rating=int_field(data, "rating"),
                             duplicate_of=int_field(data, "duplicate_of"))
        return jsonify(incidents.get(conn, incident_id, viewer()))


@bp.post("/api/incidents/<int:incident_id>/photos")
def upload(incident_id: int):
    file = request.files.get("photo")
    if file is None:
        raise BadRequest("send the picture as multipart/form-data in a field named 'photo'")
    data = file.read(current_app.config["MAX_PHOTO_BYTES"] + 1)
    with get_db().begin() as conn:
        photo = photos.save_photo(conn, current_app.config["MEDIA_DIR"], incident_id, data,
                                  viewer(), current_app.config["MAX_PHOTO_BYTES"])
    photo["url"] = url_for(".media", filename=photo["filename"])
    return jsonify(photo), 201


@bp.get("/media/<path:filename>")
def media(filename: str):
    return send_from_directory(current_app.config["MEDIA_DIR"], filename, max_age=86400)


@bp.put("/api/incidents/<int:incident_id>/mediation")
def mediation(incident_id: int):
    data = json_body()
    with get_db().begin() as conn:
        incidents.save_mediation(conn, incident_id, data, viewer())
        return jsonify(incidents.get(conn, incident_id, viewer())["mediation"])


def init_app(app) -> None:
    import os
    app.config.setdefault("MEDIA_DIR",
                          os.environ.get("MEDIA_DIR") or str(PROJECT_ROOT / "var" / "media"))
    app.config.setdefault("MAX_PHOTO_BYTES", photos.MAX_BYTES)
    app.register_blueprint(bp)
