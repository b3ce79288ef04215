"""Database access: engines and the location of the database."""
from __future__ import annotations

import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, create_engine

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# written by scripts/localpg (make run); GEODATA_LOCAL_URL_FILE moves it (the tests use it)
LOCAL_URL_FILE = Path(os.environ.get("GEODATA_LOCAL_URL_FILE")
                      or PROJECT_ROOT / "var" / "database_url")


class NoDatabaseConfigured(RuntimeError):
    pass


def database_url(explicit: str | None = None) -> str:
    """The URL to use: an explicit one, ``$DATABASE_URL``, or the local cluster's (``make run``)."""
    url = explicit or os.environ.get("DATABASE_URL")
    if not url and LOCAL_URL_FILE.exists():
        url = LOCAL_URL_FILE.read_text().strip()
    if not url:
        raise NoDatabaseConfigured(
            "No database configured: set DATABASE_URL=postgresql+psycopg://user@host:port/db "
            "or start the local one with `make run`.")
    if url.startswith("postgresql://"):
        # psycopg 3 is the driver we install; SQLAlchemy's bare scheme means psycopg2.
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


TIMEZONE = "Asia/Shanghai"


def make_engine(url: str | None = None, **kwargs) -> Engine:
    kwargs.setdefault("pool_pre_ping", True)
    # PostgreSQL's JIT compiles big plans at ~100 ms each: more than the queries of a map page
    # or a tile take to run, so it only ever slows this service down
    # times come back in China Standard Time (+08:00): pages show them as people read clocks
    # there, and the API's ISO 8601 strings carry the offset, so they stay exact
    kwargs.setdefault("connect_args", {"options": f"-c jit=off -c timezone={TIMEZONE}"})
    return create_engine(database_url(url), **kwargs)


def plain(row) -> dict:
    """A result row as a dict of JSON-ready values (Decimal → float, datetime → ISO 8601)."""
    def value(v):
        if isinstance(v, Decimal):
            return float(v)
        if isinstance(v, (datetime, date)):
            return v.isoformat()
        if isinstance(v, dict):
            return {k: value(x) for k, x in v.items()}
        return v
    return {k: value(v) for k, v in dict(row).items()}
