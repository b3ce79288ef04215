"""What every JSON endpoint shares: error bodies and the mapping of the spatial core's errors
(and of requests the schemas refuse) to HTTP statuses."""
from __future__ import annotations

from flask import Flask, current_app, jsonify, request
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from geodata.accounts import LoginThrottled
from geodata.photos import NotAnImage, TooLarge
from geodata.workflow import (Conflict, Forbidden, IllegalTransition, InvalidInput, NotFound,
                              StaleVersion)


class BadRequest(ValueError):
    pass


def error(status: int, message: str, **extra):
    return jsonify({"error": message, **extra}), status


MAX_JSON_DEPTH = 32   # what the message for a body nested past Python's recursion limit says


def _has_nul(value) -> bool:
    return isinstance(value, str) and "\x00" in value


def _is_api() -> bool:
    return request.path.startswith(("/api/", "/tiles/"))


def init_app(app: Flask) -> None:
    @app.before_request
    def _refuse_nul():
        # PostgreSQL text cannot hold NUL: refuse it up front rather than fail in the database
        if "\x00" in request.path or any(
                _has_nul(k) or _has_nul(v) for source in (request.args, request.form)
                for k, v in source.items(multi=True)):
            raise BadRequest("the request may not contain NUL characters")

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def _database_down(exc):
        # the database is unreachable or restarting: nothing was stored; the client may retry
        current_app.logger.warning("database unavailable: %s", exc.orig or exc)
        response, status = error(503, "the database is unavailable at the moment; nothing "
                                      "was saved, please try again shortly")
        response.headers["Retry-After"] = "2"
        return response, status

    @app.errorhandler(DataError)
    def _data_error(exc):
        # a value the database cannot take (out of range, unreadable): the request's fault
        diag = getattr(exc.orig, "diag", None)
        detail = getattr(diag, "message_primary", None) or "a value is out of range"
        return error(400, f"the database refused a value: {detail}")

    @app.errorhandler(BadRequest)
    def _bad(exc):
        return error(400, str(exc))

    @app.errorhandler(InvalidInput)
    def _invalid(exc):
        # the contract (schemas) already checked the request's shape: what the core refuses
        # now is well formed but not possible with this data (422)
        if isinstance(exc, TooLarge):
            return error(413, str(exc))
        if isinstance(exc, NotAnImage):
            return error(415, str(exc))
        return error(422, str(exc))

    @app.errorhandler(RecursionError)
    def _too_deep(exc):
        return error(400, f"JSON may nest at most {MAX_JSON_DEPTH} levels deep")

    @app.errorhandler(NotFound)
    def _missing(exc):
        return error(404, str(exc))

    @app.errorhandler(Forbidden)
    def _forbidden(exc):
        if isinstance(exc, LoginThrottled):
            response, status = error(429, str(exc))
            response.headers["Retry-After"] = str(exc.retry_after)
            return response, status
        return error(403, str(exc))

    @app.errorhandler(Conflict)
    def _conflict(exc):
        extra = {}
        if isinstance(exc, IllegalTransition):
            extra = {"state": exc.state, "allowed": list(exc.allowed)}
        elif isinstance(exc, StaleVersion):
            extra = {"state": exc.state, "version": exc.current}
        return error(409, str(exc), **extra)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        """JSON errors under /api/, Open311 errors under /open311/ (unknown routes included);
        the usual pages elsewhere. A request the schemas refuse is a 400 naming the field."""
        if request.path.startswith("/open311/"):
            from .views.open311 import http_error
            return http_error(exc)
        if request.path == "/ogc" or request.path.startswith("/ogc/"):
            from .views.ogc import error_response
            return error_response(exc.code or 500, exc.name.replace(" ", ""),
                                  exc.description or exc.name)
        if not _is_api():
            return exc
        messages = (getattr(exc, "data", None) or {}).get("messages")
        if messages:
            response, status = error(400, describe(messages))
        else:
            response, status = error(exc.code or 500, exc.description or exc.name)
        # keep what the exception says about itself (Allow on a 405, WWW-Authenticate, …)
        for name, value in exc.get_headers():
            if name.lower() not in ("content-type", "content-length"):
                response.headers[name] = value
        return response, status


def describe(messages: dict) -> str:
    """webargs' nested messages as one line that names each field: 'lon: Not a valid …'."""
    parts = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, path + [str(key)])
        elif isinstance(node, list) and all(isinstance(m, str) for m in node):
            where = ".".join(p for p in path[1:] if p != "_schema") or path[0]
            parts.append(f"{where}: {' '.join(node).rstrip('.')}")
        else:
            for i, value in enumerate(node):
                walk(value, path + [str(i)])

    walk(messages, [])
    return "; ".join(parts) or "the request does not match the API's contract"
