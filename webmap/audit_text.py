"""The audit log's details as sentences a person reads ("状态：处理中 → 已处理反馈"), not as the
stored keys (``to：handled；from：in_progress``). Codes become names: states, categories, grids,
roles, visit kinds. A detail this module does not know is shown as its keys and values."""
from __future__ import annotations

from collections.abc import Callable, Mapping

from flask_babel import force_locale, gettext

from geodata.workflow import N_, STATE_LABELS

from .i18n import DEFAULT, role_label

VISIT_KINDS = {"home": N_("in person"), "phone": N_("by phone"), "other": N_("other")}


def _t(msgid: str, **params) -> str:
    with force_locale(DEFAULT):      # the page is Chinese whatever the browser asks for
        return gettext(msgid, **params)


def _state(code) -> str:
    return STATE_LABELS.get(code, str(code))


def _join(values) -> str:
    return "、".join(str(v) for v in values)


def describe(action: str, detail: Mapping | None, names: Mapping[str, Mapping[str, str]]) -> str:
    """One audit entry's detail as a sentence. ``names`` maps kinds of code ("category",
    "grid") to {code: name}."""
    detail = dict(detail or {})
    if not detail:
        return ""
    writer = SENTENCES.get(action)
    if writer is not None:
        try:
            return writer(detail, names)
        except (KeyError, TypeError, ValueError):
            pass                 # an older entry with other keys: shown plainly below
    return "；".join(f"{k}：{_join(v) if isinstance(v, list) else v}" for k, v in detail.items())


def _name(names, kind: str, code) -> str:
    return names.get(kind, {}).get(code, str(code))


def _transition(d, names) -> str:
    out = _t(N_("state: %(before)s → %(after)s"), before=_state(d["from"]), after=_state(d["to"]))
    if d.get("assignee"):
        out += _t(N_("; dispatched to %(who)s"), who=d["assignee"])
    return out


def _create(d, names) -> str:
    return _t(N_("%(category)s reported in %(grid)s"),
              category=_name(names, "category", d["category"]),
              grid=_name(names, "grid", d["grid"])) if d.get("grid") else \
        _t(N_("%(category)s reported"), category=_name(names, "category", d["category"]))


def _refused(d, names) -> str:
    from .i18n import duty_text
    return _t(N_("refused %(step)s: %(why)s"), step=_state(d["step"]),
              why=duty_text(d["step"], d["not_by"]))


def _duty_rule(d, names) -> str:
    from .i18n import duty_text
    return duty_text(d["step"], d["not_by"]) if d.get("not_by") else _t(N_("no longer kept apart"))


def _user(d, names) -> str:
    grids = [_name(names, "grid", g) for g in d.get("grids") or []]
    return _t(N_("role: %(role)s; scope: %(grids)s"), role=role_label(d["role"]),
              grids=_join(grids) if grids else _t(N_("all")))


def _import(d, names) -> str:
    if "removed" in d:
        return _t(N_("%(file)s: %(n)s roads no longer in the extract removed"),
                  file=d["file"], n=len(d["removed"]))
    return _t(N_("%(file)s: %(read)s read, %(inserted)s new, %(updated)s updated, "
                 "%(unchanged)s unchanged, %(repaired)s repaired"),
              file=d["file"], read=d["read"], inserted=d["inserted"], updated=d["updated"],
              unchanged=d.get("unchanged", 0), repaired=d.get("repaired", 0))


def _visit(d, names) -> str:
    kind = _t(VISIT_KINDS[d["kind"]]) if d["kind"] in VISIT_KINDS else d["kind"]
    out = _t(N_("visit %(kind)s"), kind=kind)
    if d.get("incident"):
        out += _t(N_("; follow-up incident #%(id)s"), id=d["incident"])
    return out


SENTENCES: dict[str, Callable[[dict, Mapping], str]] = {
    "incident.transition": _transition,
    "incident.create": _create,
    "incident.refused": _refused,
    "duty_rule": _duty_rule,
    "user.create": _user,
    "import": _import,
    "visit.create": _visit,
    "incident.photo": lambda d, n: _t(N_("photo #%(id)s"), id=d["photo"]),
    "patrol.create": lambda d, n: _t(N_("%(fixes)s positions, %(dropped)s dropped"),
                                     fixes=d["fixes"], dropped=d["dropped"]),
    "token.issue": lambda d, n: _t(N_("valid for %(days)s days"), days=d["days"]),
    "token.revoke": lambda d, n: _t(N_("token #%(id)s"), id=d["token"]),
    "user.deactivate": lambda d, n: _t(N_("%(tokens)s tokens revoked, %(sessions)s sessions "
                                          "ended"), tokens=d["tokens_revoked"],
                                       sessions=d["sessions_ended"]),
}
