"""Accounts, API tokens and the audit log.

Passwords are hashed with scrypt (Werkzeug's default KDF); API tokens are random and only their
SHA-256 is stored, so neither can be read back from the database.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from .models import ROLES
from .workflow import InvalidInput, NotFound

GRID_ROLES = ("grid_head", "grid_worker")
MIN_PASSWORD = 10


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: str
    grid_codes: tuple[str, ...] = field(default=())

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def may_act_in(self, grid_code: str) -> bool:
        """Grid heads and workers act in their own grids; admins everywhere."""
        return self.is_admin or (self.role in GRID_ROLES and grid_code in self.grid_codes)


def audit(conn: Connection, actor: str, action: str, target: str | None = None,
          **detail) -> None:
    conn.execute(text("INSERT INTO audit_log (actor, action, target, detail) "
                      "VALUES (:actor, :action, :target, CAST(:detail AS jsonb))"),
                 dict(actor=actor, action=action, target=target,
                      detail=json.dumps(detail, ensure_ascii=False, default=str)))


def create_user(conn: Connection, name: str, role: str, password: str,
                grid_codes: tuple[str, ...] = (), actor: str = "cli") -> Account:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password needs at least {MIN_PASSWORD} characters")
    if role in GRID_ROLES and not grid_codes:
        raise InvalidInput(f"a {role} needs at least one --grid")
    if role not in GRID_ROLES and grid_codes:
        raise InvalidInput(f"only grid heads and workers have grids, not a {role}")
    known = set(conn.execute(text("SELECT code FROM grids")).scalars())
    unknown = [g for g in grid_codes if g not in known]
    if unknown:
        raise InvalidInput(f"unknown grid code(s): {', '.join(unknown)}")
    try:
        with conn.begin_nested():
            row = conn.execute(text("""
                INSERT INTO users (name, role, grid_codes, password_hash)
                VALUES (:name, :role, :grids, :hash) RETURNING id"""),
                dict(name=name, role=role, grids=list(grid_codes),
                     hash=generate_password_hash(password))).one()
    except IntegrityError as exc:
        if "users_name_key" in str(exc.orig):
            raise InvalidInput(f"there is already a user called {name}") from None
        raise InvalidInput("the name may hold 2–40 letters, digits, Chinese characters, "
                           "'.', '_' or '-'") from None
    audit(conn, actor, "user.create", name, role=role, grids=list(grid_codes))
    return Account(row.id, name, role, tuple(grid_codes))


def deactivate(conn: Connection, name: str, actor: str = "cli") -> int:
    """Switch an account off and revoke its tokens; returns how many tokens were revoked."""
    user_id = conn.execute(text("UPDATE users SET active = false WHERE name = :n AND active "
                                "RETURNING id"), {"n": name}).scalar_one_or_none()
    if user_id is None:
        raise NotFound(f"no active user called {name}")
    revoked = conn.execute(text("DELETE FROM api_tokens WHERE user_id = :u"),
                           {"u": user_id}).rowcount
    audit(conn, actor, "user.deactivate", name, tokens_revoked=revoked)
    return revoked


def _account(row) -> Account:
    return Account(row.id, row.name, row.role, tuple(row.grid_codes or ()))


def authenticate(conn: Connection, name: str, password: str) -> Account | None:
    row = conn.execute(text("SELECT id, name, role, grid_codes, password_hash FROM users "
                            "WHERE name = :n AND active"), {"n": name}).one_or_none()
    if row is None or not check_password_hash(row.password_hash, password):
        return None
    return _account(row)


def get_user(conn: Connection, user_id: int) -> Account | None:
    row = conn.execute(text("SELECT id, name, role, grid_codes FROM users "
                            "WHERE id = :id AND active"), {"id": user_id}).one_or_none()
    return _account(row) if row else None


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(conn: Connection, name: str, actor: str = "cli") -> str:
    """A new bearer token for ``name``; shown once, stored only as a hash."""
    user_id = conn.execute(text("SELECT id FROM users WHERE name = :n AND active"),
                           {"n": name}).scalar_one_or_none()
    if user_id is None:
        raise NotFound(f"no active user called {name}")
    token = "slx_" + secrets.token_urlsafe(32)
    conn.execute(text("INSERT INTO api_tokens (user_id, token_sha256) VALUES (:u, :h)"),
                 {"u": user_id, "h": _sha(token)})
    audit(conn, actor, "token.issue", name)
    return token


def user_for_token(conn: Connection, token: str) -> Account | None:
    row = conn.execute(text("""
        SELECT u.id, u.name, u.role, u.grid_codes, t.id AS token_id,
               coalesce(t.last_used_at < now() - interval '5 minutes', true) AS stale
        FROM api_tokens t JOIN users u ON u.id = t.user_id
        WHERE t.token_sha256 = :h AND u.active"""), {"h": _sha(token)}).one_or_none()
    if row is None:
        return None
    if row.stale:   # note the use now and then, not on every request (no hot row to lock)
        conn.execute(text("UPDATE api_tokens SET last_used_at = now() WHERE id = :id"),
                     {"id": row.token_id})
    return _account(row)


def audit_entries(conn: Connection, action: str | None = None, actor: str | None = None,
                  limit: int = 200) -> list[dict]:
    from .db import plain
    rows = conn.execute(text("""
        SELECT id, at, actor, action, target, detail FROM audit_log
        WHERE (CAST(:action AS text) IS NULL OR action LIKE :action || '%')
          AND (CAST(:actor AS text) IS NULL OR actor = :actor)
        ORDER BY at DESC, id DESC LIMIT :limit"""),
        dict(action=action, actor=actor, limit=limit)).mappings()
    return [plain(r) for r in rows]
