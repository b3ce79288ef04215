"""Accounts, sessions, API tokens, login throttling and the audit log.

Passwords are hashed with scrypt (Werkzeug's default KDF); session ids and API tokens are random
and only their SHA-256 is stored, so none can be read back from the database. Everything lives in
PostgreSQL, so every worker process and every machine sees the same sessions, revocations and
login counts at once.
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
from .workflow import Forbidden, InvalidInput, NotFound

GRID_ROLES = ("grid_head", "grid_worker")
MIN_PASSWORD = 10
# Login failures within the window, counted from the audit log: per account and address (a
# guesser), per address (one machine trying many names), per account (many machines, one name).
# Successful logins never count, so nobody else is locked out by someone's typos.
LOGIN_WINDOW_MINUTES = 15
LOGIN_LIMITS = {"account_address": 10, "address": 50, "account": 100}
# wrong Open311 API keys from one address in the same window (a key is a secret: a client
# with the right one never gets it wrong, a guesser does)
API_KEY_LIMIT = 20
TOKEN_DAYS = 180            # an API token's life unless the issuer says otherwise
SESSION_IDLE_HOURS = 12     # a browser session unused this long ends (a worker's whole day)


AREA_LENGTHS = {6: "区县", 9: "街道", 12: "社区"}   # what an admin's or planner's scope may be


@dataclass(frozen=True)
class Account:
    """``grid_codes``: for grid heads and workers the grids they work in (15 digits); for
    admins and planners the areas they are scoped to — districts (6 digits), subdistricts (9)
    or communities (12) — or none for the whole platform. Codes are prefixes of grid codes, so
    one rule (``geodata.scope``) covers every level."""
    id: int
    name: str
    role: str
    grid_codes: tuple[str, ...] = field(default=())

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def in_areas(self, grid_code: str) -> bool:
        """Whether a grid lies in this admin's or planner's areas (all when unscoped)."""
        return not self.grid_codes or any(grid_code.startswith(a) for a in self.grid_codes)

    @classmethod
    def open311_client(cls, client: str) -> "Account":
        """The acting account of an Open311 client (an API key, not a person): it may report
        anywhere in the community and do nothing else."""
        return cls(0, f"open311:{client}", "open311_client")

    def may_act_in(self, grid_code: str) -> bool:
        """Grid heads and workers act in their own grids; admins in their areas."""
        if self.is_admin:
            return self.in_areas(grid_code)
        return self.role in GRID_ROLES and grid_code in self.grid_codes

    def write_grids(self) -> tuple[str, ...] | None:
        """The code prefixes of the grids this account may change incidents in (grid codes,
        or an admin's areas); None means every grid. Planners (and anyone else) may change
        nothing: Forbidden."""
        if self.is_admin:
            return self.grid_codes or None
        if self.role in GRID_ROLES:
            return self.grid_codes
        raise Forbidden("a %(role)s may not change incidents", role=self.role)

    def read_areas(self) -> tuple[str, ...] | None:
        """The code prefixes of what this account reads (grids, households, incidents and
        every figure); None means everything. Grid staff read the communities they work in
        (a neighbouring grid's cases matter at the edge) and act only in their grids."""
        if self.role in GRID_ROLES:
            return tuple(sorted({g[:12] for g in self.grid_codes}))
        if self.role in ("admin", "planner"):
            return self.grid_codes or None
        return ()   # an Open311 client (an API key, not a person) reads only the public view


def audit(conn: Connection, actor: str, action: str, target: str | None = None,
          **detail) -> None:
    conn.execute(text("INSERT INTO audit_log (actor, action, target, detail) "
                      "VALUES (:actor, :action, :target, CAST(:detail AS jsonb))"),
                 dict(actor=actor, action=action, target=target,
                      detail=json.dumps(detail, ensure_ascii=False, default=str)))


def create_user(conn: Connection, name: str, role: str, password: str,
                grid_codes: tuple[str, ...] = (), actor: str = "cli") -> Account:
    if role not in ROLES:
        raise InvalidInput("unknown role %(role)r; roles: %(roles)s", role=role,
                           roles=", ".join(ROLES))
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("the password needs at least %(n)s characters", n=MIN_PASSWORD)
    if role in GRID_ROLES and not grid_codes:
        raise InvalidInput("a %(role)s needs at least one --grid", role=role)
    if role not in GRID_ROLES and any(len(c) not in AREA_LENGTHS for c in grid_codes):
        raise InvalidInput("a %(role)s is scoped to areas: district (6 digits), subdistrict (9) "
                           "or community (12) codes", role=role)
    if role in GRID_ROLES and any(len(c) != 15 for c in grid_codes):
        raise InvalidInput("grid codes have 15 digits")
    unknown = [c for c in grid_codes if not conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM grids WHERE starts_with(code, :c))"), {"c": c}).scalar()]
    if unknown:
        raise InvalidInput("no grid has or lies in the code(s): %(codes)s",
                           codes=", ".join(unknown))
    try:
        with conn.begin_nested():
            row = conn.execute(text("""
                INSERT INTO users (name, role, grid_codes, password_hash)
                VALUES (:name, :role, :grids, :hash) RETURNING id"""),
                dict(name=name, role=role, grids=list(grid_codes),
                     hash=generate_password_hash(password))).one()
    except IntegrityError as exc:
        if "users_name_key" in str(exc.orig):
            raise InvalidInput("there is already a user called %(name)s", name=name) from None
        raise InvalidInput("the name may hold 2–40 letters, digits, Chinese characters, "
                           "'.', '_' or '-'") from None
    audit(conn, actor, "user.create", name, role=role, grids=list(grid_codes))
    return Account(row.id, name, role, tuple(grid_codes))


def deactivate(conn: Connection, name: str, actor: str = "cli") -> int:
    """Switch an account off, revoke its tokens and end its sessions; returns how many tokens
    were revoked."""
    user_id = conn.execute(text("UPDATE users SET active = false WHERE name = :n AND active "
                                "RETURNING id"), {"n": name}).scalar_one_or_none()
    if user_id is None:
        raise NotFound("no active user called %(name)s", name=name)
    revoked = conn.execute(text("DELETE FROM api_tokens WHERE user_id = :u"),
                           {"u": user_id}).rowcount
    ended = conn.execute(text("DELETE FROM user_sessions WHERE user_id = :u"),
                         {"u": user_id}).rowcount
    audit(conn, actor, "user.deactivate", name, tokens_revoked=revoked, sessions_ended=ended)
    return revoked


def _account(row) -> Account:
    return Account(row.id, row.name, row.role, tuple(row.grid_codes or ()))


def authenticate(conn: Connection, name: str, password: str) -> Account | None:
    row = conn.execute(text("SELECT id, name, role, grid_codes, password_hash FROM users "
                            "WHERE name = :n AND active"), {"n": name}).one_or_none()
    if row is None or not check_password_hash(row.password_hash, password):
        return None
    return _account(row)


class LoginThrottled(Forbidden):
    """Too many failed logins lately for this account or from this address."""

    def __init__(self, retry_after: int):
        self.retry_after = retry_after
        super().__init__("too many failed logins; try again later", "login_throttled")


def login(conn: Connection, name: str, password: str, address: str | None) -> Account | None:
    """Check a name and password, counting failures against the limits; audited.

    Returns the account, or None for a wrong name or password. Raises LoginThrottled, without
    looking at the password, while a limit is reached.
    """
    name = (name or "")[:40]
    counts = conn.execute(text(f"""
        SELECT count(*) FILTER (WHERE actor = :name AND target IS NOT DISTINCT FROM :addr),
               count(*) FILTER (WHERE target IS NOT DISTINCT FROM :addr),
               count(*) FILTER (WHERE actor = :name)
        FROM audit_log WHERE action = 'login.failed'
          AND at > now() - interval '{LOGIN_WINDOW_MINUTES} minutes'
          AND (actor = :name OR target IS NOT DISTINCT FROM :addr)"""),
        {"name": name or "?", "addr": address}).one()
    if any(n >= LOGIN_LIMITS[k] for n, k in zip(counts, LOGIN_LIMITS)):
        raise LoginThrottled(LOGIN_WINDOW_MINUTES * 60)
    found = authenticate(conn, name, password or "")
    audit(conn, name or "?", "login.ok" if found else "login.failed", address)
    return found


def check_api_key_attempts(conn: Connection, address: str | None) -> None:
    """LoginThrottled while ``address`` has sent API_KEY_LIMIT wrong Open311 API keys within
    the window (counted from the audit log: every worker and machine together)."""
    failed = conn.execute(text(f"""
        SELECT count(*) FROM audit_log WHERE action = 'open311.key_failed'
          AND target IS NOT DISTINCT FROM :addr
          AND at > now() - interval '{LOGIN_WINDOW_MINUTES} minutes'"""),
        {"addr": address}).scalar_one()
    if failed >= API_KEY_LIMIT:
        raise LoginThrottled(LOGIN_WINDOW_MINUTES * 60)


def note_bad_api_key(conn: Connection, address: str | None) -> None:
    """Count a wrong or missing Open311 API key from ``address``; audited."""
    audit(conn, "open311:?", "open311.key_failed", address)


def open_session(conn: Connection, account: Account) -> str:
    """A new browser session for ``account``; the returned id goes in the signed cookie."""
    token = secrets.token_urlsafe(32)
    conn.execute(text("INSERT INTO user_sessions (user_id, token_sha256) VALUES (:u, :h)"),
                 {"u": account.id, "h": _sha(token)})
    return token


def session_user(conn: Connection, token: str,
                 idle_hours: float = SESSION_IDLE_HOURS) -> Account | None:
    """The active account whose session this is, or None once it has ended: logged out, the
    account deactivated, or unused for ``idle_hours`` (then the session is removed)."""
    row = conn.execute(text("""
        SELECT u.id, u.name, u.role, u.grid_codes, s.id AS session_id,
               s.last_seen_at < now() - make_interval(secs => :idle) AS idle,
               s.last_seen_at < now() - interval '1 minute' AS stale
        FROM user_sessions s JOIN users u ON u.id = s.user_id
        WHERE s.token_sha256 = :h AND u.active"""),
        {"h": _sha(token), "idle": idle_hours * 3600}).one_or_none()
    if row is None:
        return None
    if row.idle:
        conn.execute(text("DELETE FROM user_sessions WHERE id = :id"), {"id": row.session_id})
        return None
    if row.stale:   # noted now and then, not on every request
        conn.execute(text("UPDATE user_sessions SET last_seen_at = now() WHERE id = :id"),
                     {"id": row.session_id})
    return _account(row)


def close_session(conn: Connection, token: str, actor: str) -> None:
    """End a session (logout): the cookie stops working everywhere at once; audited."""
    ended = conn.execute(text("DELETE FROM user_sessions WHERE token_sha256 = :h"),
                         {"h": _sha(token)}).rowcount
    if ended:
        audit(conn, actor, "logout")


def get_user(conn: Connection, user_id: int) -> Account | None:
    row = conn.execute(text("SELECT id, name, role, grid_codes FROM users "
                            "WHERE id = :id AND active"), {"id": user_id}).one_or_none()
    return _account(row) if row else None


def user_by_name(conn: Connection, name: str) -> Account | None:
    """An active account by its name (the CLI's ``--as``)."""
    row = conn.execute(text("SELECT id, name, role, grid_codes FROM users "
                            "WHERE name = :n AND active"), {"n": name}).one_or_none()
    return _account(row) if row else None


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


HINT = 8   # the first characters of a token, kept to tell tokens apart (not enough to use)


def issue_token(conn: Connection, name: str, actor: str = "cli",
                days: int = TOKEN_DAYS) -> str:
    """A new bearer token for ``name``, valid for ``days``; shown once, stored only as a hash
    (and its first characters, to tell it apart in ``tokens``)."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
        raise InvalidInput("a token lives 1 to 3650 days")
    user_id = conn.execute(text("SELECT id FROM users WHERE name = :n AND active"),
                           {"n": name}).scalar_one_or_none()
    if user_id is None:
        raise NotFound("no active user called %(name)s", name=name)
    token = "slx_" + secrets.token_urlsafe(32)
    conn.execute(text("""
        INSERT INTO api_tokens (user_id, token_sha256, hint, expires_at)
        VALUES (:u, :h, :hint, now() + make_interval(days => :days))"""),
        {"u": user_id, "h": _sha(token), "hint": token[:HINT], "days": days})
    audit(conn, actor, "token.issue", name, days=days)
    return token


def tokens(conn: Connection, name: str) -> list[dict]:
    """The API tokens of ``name``: id, hint, issued, last used, expiry (newest first)."""
    from .db import plain
    if conn.execute(text("SELECT id FROM users WHERE name = :n"),
                    {"n": name}).scalar_one_or_none() is None:
        raise NotFound("no user called %(name)s", name=name)
    return [plain(r) for r in conn.execute(text("""
        SELECT t.id, t.hint, t.created_at, t.last_used_at, t.expires_at,
               t.expires_at <= now() AS expired
        FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.name = :n
        ORDER BY t.created_at DESC, t.id DESC"""), {"n": name}).mappings()]


def revoke_token(conn: Connection, token_id: int, actor: str = "cli") -> str:
    """Revoke one API token (by the id ``tokens`` lists): it stops working at once, in every
    process; audited. Returns its owner's name."""
    owner = conn.execute(text("""
        DELETE FROM api_tokens t USING users u WHERE t.id = :id AND u.id = t.user_id
        RETURNING u.name"""), {"id": token_id}).scalar_one_or_none()
    if owner is None:
        raise NotFound("no API token %(id)s", id=token_id)
    audit(conn, actor, "token.revoke", owner, token=token_id)
    return owner


def user_for_token(conn: Connection, token: str) -> Account | None:
    """The active account a token belongs to, or None (unknown, revoked or expired)."""
    row = conn.execute(text("""
        SELECT u.id, u.name, u.role, u.grid_codes, t.id AS token_id,
               coalesce(t.last_used_at < now() - interval '5 minutes', true) AS stale
        FROM api_tokens t JOIN users u ON u.id = t.user_id
        WHERE t.token_sha256 = :h AND u.active AND t.expires_at > now()"""),
        {"h": _sha(token)}).one_or_none()
    if row is None:
        return None
    if row.stale:   # note the use now and then, not on every request (no hot row to lock)
        conn.execute(text("UPDATE api_tokens SET last_used_at = now() WHERE id = :id"),
                     {"id": row.token_id})
    return _account(row)


def audit_entries(conn: Connection, viewer: Account, action: str | None = None,
                  actor: str | None = None, limit: int = 200) -> list[dict]:
    """The latest entries, for the platform's administrators only: an admin scoped to some
    areas would read the whole platform's actors, addresses and targets (Forbidden)."""
    from .db import plain
    if not viewer.is_admin or viewer.grid_codes:
        raise Forbidden("the audit log is for the platform's administrators")
    rows = conn.execute(text("""
        SELECT id, at, actor, action, target, detail FROM audit_log
        WHERE (CAST(:action AS text) IS NULL OR action LIKE :action || '%')
          AND (CAST(:actor AS text) IS NULL OR actor = :actor)
        ORDER BY at DESC, id DESC LIMIT :limit"""),
        dict(action=action, actor=actor, limit=limit)).mappings()
    return [plain(r) for r in rows]
