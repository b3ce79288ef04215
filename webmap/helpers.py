"""What the views share: the database, who is asking, and the parsing of common parameters.
Views import from here, never from each other."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from flask import abort, current_app, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from geodata.accounts import Account
from geodata.db import NoDatabaseConfigured
from geodata.incidents import MAX_PAGE_SIZE, PAGE_SIZE, Filters
from geodata.workflow import STATE_LABELS

from .jsonapi import BadRequest
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
        abort(400, f"unknown or unavailable base map {key!r}")
    return key


def int_field(data: dict, key: str, required: bool = False) -> int | None:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise BadRequest(f"{key} is required")
        return None
    if isinstance(value, bool) or isinstance(value, float):
        raise BadRequest(f"{key} must be an integer")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{key} must be an integer") from None
    if not -2**31 < number < 2**31:
        raise BadRequest(f"{key} is out of range")
    return number


def _day(raw: str | None, name: str) -> datetime | None:
    if raw is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(raw), time(), CST)
    except ValueError:
        raise BadRequest(f"{name} must be a date like 2021-06-30") from None


def filters_from(args, *, form: bool = False) -> Filters:
    """Filters from query parameters: state, category (comma lists), grid, since, until
    (dates, until inclusive), overdue (true/false). In the API a parameter given empty is an
    error, not 'no filter', so that a typo never widens a list silently; a page's filter
    form (``form``) sends its unset fields empty, and they mean 'any'."""
    if form:
        args = {k: v for k, v in args.items() if v}
    for key in ("state", "category", "grid", "since", "until", "overdue"):
        if key in args and not args.get(key):
            raise BadRequest(f"{key} is empty; leave it out to mean 'any'")
    states = tuple(s for s in args.get("state", "").split(",") if s)
    unknown = [s for s in states if s not in STATE_LABELS]
    if unknown:
        raise BadRequest(f"unknown state {', '.join(unknown)}; states: {', '.join(STATE_LABELS)}")
    overdue = args.get("overdue")
    if overdue not in (None, "true", "false"):
        raise BadRequest("overdue must be true or false")
    until = _day(args.get("until"), "until")
    return Filters(states=states,
                   categories=tuple(c for c in args.get("category", "").split(",") if c),
                   grid=args.get("grid") or None, since=_day(args.get("since"), "since"),
                   until=until + timedelta(days=1) if until else None,
                   overdue=None if overdue is None else overdue == "true")


def filters_of(args: dict) -> Filters:
    """Filters from query parameters already checked by ``schemas.FilterArgs``."""
    def day(d):
        return datetime.combine(d, time(), CST) if d else None
    until = day(args.get("until"))
    return Filters(states=tuple(s for s in args.get("state", "").split(",") if s),
                   categories=tuple(c for c in args.get("category", "").split(",") if c),
                   grid=args.get("grid"), since=day(args.get("since")),
                   until=until + timedelta(days=1) if until else None,
                   overdue=None if args.get("overdue") is None else args["overdue"] == "true")


def page_args(args) -> tuple[int, int]:
    page = int_field(dict(args), "page")
    size = int_field(dict(args), "page_size")
    page = 1 if page is None else page
    size = PAGE_SIZE if size is None else size
    if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        raise BadRequest(f"page must be ≥ 1 and page_size between 1 and {MAX_PAGE_SIZE}")
    return page, size


def notice() -> str:
    """The data notice shown on every page and API answer (``DATA_NOTICE``)."""
    return current_app.config["DATA_NOTICE"]


def page_context() -> dict:
    """What every template may use: the notice, the grids for the navigation, the labels."""
    from geodata import queries
    from geodata.workflow import STATE_COLOURS
    from .assets import vendor_url
    from .maps import FACILITY_STYLES, ROAD_STYLES
    from . import engine
    try:
        with engine(current_app).connect() as conn:
            grids = queries.grid_codes(conn)
    except (SQLAlchemyError, NoDatabaseConfigured):   # an error page renders without them
        grids = []
    return {"note": notice(), "grids": grids, "states": STATE_LABELS,
            "state_colours": STATE_COLOURS, "viewer": viewer(), "vendor_url": vendor_url,
            "road_labels": {k: v[0] for k, v in ROAD_STYLES.items()},
            "facility_labels": {k: v[0] for k, v in FACILITY_STYLES.items()}}
