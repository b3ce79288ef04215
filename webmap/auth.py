"""Who is asking: browser sessions (Flask-Login), bearer tokens for API clients, CSRF protection
for session-authenticated changes (Flask-WTF), and the login page."""
from __future__ import annotations

import threading
import time
from urllib.parse import urlparse

from flask import (Blueprint, Flask, current_app, flash, g, redirect, render_template, request,
                   url_for)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect

from geodata import accounts
from geodata.sample import NOTE

from . import engine
from .limits import limiter

login_manager = LoginManager()
csrf = CSRFProtect()
bp = Blueprint("auth", __name__)
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class WebUser(UserMixin):
    def __init__(self, account: accounts.Account):
        self.account = account

    def get_id(self) -> str:
        return str(self.account.id)

    @property
    def name(self) -> str:
        return self.account.name

    @property
    def role(self) -> str:
        return self.account.role


@login_manager.user_loader
def _load(user_id: str):
    with engine(current_app).connect() as conn:
        account = accounts.get_user(conn, int(user_id))
    return WebUser(account) if account else None


_token_cache: dict[str, tuple[float, accounts.Account]] = {}
_token_lock = threading.Lock()
TOKEN_CACHE_SECONDS = 60   # a deactivated account's tokens stop working within this time


@login_manager.request_loader
def _from_token(req):
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    token = header[len("Bearer "):].strip()
    now = time.monotonic()
    with _token_lock:
        hit = _token_cache.get(token)
    if hit and hit[0] > now:
        account = hit[1]
    else:   # one query per token and minute, not per request
        with engine(current_app).begin() as conn:
            account = accounts.user_for_token(conn, token)
        if account is None:
            return None
        with _token_lock:
            if len(_token_cache) > 10_000:
                _token_cache.clear()
            _token_cache[token] = (now + TOKEN_CACHE_SECONDS, account)
    g.token_auth = True   # no cookie involved: no CSRF check needed
    return WebUser(account)


def account() -> accounts.Account | None:
    return current_user.account if current_user.is_authenticated else None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    error = None
    if request.method == "POST":
        with engine(current_app).begin() as conn:
            found = accounts.authenticate(conn, request.form.get("name", ""),
                                          request.form.get("password", ""))
            accounts.audit(conn, request.form.get("name", "")[:40] or "?",
                           "login.ok" if found else "login.failed", request.remote_addr)
        if found:
            login_user(WebUser(found))
            target = request.args.get("next") or ""
            # only local paths: never bounce to another site
            if not target.startswith("/") or urlparse(target).netloc:
                target = url_for("pages.community")
            return redirect(target)
        error = "用户名或密码不正确"
    return render_template("login.html", error=error, map=None, note=NOTE, grids=[],
                           basemap="none"), 401 if error else 200


@bp.post("/logout")
def logout():
    logout_user()
    flash("已退出")
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)   # checked below, not for tokens
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    login_manager.init_app(app)
    csrf.init_app(app)
    app.register_blueprint(bp)


def init_csrf(app: Flask) -> None:
    """Register after the access check: someone refused access gets 401/403, not a CSRF 400."""
    @app.before_request
    def _csrf():
        if (request.method in UNSAFE and not request.path.startswith("/open311/")
                and not request.headers.get("Authorization", "").startswith("Bearer ")):
            csrf.protect()
