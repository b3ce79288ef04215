"""Shared by the benchmarks: a description of the machine and a throwaway sample database."""
from __future__ import annotations

import contextlib
import os
import platform
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, make_url, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from geodata.db import database_url  # noqa: E402
from geodata.migrate import upgrade  # noqa: E402
from geodata.sample import load_sample  # noqa: E402


def machine() -> str:
    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{platform.node()} | {cpu} | {os.cpu_count()} cores | {mem:.0f} GiB | "
            f"Python {platform.python_version()} | {platform.platform()}")


@contextlib.contextmanager
def sample_database(sample: bool = True):
    """A new database with the schema (and the sample data) on DATABASE_URL's server; dropped
    afterwards. Yields its URL."""
    server = make_url(database_url())
    admin = create_engine(server.set(database="postgres"), poolclass=NullPool,
                          isolation_level="AUTOCOMMIT")
    name = f"slx_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        if sample:
            eng = create_engine(url, poolclass=NullPool)
            load_sample(eng)
            eng.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def admin_token(url: str) -> str:
    """An admin account for the benchmark's requests, and its bearer token."""
    from geodata import accounts
    eng = create_engine(url, poolclass=NullPool)
    with eng.begin() as conn:
        accounts.create_user(conn, "bench", "admin", "bench-password-0", actor="bench")
        token = accounts.issue_token(conn, "bench", actor="bench")
    eng.dispose()
    return token
