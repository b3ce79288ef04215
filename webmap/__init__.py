"""Web shell of the map service: an application factory, one blueprint per feature."""
from __future__ import annotations

import os

from flask import Flask, request
from flask_compress import Compress
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from geodata.accounts import SESSION_IDLE_HOURS, TOKEN_DAYS
from geodata.db import database_url, make_engine

JSON_LIMIT = 1024 * 1024            # any request body but a photo upload
from .helpers import DEFAULT_NOTICE   # the sample's notice, in the reader's language
DEFAULT_SITE_NAME = "石龙溪社区"   # the sample community


class ConfigError(RuntimeError):
    """A setting in the environment is malformed: the app refuses to start."""


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    env = os.environ
    from geodata.photos import MAX_BYTES
    app.config.update(
        DATABASE_URL=env.get("DATABASE_URL"),
        TIANDITU_KEY=env.get("TIANDITU_KEY"),
        SECRET_KEY=env.get("SECRET_KEY") or _local_secret(),
        # set, not setdefault: Flask defines these keys already, so setdefault did nothing.
        # Behind the documented TLS proxy (PROXY_COUNT > 0) cookies are Secure unless told not
        SESSION_COOKIE_SECURE=env.get("SESSION_COOKIE_SECURE",
                                      "1" if _int_env("PROXY_COUNT", 0) else "0") == "1",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=JSON_LIMIT,
        MAX_PHOTO_BYTES=MAX_BYTES,
        # how many reverse proxies (nginx) stand in front and set X-Forwarded-*; 0: none
        PROXY_COUNT=_int_env("PROXY_COUNT", 0),
        OPEN311_API_KEYS=parse_api_keys(env.get("OPEN311_API_KEYS", "")),
        OPEN311_RATE_LIMIT=_int_env("OPEN311_RATE_LIMIT", 60),
        # a browser session unused this long ends; API tokens live this long unless told
        SESSION_IDLE_HOURS=_int_env("SESSION_IDLE_HOURS", SESSION_IDLE_HOURS) or 1,
        TOKEN_DAYS=_int_env("TOKEN_DAYS", TOKEN_DAYS) or 1,
        # shown on every page and API answer; empty for real, surveyed data
        DATA_NOTICE=env.get("DATA_NOTICE", DEFAULT_NOTICE),
        # whose service this is: the page titles, the header, the installed app's name
        SITE_NAME=env.get("SITE_NAME", "").strip() or DEFAULT_SITE_NAME,
    )
    app.config.update(
        # brotli or gzip for what is worth it; registered first, so it runs after every other
        # after_request hook (the Content Security Policy hashes the uncompressed page)
        COMPRESS_ALGORITHM=["br", "gzip"], COMPRESS_ALGORITHM_STREAMING=["br", "gzip"],
        COMPRESS_MIN_SIZE=500, COMPRESS_MIMETYPES=[
            "text/html", "text/css", "text/csv", "text/xml", "text/javascript",
            "application/javascript", "application/json", "application/geo+json",
            "application/vnd.mapbox-vector-tile"],
    )
    app.config.update(config or {})
    Compress(app)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    if app.config["PROXY_COUNT"]:
        n = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)

    @app.before_request
    def _body_limit():
        # refuse an oversized body from its Content-Length, before anything reads it
        if request.endpoint in ("incidents_api.upload", "patrols_api.upload_gpx"):
            request.max_content_length = app.config["MAX_PHOTO_BYTES"] + 64 * 1024
        if (request.content_length or 0) > (request.max_content_length or float("inf")):
            from flask_babel import gettext
            raise RequestEntityTooLarge(gettext(
                "the request body is larger than %(n)s bytes", n=request.max_content_length))

    from . import access, assets, auth, i18n, jsonapi, openapi, security
    i18n.init_app(app)
    assets.init_app(app)
    auth.init_app(app)
    access.init_app(app)
    auth.init_csrf(app)
    openapi.init_app(app)      # the JSON API's blueprints, with their OpenAPI document
    jsonapi.init_app(app)      # after it: our error bodies replace flask-smorest's
    security.init_app(app)

    from .cli import db_cli, geodata_cli, users_cli
    app.cli.add_command(db_cli)
    app.cli.add_command(geodata_cli)
    app.cli.add_command(users_cli)

    from .views import (admin, coverage, field, incident_pages, incidents_api, ogc, open311,
                        pages, party, rounds, tasks, tiles)
    app.register_blueprint(admin.bp)
    app.register_blueprint(ogc.bp)
    app.register_blueprint(tiles.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(coverage.bp)
    app.register_blueprint(incident_pages.bp)
    app.register_blueprint(tasks.bp)
    app.register_blueprint(field.bp)
    app.register_blueprint(party.bp)
    app.register_blueprint(rounds.bp)
    from .views import visits
    app.register_blueprint(visits.bp)
    incidents_api.init_app(app)
    app.register_blueprint(open311.bp)

    @app.context_processor
    def _page_context():
        from .helpers import page_context
        return page_context()
    return app


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise ConfigError(f"{name} must be a whole number ≥ 0, not {raw!r}")
    return int(raw)


def parse_api_keys(raw: str) -> dict[str, str]:
    """``name:key,name:key`` → {name: key}; a malformed item is a ConfigError naming it."""
    keys = {}
    for n, item in enumerate((i.strip() for i in raw.split(",")), 1):
        if not item:
            continue
        name, sep, key = item.partition(":")
        if not sep or not name.strip() or not key.strip():
            raise ConfigError(f"OPEN311_API_KEYS: item {n} is not 'name:key' (each client "
                              "needs a name, a colon and its key: 'cityapp:s3cret,other:k2')")
        if name.strip() in keys:
            raise ConfigError(f"OPEN311_API_KEYS: the name {name.strip()!r} appears twice")
        keys[name.strip()] = key.strip()
    return keys


def engine(app: Flask):
    """The app's SQLAlchemy engine, created on first use so that CLI help needs no database."""
    eng = app.extensions.get("geodata_engine")
    if eng is None:
        url = database_url(app.config.get("DATABASE_URL"))
        eng = app.extensions["geodata_engine"] = make_engine(url, pool_size=5, max_overflow=10)
        from .jsonapi import watch_commits
        watch_commits(eng)
    return eng


def _local_secret() -> str:
    """A per-checkout secret for development (var/secret_key); production sets SECRET_KEY."""
    import secrets
    from geodata.db import PROJECT_ROOT
    path = PROJECT_ROOT / "var" / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
