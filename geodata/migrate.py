"""Schema migrations (Alembic), callable without Flask.

PostGIS must exist in the database before the first migration. A superuser's connection creates
it; a plain role cannot (PostGIS is not a trusted extension), so ``upgrade`` stops first with the
one command a DBA must run, instead of failing half-way inside Alembic.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

from .db import database_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class PostGISMissing(RuntimeError):
    """The database has no PostGIS and this role may not create it."""


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return cfg


def dba_command(url: str, database: str | None = None) -> str:
    """The one line a superuser runs to give ``database`` (default: the URL's) PostGIS."""
    u = make_url(url)
    where = " ".join(f"{flag} {value}" for flag, value in
                     (("-h", u.host), ("-p", u.port)) if value)
    return (f"psql {where + ' ' if where else ''}-U postgres -d {database or u.database} "
            f"-c 'CREATE EXTENSION IF NOT EXISTS postgis'")


def ensure_postgis(url: str | None = None) -> None:
    """Create PostGIS if it is missing and this role may; else PostGISMissing saying how."""
    url = database_url(url)
    eng = create_engine(url, poolclass=NullPool)
    try:
        with eng.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
                            ).scalar():
                return
            may = conn.execute(text("""
                SELECT rolsuper FROM pg_roles WHERE rolname = current_user""")).scalar()
            available = conn.execute(text(
                "SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")).scalar()
            user = conn.execute(text("SELECT current_user")).scalar()
        if not available:
            raise PostGISMissing("PostGIS is not installed on the database server; install "
                                 "it there (Debian: apt-get install postgresql-15-postgis-3)")
        if not may:
            raise PostGISMissing(
                f"the database {make_url(url).database} has no PostGIS and the role {user} may "
                f"not create it; a superuser must run once: {dba_command(url)}")
        with eng.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    finally:
        eng.dispose()


def upgrade(url: str | None = None, revision: str = "head") -> None:
    ensure_postgis(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
