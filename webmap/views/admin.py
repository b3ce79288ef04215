"""Administration: the audit log."""
from __future__ import annotations

from flask import Blueprint, render_template, request

from geodata import accounts

from ..helpers import get_db, viewer

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/audit")
def audit():
    with get_db().connect() as conn:
        entries = accounts.audit_entries(conn, viewer(),
                                         action=request.args.get("action") or None,
                                         actor=request.args.get("actor") or None)
    return render_template("audit.html", entries=entries, args=request.args, map=None,
                           basemap="none")
