"""Backups with pg_dump / pg_restore (custom format: compressed, restorable table by table)."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import make_url

from .db import database_url


EXTENSION_PARTS = (" EXTENSION ", " TABLE DATA public spatial_ref_sys ")


class BackupError(RuntimeError):
    pass


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if candidates:
        return str(candidates[-1])
    raise BackupError(f"{name} not found: install the PostgreSQL client (postgresql-client)")


def _conninfo(url: str | None) -> tuple[list[str], dict]:
    u = make_url(database_url(url))
    args = ["--dbname", u.database or "postgres"]
    if u.host:
        args += ["--host", u.host]
    if u.port:
        args += ["--port", str(u.port)]
    if u.username:
        args += ["--username", u.username]
    env = os.environ.copy()
    if u.password:
        env["PGPASSWORD"] = u.password
    return args, env


def backup(path: str | Path, url: str | None = None) -> Path:
    """Dump the whole database (schema, data, migration state) to ``path``."""
    path = Path(path)
    args, env = _conninfo(url)
    tmp = path.with_suffix(path.suffix + ".partial")
    result = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file",
                             str(tmp), *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    tmp.replace(path)  # a finished file or none: never a half-written backup
    return path


def restore(path: str | Path, url: str | None = None) -> None:
    """Replace the database's contents with the backup in ``path`` (one transaction).

    Extensions (PostGIS) are left as they are: dropping and re-creating them needs their owner,
    a superuser, while the tables and data need only the database's owner."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    args, env = _conninfo(url)
    listing = subprocess.run([_tool("pg_restore"), "--list", str(path)], env=env,
                             capture_output=True, text=True)
    if listing.returncode != 0:
        raise BackupError(f"{path} is not a readable backup (nothing was changed): "
                          f"{listing.stderr.strip()}")
    # a table-of-contents line reads "id; oid oid KIND schema name owner": skip the extensions
    # and what belongs to them (PostGIS dumps its spatial_ref_sys table's rows)
    keep = [line for line in listing.stdout.splitlines()
            if not any(part in line.split(";", 1)[-1] for part in EXTENSION_PARTS)]
    with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as toc:
        toc.write("\n".join(keep) + "\n")
    try:
        result = subprocess.run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
                                 "--no-privileges", "--single-transaction", "--exit-on-error",
                                 "--use-list", toc.name, *args, str(path)],
                                env=env, capture_output=True, text=True)
    finally:
        os.unlink(toc.name)
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed (nothing was changed): {result.stderr.strip()}")
