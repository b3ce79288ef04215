"""Incidents JSON API: place, list (GeoJSON, paged, CSV), read, transition, photos, mediation.
Thin: the schemas check the request, ``geodata.incidents`` acts as the account, and the
answer is serialised."""
from __future__ import annotations

import csv
import io
import json

from flask import Blueprint as FlaskBlueprint
from flask import Response, current_app, send_from_directory, url_for
from flask_smorest import Blueprint

from geodata import incidents, photos
from geodata.db import PROJECT_ROOT
from geodata.incidents import NewIncident
from geodata.points import wgs84_point

from .. import schemas as s
from ..helpers import filters_of, get_db, viewer
from ..idempotent import idempotent, record
from ..openapi import answers, public

bp = Blueprint("incidents_api", __name__, description="Incidents and the closed loop")
media_bp = FlaskBlueprint("media", __name__)


@bp.get("/api/incident-categories")
@bp.response(200, s.Categories)
@answers(bp)
def categories():
    """The incident classes: code, time limit, Open311 service code."""
    with get_db().connect() as conn:
        return {"categories": incidents.categories(conn)}


@bp.post("/api/incidents")
@bp.arguments(s.NewIncident)
@bp.response(201, s.Placed)
@answers(bp, 400, 413, 422)
@idempotent
def create(data: dict):
    """Place an incident. A point outside the grids is a 422; outside the account's grids a
    403; nothing is saved then. Open incidents of the same category within 250 m come back as
    ``possible_duplicates``. With an ``Idempotency-Key`` header, the same key again answers
    with the first incident (``Idempotent-Replayed: true``) and places nothing."""
    new = NewIncident(source="api", **data)
    with get_db().begin() as conn:
        placed = incidents.place(conn, new, viewer())
        body = json.loads(json.dumps(placed, default=str))
        body["url"] = url_for(".one", incident_id=placed["id"])
        record(conn, body, 201)
    return body, 201, {"Location": body["url"]}


@bp.get("/api/incidents")
@bp.arguments(s.PagedFilterArgs, location="query")
@bp.response(200, s.PagedFeatures, content_type="application/geo+json")
@answers(bp, 400, 404)
def search(args: dict):
    """Incidents as GeoJSON, newest first, paged (``total``, ``page``, ``page_size``)."""
    page, size = args.pop("page"), args.pop("page_size")
    with get_db().connect() as conn:
        rows, total = incidents.search(conn, filters_of(args), page=page, page_size=size)
    fc = incidents.as_feature_collection(rows, total=total, page=page, page_size=size)
    return Response(json.dumps(fc, ensure_ascii=False, default=str),
                    mimetype="application/geo+json")


@bp.get("/api/public/incidents")
@bp.arguments(s.FilterArgs, location="query")
@bp.response(200, s.FeatureCollection, content_type="application/geo+json")
@public(bp)
@answers(bp, 400, 404)
def public_view(args: dict):
    """Incidents for the public (no account): no personal data; disputes and housing cases
    without description, their location blurred to a ~200 m cell."""
    with get_db().connect() as conn:
        fc = incidents.public_feature_collection(conn, filters_of(args))
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
@bp.arguments(s.FilterArgs, location="query")
@bp.response(200, content_type="text/csv",
             description="one row per incident; cells that would start a formula begin "
                         "with an apostrophe")
@answers(bp, 400, 404)
def export_csv(args: dict):
    """Incidents as CSV (UTF-8 with a byte-order mark), every row matching the filters."""
    with get_db().connect() as conn:
        rows, _ = incidents.search(conn, filters_of(args), page=1, page_size=10**9)
    out = io.StringIO()
    out.write("\ufeff")  # so that spreadsheet programs read the Chinese text as UTF-8
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: csv_safe(v) for k, v in row.items()} for row in rows)
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=incidents.csv"})


