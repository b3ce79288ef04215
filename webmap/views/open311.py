"""Open311 GeoReport v2 under /open311/v2/: XML (required by the spec) and JSON.

List responses are bare lists in JSON and wrapped in a plural element in XML; errors are a list
of {code, description} (``<errors><error>…``) with 400, 403 or 404.
"""
from __future__ import annotations

import hmac
import re
import xml.etree.ElementTree as ET

from flask import Blueprint, Response, current_app, json, request, url_for
from werkzeug.exceptions import HTTPException

from geodata import accounts, open311
from geodata.open311 import Open311Error

from ..i18n import http_text, text
from ..helpers import get_db, notice
from ..idempotent import idempotent, record

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FORMATS = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
# element names for the items of list responses in XML
ITEM = {"services": "service", "service_requests": "request", "errors": "error",
        "endpoints": "endpoint", "formats": "format", "attributes": "attribute",
        "values": "value"}


# what XML 1.0 cannot carry at all, even escaped: stored text is new-checked on the way in
# (webmap.jsonapi), but older or imported rows may hold some
NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(tag: str, value) -> ET.Element:
    node = ET.Element(tag)
    if isinstance(value, dict):
        for k, v in value.items():
            node.append(_xml(k, v))
    elif isinstance(value, list):
        for item in value:
            node.append(_xml(ITEM.get(tag, "item"), item))
    elif isinstance(value, bool):
        node.text = "true" if value else "false"
    elif value is not None:
        node.text = NOT_IN_XML.sub("", str(value))
    return node


def render(fmt: str, root: str, body, status: int = 200) -> Response:
    """``body`` as JSON, or as XML under the element ``root``."""
    if fmt == "json":
        return Response(json.dumps(body, ensure_ascii=False), status, mimetype=None,
                        content_type=FORMATS["json"])
    xml = ET.tostring(_xml(root, body), encoding="unicode")
    return Response('<?xml version="1.0" encoding="utf-8"?>' + xml, status,
                    content_type=FORMATS["xml"])


def _fmt(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(404, "unknown format .%(fmt)s; use .xml or .json", fmt=fmt)
    return fmt


def _error_format() -> str:
    return "json" if request.path.endswith(".json") else "xml"


@bp.errorhandler(Open311Error)
def _open311_error(exc: Open311Error):
    return render(_error_format(), "errors", [{"code": exc.status, "description": text(exc)}],
                  exc.status)


def http_error(exc: HTTPException):
    return render_error(exc.code or 500, http_text(exc))


def render_error(status: int, description: str) -> Response:
    """An error in Open311's own shape (a list of {code, description}), in the request's
    format."""
    return render(_error_format(), "errors", [{"code": status, "description": description}],
                  status)


@bp.get("/discovery.<fmt>")
def discovery(fmt: str):
    body = {
        "changeset": "2026-11-26T00:00:00+08:00",
        "contact": f"{current_app.config['SITE_NAME']}网格化管理平台"
                   + ("（示意数据）" if notice() else ""),
        "key_service": "API keys are issued by the community's administrators",
        "endpoints": [{
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": url_for(".services", fmt="xml", _external=True).rsplit("/", 1)[0],
            "changeset": "2026-11-26T00:00:00+08:00",
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    }
    return render(_fmt(fmt), "discovery", body)


@bp.get("/services.<fmt>")
def services(fmt: str):
    with get_db().connect() as conn:
        return render(_fmt(fmt), "services", open311.services(conn))


@bp.get("/services/<code>.<fmt>")
def service_definition(code: str, fmt: str):
    with get_db().connect() as conn:
        return render(_fmt(fmt), "service_definition", open311.definition(conn, code))


@bp.get("/requests.<fmt>")
def requests_list(fmt: str):
    _fmt(fmt)
    with get_db().connect() as conn:
        rows = open311.search(conn, request.args.to_dict())
    return render(fmt, "service_requests", [open311.as_request(r) for r in rows])


@bp.get("/requests/<int:request_id>.<fmt>")
def request_one(request_id: int, fmt: str):
    _fmt(fmt)
    with get_db().connect() as conn:
        row = open311.one(conn, request_id)
    return render(fmt, "service_requests", [open311.as_request(row)])


def _client() -> str:
    """The name of the client whose api_key was sent; 403 without a valid key. Wrong keys are
    counted per address like failed logins (``accounts.check_api_key_attempts``): past the
    limit every key from there waits (429), the right one too."""
    given = request.form.get("api_key", "")
    with get_db().connect() as conn:
        accounts.check_api_key_attempts(conn, request.remote_addr)
        for name, key in current_app.config["OPEN311_API_KEYS"].items():
            if given and hmac.compare_digest(given, key):
                return name
        accounts.note_bad_api_key(conn, request.remote_addr)
        conn.commit()
    raise Open311Error(403, "api_key is missing or not valid")


@bp.post("/requests.<fmt>")
@idempotent(replay=lambda status, body, fmt: render(fmt, "service_requests", body, status))
def requests_create(fmt: str):
    """API keys come from OPEN311_API_KEYS="name:key,name:key"; each client may post
    OPEN311_RATE_LIMIT requests a minute, counted in the database (all workers together).
    ``Idempotency-Key``: a retried post creates one request."""
    _fmt(fmt)
    client = _client()
    with get_db().begin() as conn:
        created = open311.create(conn, request.form.to_dict(), client,
                                 per_minute=current_app.config["OPEN311_RATE_LIMIT"])
        body = json.loads(json.dumps([created], ensure_ascii=False, default=str))
        record(conn, body, 201)
    return render(fmt, "service_requests", body, 201)
