"""Administration: the audit log."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from geodata import accounts, queries
from geodata.sample import NOTE

from .. import engine

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/audit")
def audit():
    with engine(current_app).connect() as conn:
        entries = accounts.audit_entries(conn, action=request.args.get("action") or None,
                                         actor=request.args.get("actor") or None)
        grids = queries.grid_codes(conn)
    return render_template("audit.html", entries=entries, args=request.args, map=None,
                           note=NOTE, grids=grids, basemap="none")
