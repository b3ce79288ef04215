"""Who is asking: browser sessions (Flask-Login, backed by ``user_sessions`` rows), bearer tokens
for API clients, CSRF protection for session-authenticated changes (Flask-WTF), and the login
page. Sessions, tokens and login counts live in PostgreSQL (``geodata.accounts``): a logout, a
deactivation or a revoked token takes effect in every worker process at once."""
from __future__ import annotations

from urllib.parse import urlparse

from flask import (Blueprint, Flask, current_app, flash, g, redirect, render_template, request,
                   session, url_for)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect

from geodata import accounts

from .helpers import get_db

login_manager = LoginManager()
csrf = CSRFProtect()
bp = Blueprint("auth", __name__)
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class WebUser(UserMixin):
    """The Flask-Login user: an account, and the session id the cookie carries (if any)."""

    def __init__(self, account: accounts.Account, session_id: str | None = None):
        self.account = account
        self.session_id = session_id

    def get_id(self) -> str | None:
        return self.session_id

    @property
    def name(self) -> str:
        return self.account.name

    @property
    def role(self) -> str:
        return self.account.role


@login_manager.user_loader
def _load(session_id: str):
    with get_db().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        account = accounts.session_user(conn, session_id,
                                        current_app.config["SESSION_IDLE_HOURS"])
    return WebUser(account, session_id) if account else None


@login_manager.request_loader
def _from_token(req):
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    # one indexed lookup per request (autocommit: one round trip), so that a revoked token
    # stops working at once, in every process
    with get_db().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        account = accounts.user_for_token(conn, header[len("Bearer "):].strip())
    if account is None:
        return None
    g.token_auth = True   # no cookie involved: no CSRF check needed
    return WebUser(account)


@bp.route("/login", methods=["GET", "POST"])
def login():
    error, status = None, 200
    if request.method == "POST":
        try:
            with get_db().begin() as conn:
                found = accounts.login(conn, request.form.get("name", ""),
                                       request.form.get("password", ""), request.remote_addr)
                session_id = accounts.open_session(conn, found) if found else None
        except accounts.LoginThrottled as exc:
            error = f"登录失败次数过多，请 {exc.retry_after // 60} 分钟后再试"
            return render_template("login.html", error=error, map=None), 429, {
                "Retry-After": str(exc.retry_after)}
        if found:
            session.clear()   # a fresh session: nothing carried over from before the login
            login_user(WebUser(found, session_id))
            target = request.args.get("next") or ""
            # only local paths: never bounce to another site
            if not target.startswith("/") or urlparse(target).netloc:
                # grid staff start their day on the phone page, desk users on the map
                target = url_for("field.page" if found.role in accounts.GRID_ROLES
                                 else "pages.community")
            return redirect(target)
        error, status = "用户名或密码不正确", 401
    return render_template("login.html", error=error, map=None), status


@bp.post("/logout")
def logout():
    if current_user.is_authenticated and current_user.session_id:
        with get_db().begin() as conn:
            accounts.close_session(conn, current_user.session_id, current_user.name)
    logout_user()
    session.clear()
    flash("已退出")
    return redirect(url_for("auth.login"))


def init_app(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)   # checked below, not for tokens
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    login_manager.init_app(app)
    csrf.init_app(app)
    app.register_blueprint(bp)


def init_csrf(app: Flask) -> None:
    """Register after the access check: someone refused access gets 401/403, not a CSRF 400."""
    @app.before_request
    def _csrf():
        # exempt only what no cookie can authenticate: a request a valid bearer token
        # authenticated (g.token_auth, set when the token was accepted; a bogus header beside
        # a session cookie is not one), Open311 (API keys), and requests for no route or a
        # method the route lacks (the 404 or 405 comes next)
        current_user.is_authenticated   # load the user: sets g.token_auth for a valid token
        if (request.method in UNSAFE and not request.path.startswith("/open311/")
                and request.url_rule is not None and not g.get("token_auth")):
            csrf.protect()
