"""Idempotency keys: a client that sends the same write twice (a retry after a dropped
connection, an offline queue replayed) gets the first answer, and nothing is written twice.

The answer is stored under (actor, key) in the same transaction as the write itself, so either
both are committed or neither: a process killed after its commit but before answering leaves
the key behind, and the retry finds it. Two requests with one key at the same moment: the second
one's insert waits for the first's transaction, then fails on the primary key and is rolled back
whole; it is answered from the stored row. Keys are kept for ``KEEP_HOURS``.
"""
from __future__ import annotations

import hashlib
import json
import re

from sqlalchemy import Connection, text

from .workflow import InvalidInput

KEEP_HOURS = 24
KEY = re.compile(r"^[\x21-\x7e]{1,255}$")      # printable ASCII, no spaces


class KeyReused(InvalidInput):
    """The key came back with a different request."""


def check_key(key: str) -> str:
    if not KEY.match(key):
        raise InvalidInput("Idempotency-Key: 1–255 printable ASCII characters without spaces")
    return key


def fingerprint(method: str, path: str, content: object) -> str:
    """What makes two requests the same: method, path and the parsed content (JSON values,
    or file digests), not its encoding (a multipart boundary differs on every retry)."""
    canonical = json.dumps([method, path, content], sort_keys=True, ensure_ascii=False,
                           default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def recall(conn: Connection, actor: str, key: str, print_: str) -> tuple[int, dict] | None:
    """The stored answer (status, body) to this key, or None; KeyReused when the key was
    used for another request."""
    row = conn.execute(text("""
        SELECT fingerprint, status, body FROM idempotency_keys
        WHERE actor = :actor AND key = :key
          AND created_at > now() - make_interval(hours => :hours)"""),
        {"actor": actor, "key": key, "hours": KEEP_HOURS}).one_or_none()
    if row is None:
        return None
    if row.fingerprint != print_:
        raise KeyReused("this Idempotency-Key was used for a different request; use a new "
                        "key for a new request")
    return row.status, row.body


def remember(conn: Connection, actor: str, key: str, print_: str, status: int,
             body: dict) -> None:
    """Store the answer in the caller's (the write's) transaction; old keys are dropped."""
    conn.execute(text("DELETE FROM idempotency_keys "
                      "WHERE created_at < now() - make_interval(hours => :hours)"),
                 {"hours": KEEP_HOURS})
    conn.execute(text("""
        INSERT INTO idempotency_keys (actor, key, fingerprint, status, body)
        VALUES (:actor, :key, :print, :status, CAST(:body AS jsonb))"""),
        {"actor": actor, "key": key, "print": print_, "status": status,
         "body": json.dumps(body, ensure_ascii=False, default=str)})


__all__ = ["check_key", "fingerprint", "recall", "remember", "KeyReused", "KEEP_HOURS"]
