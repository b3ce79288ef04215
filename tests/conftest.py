"""Fixtures: throwaway PostGIS databases on the server that ``DATABASE_URL`` names.

``make test`` starts the project's local PostGIS and sets ``DATABASE_URL``. The suite never
touches that database itself: it builds a template database (migrated, sample loaded) once, and
clones it (``CREATE DATABASE … TEMPLATE``) for every test that writes, and once for the tests
that only read. Everything it creates is dropped at the end.
"""
from __future__ import annotations

import itertools
import os
import uuid

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.pool import NullPool

from flask.testing import FlaskClient

from geodata import accounts
from geodata.db import database_url
from geodata.migrate import PostGISMissing, dba_command, upgrade
from geodata.sample import load_sample

RUN = uuid.uuid4().hex[:8]
_counter = itertools.count()
PASSWORD = "test password 123"
# the accounts every test database has: name -> (role, grids)
USERS = {
    "admin": ("admin", ()),
    "planner": ("planner", ()),
    "head3": ("grid_head", ("511702005007003",)),
    "worker3": ("grid_worker", ("511702005007003",)),
    "worker1": ("grid_worker", ("511702005007001",)),
    "area_planner": ("planner", ("511702005007",)),      # scoped to the sample community
}
TOKENS: dict[str, str] = {}


def client_class(token: str | None, language: str = "en"):
    """A test client that sends ``token`` as a bearer token with every request, and asks for
    messages in ``language`` unless a request says otherwise: the tests of behaviour read the
    English message ids; tests/webmap/test_i18n.py holds the Chinese (the default) to account."""
    class TokenClient(FlaskClient):
        def open(self, *args, **kwargs):
            headers = dict(kwargs.pop("headers", None) or {})
            if token:
                headers.setdefault("Authorization", f"Bearer {token}")
            if language:
                headers.setdefault("Accept-Language", language)
            kwargs["headers"] = headers
            return super().open(*args, **kwargs)
    return TokenClient


def _server_url():
    if not os.environ.get("DATABASE_URL"):
        pytest.exit("DATABASE_URL is not set: run the suite with `make test`, or point "
                    "DATABASE_URL at a PostGIS server where this user may create databases.",
                    returncode=2)
    return make_url(database_url())


@pytest.fixture(scope="session")
def admin():
    """An autocommit engine on the server's maintenance database."""
    eng = create_engine(_server_url().set(database="postgres"), poolclass=NullPool,
                        isolation_level="AUTOCOMMIT")
    yield eng
    eng.dispose()


def _create(admin, name: str, template: str | None = None) -> str:
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'
                          + (f' TEMPLATE "{template}"' if template else "")))
    return _server_url().set(database=name).render_as_string(hide_password=False)


def _drop(admin, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def template_db(admin):
    name = f"slx_tpl_{RUN}"
    try:
        url = _create(admin, name)
    except ProgrammingError as exc:   # no CREATEDB: say so once instead of erring every test
        pytest.exit(f"this role may not create databases ({exc.orig}); the suite needs a role "
                    "with CREATEDB (ALTER ROLE … CREATEDB)", returncode=2)
    try:
        try:
            upgrade(url)
        except PostGISMissing:
            pytest.exit("PostGIS is missing from new databases and this role may not create "
                        "it; a superuser must run once: "
                        + dba_command(str(_server_url()), "template1"), returncode=2)
        eng = create_engine(url, poolclass=NullPool)
        load_sample(eng)
        with eng.begin() as conn:
            for user, (role, grids) in USERS.items():
                accounts.create_user(conn, user, role, PASSWORD, grids, actor="tests")
                TOKENS[user] = accounts.issue_token(conn, user, actor="tests")
        eng.dispose()
        yield name
    finally:
        _drop(admin, name)


@pytest.fixture
def db_url(admin, template_db):
    """A fresh database with the schema and the sample data, for a test that writes."""
    name = f"slx_t_{RUN}_{next(_counter)}"
    url = _create(admin, name, template_db)
    yield url
    _drop(admin, name)


@pytest.fixture
def db(db_url):
    eng = create_engine(db_url, poolclass=NullPool)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def empty_db_url(admin):
    """A fresh database with the schema and no data (real-data tests bring their own)."""
    name = f"slx_e_{RUN}_{next(_counter)}"
    url = _create(admin, name)
    try:
        upgrade(url)
        yield url
    finally:
        _drop(admin, name)


@pytest.fixture(scope="session")
def shared_db_url(admin, template_db):
    """One database with the sample data that read-only tests share."""
    name = f"slx_ro_{RUN}"
    url = _create(admin, name, template_db)
    yield url
    _drop(admin, name)


@pytest.fixture(scope="session")
def shared_db(shared_db_url):
    eng = create_engine(shared_db_url, poolclass=NullPool)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def app(shared_db_url):
    """The app on the shared read-only database; its test clients act as the admin."""
    from webmap import create_app
    app = create_app({"DATABASE_URL": shared_db_url, "TESTING": True})
    app.test_client_class = client_class(TOKENS["admin"])
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def client_as(app, user: str | None):
    """A test client acting as ``user`` (None: nobody logged in)."""
    return client_class(TOKENS[user] if user else None)(app, app.response_class,
                                                        use_cookies=True)


@pytest.fixture
def write_app(db_url):
    """An app on a private database, for tests that change data."""
    from webmap import create_app
    app = create_app({"DATABASE_URL": db_url, "TESTING": True})
    app.test_client_class = client_class(TOKENS["admin"])
    yield app
    if "geodata_engine" in app.extensions:
        app.extensions["geodata_engine"].dispose()
