"""Accounts, tokens and the audit log."""
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from geodata import accounts
from geodata.workflow import InvalidInput

GRID3 = "511702005007003"


def test_create_authenticate_and_tokens(db):
    with db.begin() as conn:
        user = accounts.create_user(conn, "wang.wei", "grid_worker", "correct horse battery",
                                    (GRID3,))
        token = accounts.issue_token(conn, "wang.wei")
    with db.begin() as conn:
        assert accounts.authenticate(conn, "wang.wei", "correct horse battery") == user
        assert accounts.authenticate(conn, "wang.wei", "wrong password!") is None
        assert accounts.user_for_token(conn, token) == user
        assert accounts.user_for_token(conn, token + "x") is None
        stored = conn.execute(text("SELECT password_hash FROM users")).scalar()
        hashes = conn.execute(text("SELECT token_sha256 FROM api_tokens")).scalars().all()
    assert stored.startswith("scrypt:") and "correct horse" not in stored
    assert token not in hashes
    assert user.may_act_in(GRID3) and not user.may_act_in("511702005007001")


@pytest.mark.parametrize("kwargs, words", [
    ({"role": "king"}, "unknown role"),
    ({"password": "short"}, "at least"),
    ({"role": "grid_worker", "grid_codes": ()}, "needs at least one"),
    ({"role": "planner", "grid_codes": (GRID3,)}, "scoped to areas"),
    ({"role": "admin", "grid_codes": ("5117020",)}, "scoped to areas"),
    ({"role": "planner", "grid_codes": ("511703",)}, "no grid has or lies in"),
    ({"role": "grid_worker", "grid_codes": ("511702005007",)}, "15 digits"),
    ({"role": "grid_head", "grid_codes": ("511702005007999",)}, "no grid has or lies in"),
    ({"name": "x"}, "the name may hold"),
])
def test_bad_accounts_are_refused(db, kwargs, words):
    args = {"name": "li.na", "role": "planner", "password": "a long enough password",
            "grid_codes": ()} | kwargs
    with pytest.raises(InvalidInput, match=words):
        with db.begin() as conn:
            accounts.create_user(conn, **args)


def test_audit_log_records_and_cannot_be_rewritten(db):
    with db.begin() as conn:
        accounts.create_user(conn, "zhao.lei", "planner", "a long enough password",
                             actor="admin")
        accounts.issue_token(conn, "zhao.lei", actor="admin")
        entries = accounts.audit_entries(conn, accounts.Account(0, "root", "admin"))
    assert [e["action"] for e in entries][:2] == ["token.issue", "user.create"]
    assert entries[1]["detail"]["role"] == "planner" and entries[1]["actor"] == "admin"
    with pytest.raises(DBAPIError, match="cannot be changed"):
        with db.begin() as conn:
            conn.execute(text("DELETE FROM audit_log"))
