"""Administration: the audit log."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from geodata import accounts, areas
from geodata.incidents import categories

from ..audit_text import describe
from ..helpers import get_db, viewer
from ..i18n import ACTION_LABELS, action_label

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _action_code(asked: str | None) -> str | None:
    """The filter takes a code or its prefix ('incident.') or what the column shows ('事件办理')."""
    if not asked:
        return None
    asked = asked.strip()
    by_label = {action_label(code): code for code in ACTION_LABELS}
    return by_label.get(asked, asked)


@bp.get("/audit")
def audit():
    with get_db().connect() as conn:
        entries = accounts.audit_entries(conn, viewer(),
                                         action=_action_code(request.args.get("action")),
                                         actor=(request.args.get("actor") or "").strip() or None)
        codes = {g for e in entries for g in
                 ([(e.get("detail") or {}).get("grid")] + list((e.get("detail") or {}).get("grids")
                                                            or [])) if isinstance(g, str)}
        names = {"category": {key: c["name"] for c in categories(conn)
                              for key in (c["code"], c["service_code"])},
                 # a scope may be a grid or a whole district, subdistrict or community
                 "grid": areas.names(conn, sorted(codes))}
    for e in entries:
        e["sentence"] = describe(e["action"], e.get("detail"), names)
    actions = sorted(((code, action_label(code)) for code in ACTION_LABELS), key=lambda a: a[0])
    return render_template("audit.html", entries=entries, args=request.args, actions=actions,
                           chosen=_action_code(request.args.get("action")), map=None,
                           basemap="none")
