"""What the views share: the database, who is asking, and the parsing of common parameters.
Views import from here, never from each other."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from flask import abort, current_app, request
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from geodata.accounts import Account
from geodata.db import NoDatabaseConfigured
from geodata.incidents import Filters
from geodata.workflow import N_, STATE_LABELS

from .maps import BASEMAPS

CST = timezone(timedelta(hours=8))  # dates in filters are local (China Standard Time) days


def get_db():
    """The app's engine (one pool per process): ``with get_db().connect() as conn``."""
    from . import engine
    return engine(current_app)


def viewer() -> Account | None:
    """The account making the request, or None for the public."""
    return current_user.account if current_user.is_authenticated else None


def basemap_arg() -> str:
    key = request.args.get("basemap", "none")
    if key not in BASEMAPS or (BASEMAPS[key].needs_key and not current_app.config["TIANDITU_KEY"]):
        abort(400, gettext("unknown or unavailable base map %(key)r", key=key))
    return key


def form_filters(args) -> Filters:
    """Filters from a page's filter form, checked by the API's own schema (one parser). The
    form sends its unset fields empty: they mean 'any'."""
    from marshmallow import ValidationError
    from .jsonapi import describe
    from .schemas import FilterArgs
    try:
        checked = FilterArgs().load({k: v for k, v in args.items() if v})
    except ValidationError as exc:
        abort(400, describe({"query": exc.messages}))
    return filters_of(checked)


def filters_of(args: dict) -> Filters:
    """Filters from query parameters already checked by ``schemas.FilterArgs``, within what
    the viewer reads (``scope.read_areas``): every list, map, CSV and dashboard of incidents
    comes through here."""
    from geodata.scope import within
    def day(d):
        return datetime.combine(d, time(), CST) if d else None
    until = day(args.get("until"))
    return Filters(states=tuple(s for s in args.get("state", "").split(",") if s),
                   categories=tuple(c for c in args.get("category", "").split(",") if c),
                   grid=args.get("grid"), since=day(args.get("since")),
                   until=until + timedelta(days=1) if until else None,
                   overdue=None if args.get("overdue") is None else args["overdue"] == "true",
                   areas=within(viewer(), args.get("area")))


def notice() -> str:
    """The data notice shown on every page and API answer: ``DATA_NOTICE`` when set, else the
    sample's, in the reader's language (Chinese unless English is asked for)."""
    value = current_app.config["DATA_NOTICE"]
    if value == DEFAULT_NOTICE:
        return gettext(N_("Illustrative data: generated, not surveyed"))
    return value


DEFAULT_NOTICE = "sample"       # DATA_NOTICE unset: the sample's notice, translated


NAV_GRIDS = 12       # the header links every grid up to this many


def _luminance(colour: str) -> float:
    """WCAG 2 relative luminance of '#rrggbb'."""
    def channel(c: int) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (int(colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def ink(background: str) -> str:
    """Black or white text, whichever reads better on ``background``."""
    return "#000000" if contrast(background, "#000000") >= contrast(background, "#ffffff") \
        else "#ffffff"


def page_context() -> dict:
    """What every template may use: the notice, the grids for the navigation, the labels."""
    from geodata import queries
    from geodata.scope import read_areas
    from geodata.workflow import STATE_COLOURS
    from .assets import vendor_url
    from .maps import FACILITY_STYLES, ROAD_STYLES
    from . import engine
    try:
        with engine(current_app).connect() as conn:
            grids = queries.grid_codes(conn, read_areas(viewer()), limit=NAV_GRIDS + 1)
        if len(grids) > NAV_GRIDS:   # a city's grids: the pages' drill-down lists them
            grids = []
    except (SQLAlchemyError, NoDatabaseConfigured):   # an error page renders without them
        grids = []
    return {"note": notice(), "grids": grids, "states": STATE_LABELS,
            "site_name": current_app.config["SITE_NAME"],
            "state_colours": STATE_COLOURS, "ink": ink, "viewer": viewer(),
            "vendor_url": vendor_url,
            "road_labels": {k: v[0] for k, v in ROAD_STYLES.items()},
            "facility_labels": {k: v[0] for k, v in FACILITY_STYLES.items()}}
