"""What every JSON endpoint shares: error bodies and the mapping of the spatial core's errors
(and of requests the schemas refuse) to HTTP statuses."""
from __future__ import annotations

import re

from flask import Flask, current_app, g, has_request_context, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import Engine, event
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from geodata.accounts import LoginThrottled
from geodata.photos import NotAnImage, TooLarge
from geodata.workflow import (Conflict, DutySeparated, Forbidden, IllegalTransition,
                              IncidentError, InvalidInput, NotFound, StaleVersion)

from .i18n import http_text, schema_text, text

HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
              413: "too_large", 415: "unsupported_media_type", 422: "invalid_input",
              429: "too_many_requests", 500: "server_error", 503: "unavailable"}


class BadRequest(IncidentError, ValueError):
    code = "bad_request"


def error(status: int, message: str, code: str | None = None, **extra):
    """A JSON error: ``error`` for people (already in the reader's language), ``code`` for
    programs (stable, English, snake_case)."""
    return jsonify({"error": message, "code": code or HTTP_CODES.get(status, "error"),
                    **extra}), status


def core_error(status: int, exc: IncidentError, **extra):
    return shaped_error(status, text(exc), exc.code, **extra)


# OGC API's exception codes for our statuses
OGC_CODES = {400: "InvalidParameterValue", 401: "Unauthorized", 403: "Forbidden",
             404: "NotFound", 409: "Conflict", 413: "PayloadTooLarge",
             422: "InvalidParameterValue", 429: "TooManyRequests", 500: "ServerError",
             503: "ServiceUnavailable"}


def shaped_error(status: int, message: str, code: str | None = None, **extra):
    """An error in the shape its way in speaks: Open311's list of {code, description}, OGC
    API's exception, JSON under /api/ and /tiles/ (and for clients asking for JSON), an error
    page in the site's frame elsewhere."""
    if request.path.startswith("/open311/"):
        from .views.open311 import render_error
        return render_error(status, message)
    if request.path == "/ogc" or request.path.startswith("/ogc/"):
        from .views.ogc import error_response
        return error_response(status, OGC_CODES.get(status, "Error"), message)
    if _is_api() or request.accept_mimetypes.best == "application/json":
        return error(status, message, code, **extra)
    from werkzeug.exceptions import default_exceptions
    exc = default_exceptions.get(status, HTTPException)(message)
    exc.code = status
    return _page(exc), status


MAX_JSON_DEPTH = 32   # what the message for a body nested past Python's recursion limit says


# C0 control characters but tab, line feed and carriage return: PostgreSQL text cannot hold
# NUL, XML 1.0 (Open311) cannot carry any of them, and no person types them
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _controlled(value, path: str):
    """The first field (dotted path) of a parsed JSON body whose key or text holds a control
    character, or None."""
    if isinstance(value, str):
        return path if CONTROL.search(value) else None
    items = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        where = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and CONTROL.search(key):
            return where
        found = _controlled(item, where)
        if found:
            return found
    return None


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def watch_commits(engine: Engine) -> None:
    """Note in the request when a COMMIT is sent: after that, a lost connection may have lost
    only the answer, not the change, and a client must not be told that nothing was saved."""
    @event.listens_for(engine, "commit")
    def _committing(conn):
        if has_request_context():
            g.commit_sent = True


def write_outcome() -> str:
    """What a failed request did to the data, as far as the server knows: ``read`` (a read:
    nothing to save), ``nothing_saved`` (no COMMIT was sent, so the database rolled back
    whatever it had begun) or ``maybe_saved`` (a COMMIT was sent: it may have succeeded with
    its answer lost)."""
    if request.method in SAFE_METHODS:
        return "read"
    return "maybe_saved" if g.get("commit_sent") else "nothing_saved"


def unavailable_text(outcome: str) -> tuple[str, str]:
    """The message and code of a 503 for ``outcome`` (``write_outcome``)."""
    if outcome == "maybe_saved":
        if request.headers.get("Idempotency-Key"):
            return _("the connection to the database was lost while saving: the change may "
                     "have been saved. Send the same request again with the same "
                     "Idempotency-Key: it is saved at most once"), "outcome_unknown"
        return _("the connection to the database was lost while saving: the change may have "
                 "been saved. Check before sending it again (a request with an "
                 "Idempotency-Key can be retried safely)"), "outcome_unknown"
    if outcome == "nothing_saved":
        return _("the database is unavailable at the moment; nothing was saved, please try "
                 "again shortly"), "database_unavailable"
    return _("the database is unavailable at the moment; please try again shortly"), \
        "database_unavailable"


def _is_api() -> bool:
    return request.path.startswith(("/api/", "/tiles/"))


