"""Web shell of the map service: an application factory, one blueprint per feature."""
from __future__ import annotations

import os

from flask import Flask

from geodata.db import database_url, make_engine


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        DATABASE_URL=os.environ.get("DATABASE_URL"),
        TIANDITU_KEY=os.environ.get("TIANDITU_KEY"),
        JSON_AS_ASCII=False,
        SECRET_KEY=os.environ.get("SECRET_KEY") or _local_secret(),
        SESSION_COOKIE_SECURE=os.environ.get("SESSION_COOKIE_SECURE") == "1",
    )
    app.config.update(config or {})
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    from . import access, assets, auth, jsonapi, limits, security
    assets.init_app(app)
    limits.init_app(app)
    auth.init_app(app)
    access.init_app(app)
    auth.init_csrf(app)
    jsonapi.init_app(app)
    security.init_app(app)

    from .cli import db_cli, geodata_cli, users_cli
    app.cli.add_command(db_cli)
    app.cli.add_command(geodata_cli)
    app.cli.add_command(users_cli)

    from .views import admin, api, coverage, incident_pages, incidents_api, open311, pages
    app.register_blueprint(admin.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(coverage.bp)
    app.register_blueprint(incident_pages.bp)
    app.register_blueprint(api.bp)
    incidents_api.init_app(app)
    open311.init_app(app)
    return app


def engine(app: Flask):
    """The app's SQLAlchemy engine, created on first use so that CLI help needs no database."""
    eng = app.extensions.get("geodata_engine")
    if eng is None:
        url = database_url(app.config.get("DATABASE_URL"))
        eng = app.extensions["geodata_engine"] = make_engine(url, pool_size=5, max_overflow=10)
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
