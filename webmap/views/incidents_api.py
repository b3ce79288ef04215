"""Incidents JSON API: place, list (GeoJSON, paged, CSV), read, transition, photos, mediation."""
from __future__ import annotations

import csv
import io
import json
import os
from datetime import date, datetime, time, timedelta, timezone

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory, url_for

from geodata import accounts, incidents, photos
from geodata.incidents import Filters, NewIncident
from geodata.db import PROJECT_ROOT
from geodata.workflow import STATE_LABELS, Forbidden

from .. import engine
from ..auth import account
from ..jsonapi import BadRequest, json_body

bp = Blueprint("incidents_api", __name__)
CST = timezone(timedelta(hours=8))  # dates in filters are local (China Standard Time) days


def actor(data: dict | None = None) -> str:
    """Who acts: the logged-in account (names sent in the body are not trusted)."""
    return account().name


def own_grids() -> tuple[str, ...] | None:
    """The grids the account may act in; None for admins (everywhere)."""
    acct = account()
    return None if acct.is_admin else acct.grid_codes


def check_grid(conn, incident_id: int) -> None:
    item = incidents.get(conn, incident_id)
    if not account().may_act_in(item["grid_code"]):
        raise Forbidden(f"incident {incident_id} lies in grid {item['grid_code']}; you act in "
                        f"{', '.join(account().grid_codes) or 'no grid'}")


def _int(data: dict, key: str, required: bool = False) -> int | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise BadRequest(f"{key} is required")
        return None
    if isinstance(value, bool):
        raise BadRequest(f"{key} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{key} must be an integer") from None


def _day(raw: str | None, name: str) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.combine(date.fromisoformat(raw), time(), CST)
    except ValueError:
        raise BadRequest(f"{name} must be a date like 2021-06-30") from None


def filters_from(args) -> Filters:
    """Filters from query parameters: state, category (comma lists), grid, since, until
    (dates, until inclusive), overdue (true/false)."""
    states = tuple(s for s in args.get("state", "").split(",") if s)
    unknown = [s for s in states if s not in STATE_LABELS]
    if unknown:
        raise BadRequest(f"unknown state {', '.join(unknown)}; states: {', '.join(STATE_LABELS)}")
    overdue = args.get("overdue")
    if overdue not in (None, "", "true", "false"):
        raise BadRequest("overdue must be true or false")
    until = _day(args.get("until"), "until")
    return Filters(states=states,
                   categories=tuple(c for c in args.get("category", "").split(",") if c),
                   grid=args.get("grid") or None, since=_day(args.get("since"), "since"),
                   until=until + timedelta(days=1) if until else None,
                   overdue=None if overdue in (None, "") else overdue == "true")


def _page(args) -> tuple[int, int]:
    page = _int(dict(args), "page")
    size = _int(dict(args), "page_size")
    page = 1 if page is None else page
    size = incidents.PAGE_SIZE if size is None else size
    if page < 1 or not 1 <= size <= incidents.MAX_PAGE_SIZE:
        raise BadRequest(f"page must be ≥ 1 and page_size between 1 and "
                         f"{incidents.MAX_PAGE_SIZE}")
    return page, size


@bp.get("/api/incident-categories")
def categories():
    with engine(current_app).connect() as conn:
        return jsonify({"categories": incidents.categories(conn)})


@bp.post("/api/incidents")
def create():
    data = json_body()
    for key in ("lon", "lat", "category", "description"):
        if data.get(key) in (None, ""):
            raise BadRequest(f"{key} is required")
    new = NewIncident(
        lon=data["lon"], lat=data["lat"], category=data["category"],
        description=data["description"], reported_by=actor(data),
        coord_system=data.get("coord_system") or "wgs84",
        household_code=data.get("household_code") or None,
        building_code=data.get("building_code") or None,
        duplicate_of=_int(data, "duplicate_of"), source="api", contact=None)
    with engine(current_app).begin() as conn:
        placed = incidents.place(conn, new, allowed_grids=own_grids())
        accounts.audit(conn, new.reported_by, "incident.create", str(placed["id"]),
                       grid=placed["grid_code"], category=new.category)
    body = json.loads(json.dumps(placed, default=str))
    body["url"] = url_for(".one", incident_id=placed["id"])
    return jsonify(body), 201, {"Location": body["url"]}


@bp.get("/api/incidents")
def search():
    page, size = _page(request.args)
    with engine(current_app).connect() as conn:
        rows, total = incidents.search(conn, filters_from(request.args), page=page,
                                       page_size=size)
    fc = incidents.as_feature_collection(rows, total=total, page=page, page_size=size)
    return Response(json.dumps(fc, ensure_ascii=False, default=str),
                    mimetype="application/geo+json")


CSV_COLUMNS = ["id", "category_code", "category", "state", "grid_code", "created_at",
               "deadline", "closed_at", "overdue", "lon", "lat", "description"]


@bp.get("/api/public/incidents")
def public():
    """Incidents for the public (no account): no personal data, personal cases blurred."""
    with engine(current_app).connect() as conn:
        fc = incidents.public_feature_collection(conn, filters_from(request.args))
    return Response(json.dumps(fc, ensure_ascii=False), mimetype="application/geo+json")


