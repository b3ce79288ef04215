"""Words a person reads, in their language: Chinese by default, English by ``Accept-Language``.

Messages are written once, in English, as message ids with ``%(name)s`` placeholders (the core's
errors carry theirs with the values, ``geodata.workflow.IncidentError``); the catalogue
``webmap/translations/zh/LC_MESSAGES/messages.po`` holds the Chinese. ``pybabel extract`` finds
them (``babel.cfg``). The catalogue is compiled into ``var/translations`` when the app starts
and the ``.po`` is newer, so no compiled file is kept in the repository.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, request
from flask_babel import Babel, force_locale, get_locale, gettext

from geodata.db import PROJECT_ROOT
from geodata.workflow import N_

SOURCE = Path(__file__).parent / "translations"
COMPILED = PROJECT_ROOT / "var" / "translations"
LOCALES = ("zh", "en")
DEFAULT = "zh"


def init_app(app: Flask) -> None:
    compile_catalogues()
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(COMPILED)
    Babel(app, locale_selector=_locale)
    app.jinja_env.filters.update(budget=budget_label, role=role_label, action=action_label)
    app.jinja_env.globals.update(duty_text=duty_text)


def _locale() -> str:
    return request.accept_languages.best_match(LOCALES) or DEFAULT


def english() -> bool:
    return str(get_locale()) == "en"


def compile_catalogues() -> None:
    """``.po`` → ``.mo`` when the source is newer; written under a temporary name and renamed,
    so that several processes starting at once never read half a file."""
    for po in SOURCE.glob("*/LC_MESSAGES/*.po"):
        mo = COMPILED / po.relative_to(SOURCE).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as f:
            catalogue = read_po(f, locale=po.parts[-3])
        fd, tmp = tempfile.mkstemp(dir=mo.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            write_mo(f, catalogue)
        os.replace(tmp, mo)


def text(exc) -> str:
    """An error of the core (or any exception with ``msgid`` and ``params``) in the reader's
    language."""
    msgid = getattr(exc, "msgid", None)
    if msgid is None:
        return gettext(str(exc))
    params = dict(exc.params)
    if "role" in params:
        params["role"] = role_name(params["role"])
    return gettext(msgid, **params) if params else gettext(msgid)


# Werkzeug's and Flask-WTF's own descriptions, by status, when a view gives none of its own
HTTP_MESSAGES = {
    400: N_("The request is not valid."),
    401: N_("Log in first."),
    403: N_("You may not do this."),
    404: N_("Nothing was found at this address."),
    405: N_("This address does not accept this method."),
    406: N_("No answer in a format the client accepts."),
    409: N_("The request conflicts with the current state."),
    413: N_("The request body is too large."),
    415: N_("The request's content type is not accepted."),
    422: N_("The request is well formed but cannot be carried out."),
    429: N_("Too many requests; try again later."),
    500: N_("Something went wrong on the server; nothing was saved."),
    503: N_("The service is unavailable at the moment; try again shortly."),
}
HTTP_TITLES = {
    400: N_("Bad request"), 401: N_("Not logged in"), 403: N_("Not allowed"),
    404: N_("Not found"), 405: N_("Method not allowed"), 406: N_("Not acceptable"),
    409: N_("Conflict"), 413: N_("Too large"), 415: N_("Unsupported type"),
    422: N_("Cannot be carried out"), 429: N_("Too many requests"), 500: N_("Server error"),
    503: N_("Unavailable"),
}
CSRF_MESSAGES = {   # Flask-WTF's reasons, which it raises as a 400 with its own text
    "The CSRF token is missing.": N_("The form's security token is missing; reload the page."),
    "The CSRF token has expired.": N_("The form has expired; reload the page."),
    "The CSRF token is invalid.": N_("The form's security token is not valid; reload the page."),
    "The CSRF session token is missing.": N_("The session has no security token; reload the "
                                             "page."),
    "The CSRF tokens do not match.": N_("The form's security token does not match; reload the "
                                        "page."),
    "The referrer header is missing.": N_("The request has no Referer header."),
    "The referrer does not match the host.": N_("The request came from another site."),
}


# a server error after a COMMIT was sent, or on a read (webmap.jsonapi.write_outcome)
SERVER_ERROR = {
    "read": N_("Something went wrong on the server; please try again later."),
    "maybe_saved": N_("Something went wrong on the server while saving: the change may have "
                      "been saved. Check before sending it again (a request with an "
                      "Idempotency-Key can be retried safely)."),
}


def http_text(exc) -> str:
    """A werkzeug HTTPException's description in the reader's language: the view's own
    message (already translated), or the standard one for the status."""
    default = type(exc).description
    description = exc.description
    if description in CSRF_MESSAGES:
        return gettext(CSRF_MESSAGES[description])
    if description and description != default:
        return description
    if (exc.code or 500) == 500:
        from .jsonapi import write_outcome
        outcome = write_outcome()
        if outcome in SERVER_ERROR:
            return gettext(SERVER_ERROR[outcome])
    return gettext(HTTP_MESSAGES.get(exc.code or 500, HTTP_MESSAGES[500]))


def http_title(status: int) -> str:
    return gettext(HTTP_TITLES.get(status, HTTP_TITLES[500]))


# marshmallow's messages (it formats them before we see them): pattern → message id
SCHEMA_MESSAGES = [
    (r"Missing data for required field\.", N_("required")),
    (r"Field may not be null\.", N_("may not be empty (null)")),
    (r"Unknown field\.", N_("unknown field")),
    (r"Not a valid integer\.", N_("must be a whole number")),
    (r"Not a valid number\.", N_("must be a number")),
    (r"Not a valid string\.", N_("must be a text")),
    (r"Not a valid boolean\.", N_("must be true or false")),
    (r"Not a valid date\.", N_("must be a date (YYYY-MM-DD)")),
    (r"Not a valid datetime\.", N_("must be a date and time (ISO 8601)")),
    (r"Not a valid aware datetime\.", N_("must be a date and time with its offset, e.g. "
                                          "2026-11-26T09:30:00+08:00")),
    (r"Not a valid list\.", N_("must be a list")),
    (r"Not a valid mapping type\.", N_("must be an object")),
    (r"Invalid input type\.", N_("has the wrong type")),
    (r"Invalid JSON body\.", N_("is not valid JSON")),
    (r"Invalid value\.", N_("is not valid")),
    (r"Special numeric values \(nan or infinity\) are not permitted\.",
     N_("may not be NaN or infinity")),
    (r"Must be one of: (?P<choices>.*)\.", N_("must be one of: %(choices)s")),
    (r"Must be greater than or equal to (?P<min>\S+) and less than or equal to (?P<max>\S+)\.",
     N_("must lie between %(min)s and %(max)s")),
    (r"Must be greater than or equal to (?P<min>\S+)\.", N_("must be at least %(min)s")),
    (r"Must be less than or equal to (?P<max>\S+)\.", N_("must be at most %(max)s")),
    (r"Must be greater than (?P<min>\S+)\.", N_("must be greater than %(min)s")),
    (r"Length must be between (?P<min>\d+) and (?P<max>\d+)\.",
     N_("must have %(min)s to %(max)s characters")),
    (r"Shorter than minimum length (?P<min>\d+)\.", N_("must have at least %(min)s characters")),
    (r"Longer than maximum length (?P<max>\d+)\.", N_("must have at most %(max)s characters")),
    (r"String does not match expected pattern\.", N_("has the wrong form")),
]
_SCHEMA = [(re.compile(p + r"\Z"), m) for p, m in SCHEMA_MESSAGES]


def schema_text(message: str) -> str:
    """One of marshmallow's (or our schemas') messages in the reader's language."""
    for pattern, msgid in _SCHEMA:
        found = pattern.match(message)
        if found:
            return gettext(msgid, **found.groupdict()) if found.groupdict() else gettext(msgid)
    return gettext(message)


