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
from sqlalchemy.pool import NullPool

from geodata.db import database_url
from geodata.migrate import upgrade
from geodata.sample import load_sample

RUN = uuid.uuid4().hex[:8]
_counter = itertools.count()


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
    url = _create(admin, name)
    try:
        upgrade(url)
        eng = create_engine(url, poolclass=NullPool)
        load_sample(eng)
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
    from webmap import create_app
    return create_app({"DATABASE_URL": shared_db_url, "TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def write_app(db_url):
    """An app on a private database, for tests that change data."""
    from webmap import create_app
    app = create_app({"DATABASE_URL": db_url, "TESTING": True})
    yield app
    if "geodata_engine" in app.extensions:
        app.extensions["geodata_engine"].dispose()