def init_app(app: Flask) -> None:
    @app.before_request
    def _refuse_control_characters():
        # refused up front, naming the field, rather than stored (and failing later in the
        # database or in an Open311 XML answer): NUL anywhere (PostgreSQL cannot hold it),
        # the other control characters in what a request asks to store (its form or JSON
        # body; the API's schemas say the same of every text they read)
        field = None
        for name, value in (("path", request.path), *request.args.items(multi=True)):
            if "\x00" in name or "\x00" in value:
                raise BadRequest("the request may not contain NUL characters", "nul_character")
        for k, v in request.form.items(multi=True):
            field = field or (k if CONTROL.search(k) or CONTROL.search(v) else None)
        if field is None and request.is_json:
            field = _controlled(request.get_json(silent=True), "")
        if field is not None:
            raise BadRequest("%(field)s: control characters are not allowed (only tab and "
                             "line breaks)", "control_character", field=field or "body")

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_down(exc):
        # the database is unreachable or restarting; whether anything was stored depends on
        # whether a COMMIT had been sent (write_outcome)
        current_app.logger.warning("database unavailable: %s", exc.orig or exc)
        message, code = unavailable_text(write_outcome())
        response = current_app.make_response(shaped_error(503, message, code))
        response.headers["Retry-After"] = "2"
        return response

    @app.errorhandler(DataError)
    def _data_error(exc):
        # a value the database cannot take (out of range, unreadable): the request's fault
        diag = getattr(exc.orig, "diag", None)
        detail = getattr(diag, "message_primary", None) or "out of range"
        return shaped_error(400, _("the database refused a value: %(detail)s", detail=detail),
                            "value_refused")

    @app.errorhandler(BadRequest)
    def _bad(exc):
        return core_error(400, exc)

    @app.errorhandler(InvalidInput)
    def _invalid(exc):
        # the contract (schemas) already checked the request's shape: what the core refuses
        # now is well formed but not possible with this data (422)
        if isinstance(exc, TooLarge):
            return core_error(413, exc)
        if isinstance(exc, NotAnImage):
            return core_error(415, exc)
        return core_error(422, exc)

    @app.errorhandler(RecursionError)
    def _too_deep(exc):
        return shaped_error(400, _("JSON may nest at most %(n)s levels deep",
                                   n=MAX_JSON_DEPTH), "too_deep")

    @app.errorhandler(NotFound)
    def _missing(exc):
        return core_error(404, exc)

    @app.errorhandler(Forbidden)
    def _forbidden(exc):
        if isinstance(exc, DutySeparated):      # a refused step is kept in the audit log
            from geodata.incidents import audit_refusal
            from .helpers import get_db
            audit_refusal(get_db(), exc)
        if isinstance(exc, LoginThrottled):
            response = current_app.make_response(core_error(429, exc))
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        return core_error(403, exc)

    @app.errorhandler(Conflict)
    def _conflict(exc):
        extra = {}
        if isinstance(exc, IllegalTransition):
            extra = {"state": exc.state, "allowed": list(exc.allowed)}
        elif isinstance(exc, StaleVersion):
            extra = {"state": exc.state, "version": exc.current}
        return core_error(409, exc, **extra)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        """JSON errors under /api/, Open311 errors under /open311/ (unknown routes included);
        the usual pages elsewhere. A request the schemas refuse is a 400 naming the field."""
        if request.path.startswith("/open311/"):
            from .views.open311 import http_error
            response, status = http_error(exc), exc.code or 500
        elif request.path == "/ogc" or request.path.startswith("/ogc/"):
            from .views.ogc import error_response
            response = error_response(exc.code or 500, exc.name.replace(" ", ""),
                                      http_text(exc))
            status = exc.code or 500
        elif not _is_api():
            return _page(exc)
        elif (getattr(exc, "data", None) or {}).get("messages"):
            response, status = error(400, describe(exc.data["messages"]), "invalid_request")
        else:
            response, status = error(exc.code or 500, http_text(exc),
                                     "outcome_unknown" if _maybe_saved(exc) else None)
        _keep_headers(exc, response)
        return response, status


def _keep_headers(exc: HTTPException, response) -> None:
    """What an exception says about itself (Allow on a 405, WWW-Authenticate, …) stays on the
    answer that replaces its own."""
    for name, value in exc.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value


def _maybe_saved(exc: HTTPException) -> bool:
    return exc.code == 500 and write_outcome() == "maybe_saved"


def _page(exc: HTTPException):
    """An error page in the reader's language, inside the site's frame (its header and links)."""
    from flask import render_template
    from .i18n import http_title
    status = exc.code or 500
    try:
        body = render_template("error.html", status=status, title=http_title(status),
                               message=http_text(exc), map=None, basemap="none")
    except Exception:   # the frame needs the database (the header's grids): plain then
        current_app.logger.exception("error page")
        from markupsafe import escape
        body = f"<!doctype html><meta charset=utf-8><h1>{status}</h1><p>{escape(http_text(exc))}</p>"
    response = current_app.make_response((body, status))
    _keep_headers(exc, response)
    return response


def describe(messages: dict) -> str:
    """webargs' nested messages as one line that names each field: 'lon：必须是数字'."""
    parts = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, path + [str(key)])
        elif isinstance(node, list) and all(isinstance(m, str) for m in node):
            where = ".".join(p for p in path[1:] if p != "_schema") or path[0]
            parts.append(f"{where}: {' '.join(schema_text(m) for m in node).rstrip('.')}")
        else:
            for i, value in enumerate(node):
                walk(value, path + [str(i)])

    walk(messages, [])
    return "; ".join(parts) or _("the request does not match the API's contract")