@bp.get("/api/incidents.csv")
def export_csv():
    with engine(current_app).connect() as conn:
        rows, _ = incidents.search(conn, filters_from(request.args), page=1,
                                   page_size=10**9)
    out = io.StringIO()
    out.write("\ufeff")  # so that spreadsheet programs read the Chinese text as UTF-8
    writer = csv.DictWriter(out, CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=incidents.csv"})


@bp.get("/api/incidents/nearby")
def nearby():
    """Open incidents of a category within 250 m: the duplicate check before saving."""
    args = request.args
    if not args.get("category"):
        raise BadRequest("category is required")
    try:
        lon, lat = float(args["lon"]), float(args["lat"])
    except (KeyError, ValueError):
        raise BadRequest("lon and lat are required numbers") from None
    if args.get("coord_system") == "gcj02":
        from geodata.gcj02 import gcj02_to_wgs84
        lon, lat = (float(v) for v in gcj02_to_wgs84(lon, lat))
    with engine(current_app).connect() as conn:
        found = incidents.nearby_open(conn, lon, lat, args["category"])
    return Response(json.dumps({"incidents": found}, ensure_ascii=False, default=str),
                    mimetype="application/json")


@bp.get("/api/incidents/<int:incident_id>")
def one(incident_id: int):
    with engine(current_app).connect() as conn:
        return jsonify(incidents.get(conn, incident_id))


@bp.post("/api/incidents/<int:incident_id>/transitions")
def move(incident_id: int):
    data = json_body()
    if not data.get("to"):
        raise BadRequest("to (the next state) is required")
    photo_ids = data.get("photos") or []
    if not isinstance(photo_ids, list) or not all(isinstance(p, int) for p in photo_ids):
        raise BadRequest("photos must be a list of photo ids")
    with engine(current_app).begin() as conn:
        check_grid(conn, incident_id)
        moved = incidents.transition(conn, incident_id, data["to"], actor=actor(data),
                                     version=_int(data, "version", required=True),
                                     note=(data.get("note") or None), photos=tuple(photo_ids),
                                     rating=_int(data, "rating"),
                                     duplicate_of=_int(data, "duplicate_of"))
        accounts.audit(conn, actor(data), "incident.transition", str(incident_id),
                       **{"from": moved["from_state"], "to": moved["state"]})
        return jsonify(incidents.get(conn, incident_id))


@bp.post("/api/incidents/<int:incident_id>/photos")
def upload(incident_id: int):
    file = request.files.get("photo")
    if file is None:
        raise BadRequest("send the picture as multipart/form-data in a field named 'photo'")
    data = file.read(current_app.config["MAX_PHOTO_BYTES"] + 1)
    with engine(current_app).begin() as conn:
        check_grid(conn, incident_id)
        photo = photos.save_photo(conn, current_app.config["MEDIA_DIR"], incident_id, data,
                                  actor(request.form.to_dict()),
                                  current_app.config["MAX_PHOTO_BYTES"])
        accounts.audit(conn, actor(), "incident.photo", str(incident_id), photo=photo["id"])
    photo["url"] = url_for(".media", filename=photo["filename"])
    return jsonify(photo), 201


@bp.get("/media/<path:filename>")
def media(filename: str):
    return send_from_directory(current_app.config["MEDIA_DIR"], filename, max_age=86400)


MEDIATION_FIELDS = ("parties", "party_branch", "resident_representative", "lawyer", "sessions",
                    "outcome", "agreement")


@bp.put("/api/incidents/<int:incident_id>/mediation")
def mediation(incident_id: int):
    data = json_body()
    unknown = set(data) - set(MEDIATION_FIELDS) - {"actor"}
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(sorted(unknown))}; "
                         f"fields: {', '.join(MEDIATION_FIELDS)}")
    for key in ("parties", "sessions"):
        if key in data and not isinstance(data[key], list):
            raise BadRequest(f"{key} must be a list")
    if "agreement" in data and not isinstance(data["agreement"], (bool, type(None))):
        raise BadRequest("agreement must be true, false or null")
    who = actor(data)
    with engine(current_app).begin() as conn:
        check_grid(conn, incident_id)
        incidents.save_mediation(conn, incident_id, {k: data.get(k) for k in MEDIATION_FIELDS
                                                      if k in data}, who)
        accounts.audit(conn, who, "incident.mediation", str(incident_id))
        return jsonify(incidents.get(conn, incident_id)["mediation"])


def init_app(app) -> None:
    app.config.setdefault("MEDIA_DIR",
                          os.environ.get("MEDIA_DIR") or str(PROJECT_ROOT / "var" / "media"))
    app.config.setdefault("MAX_PHOTO_BYTES", photos.MAX_BYTES)
    # leaves room for the form fields around the largest accepted photo
    app.config.setdefault("MAX_CONTENT_LENGTH", photos.MAX_BYTES + 1024 * 1024)
    app.register_blueprint(bp)