# labels of codes that pages show
ROLE_LABELS = {"admin": N_("administrator"), "planner": N_("planner"),
               "grid_head": N_("grid head"), "grid_worker": N_("grid worker")}
ACTION_LABELS = {
    "login.ok": N_("logged in"), "login.failed": N_("failed login"), "logout": N_("logged out"),
    "user.create": N_("account created"), "user.deactivate": N_("account deactivated"),
    "token.issue": N_("API token issued"), "incident.create": N_("incident reported"),
    "incident.transition": N_("incident step"), "incident.mediation": N_("mediation record"),
    "incident.photo": N_("photo uploaded"), "import": N_("data imported"),
    "visit.create": N_("home visit recorded"), "patrol.create": N_("patrol recorded"),
    "token.revoke": N_("API token revoked"), "open311.key_failed": N_("wrong Open311 API key"),
    "incident.refused": N_("incident step refused"),
    "duty_rule": N_("separation of duties changed"),
}


# The pages are written in Chinese, so the labels they show are Chinese whatever the browser
# asks for (an English word in a Chinese sentence helps no one); messages follow the reader.
def _zh(msgid: str, **params) -> str:
    with force_locale(DEFAULT):
        return gettext(msgid, **params)


def budget_label(label: str) -> str:
    """'5min' (the API's key) → '5 分钟'."""
    found = re.fullmatch(r"([0-9.]+)min", str(label))
    return _zh(N_("%(n)s min"), n=found.group(1)) if found else str(label)


def role_label(role: str) -> str:
    return _zh(ROLE_LABELS[role]) if role in ROLE_LABELS else role


def role_name(role: str) -> str:
    """A role in the reader's language, for messages."""
    return gettext(ROLE_LABELS[role]) if role in ROLE_LABELS else role


def action_label(action: str) -> str:
    return _zh(ACTION_LABELS[action]) if action in ACTION_LABELS else action


def duty_text(step: str, not_by: str) -> str:
    """Why this account may not take ``step`` here (separation of duties), in Chinese like
    every label on the pages."""
    from geodata.workflow import DutySeparated
    refusal = DutySeparated(step, not_by, 0, "")
    return _zh(refusal.msgid, **refusal.params)