@bp.get("/api/incidents/nearby")
@bp.arguments(s.NearbyArgs, location="query")
@bp.response(200, s.NearbyList)
@answers(bp, 400)
def nearby(args: dict):
    """Open incidents of a category within 250 m that the account reads: the duplicate check
    before saving."""
    lon, lat = wgs84_point(args["lon"], args["lat"], args["coord_system"])
    with get_db().connect() as conn:
        found = incidents.nearby_open(conn, lon, lat, args["category"], viewer())
    return {"incidents": found}


@bp.get("/api/incidents/<int:incident_id>")
@bp.response(200, s.Incident)
@answers(bp, 404)
def one(incident_id: int):
    """One incident with its history, photos and mediation record. The reporter's contact
    and the names in a mediation record only for admins and the grid's own staff."""
    with get_db().connect() as conn:
        return incidents.get(conn, incident_id, viewer())


@bp.post("/api/incidents/<int:incident_id>/transitions")
@bp.arguments(s.Transition)
@bp.response(200, s.Incident)
@answers(bp, 400, 404, 409, 413, 422)
@idempotent
def move(data: dict, incident_id: int):
    """Move an incident along the closed loop. An illegal step or a stale ``version`` is a
    409 naming the allowed steps or the current version. ``Idempotency-Key``: as for
    placing."""
    with get_db().begin() as conn:
        incidents.transition(conn, incident_id, data.pop("to"), viewer(),
                             version=data.pop("version"), photos=tuple(data.pop("photos")),
                             **data)
        body = json.loads(json.dumps(incidents.get(conn, incident_id, viewer()), default=str))
        record(conn, body, 200)
        return body


@bp.post("/api/incidents/<int:incident_id>/photos")
@bp.arguments(s.PhotoUpload, location="files")
@bp.response(201, s.SavedPhoto)
@answers(bp, 400, 404, 413, 415, 422)
@idempotent
def upload(files: dict, incident_id: int):
    """Attach a photo (multipart field ``photo``: JPEG, PNG or WebP, ≤ 8 MB); its EXIF data,
    GPS position included, is removed. ``Idempotency-Key``: a retried upload attaches the
    photo once."""
    data = files["photo"].read(current_app.config["MAX_PHOTO_BYTES"] + 1)
    with get_db().begin() as conn:
        photo = photos.save_photo(conn, current_app.config["MEDIA_DIR"], incident_id, data,
                                  viewer(), current_app.config["MAX_PHOTO_BYTES"])
        photo["url"] = url_for("media.file", filename=photo["filename"])
        record(conn, photo, 201)
    return photo, 201


@bp.put("/api/incidents/<int:incident_id>/mediation")
@bp.arguments(s.Mediation)
@bp.response(200, s.MediationRecord)
@answers(bp, 400, 404, 413, 422)
@idempotent
def mediation(data: dict, incident_id: int):
    """Create or update a dispute's one-stop mediation record."""
    with get_db().begin() as conn:
        incidents.save_mediation(conn, incident_id, data, viewer())
        body = json.loads(json.dumps(incidents.get(conn, incident_id, viewer())["mediation"],
                                     default=str))
        record(conn, body, 200)
        return body


@media_bp.get("/media/<path:filename>")
def file(filename: str):
    """A photo, for the accounts that read its incident (``geodata.photos.readable``); kept
    by the browser only (``private``), never by a shared cache."""
    with get_db().connect() as conn:
        content_type = photos.readable(conn, filename, viewer())
    response = send_from_directory(current_app.config["MEDIA_DIR"], filename, max_age=86400,
                                   mimetype=content_type)
    response.cache_control.public = False
    response.cache_control.private = True
    response.vary.add("Cookie")
    response.vary.add("Authorization")
    return response


def init_app(app) -> None:
    import os
    app.config.setdefault("MEDIA_DIR",
                          os.environ.get("MEDIA_DIR") or str(PROJECT_ROOT / "var" / "media"))
    app.register_blueprint(media_bp)
