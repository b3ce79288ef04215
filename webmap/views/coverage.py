"""Service-circle coverage: the JSON API and the /coverage page. Per-household answers go only
to those the privacy policy lets see them (``geodata.privacy.household_grids``)."""
from __future__ import annotations

import math

import numpy as np
from flask import (Blueprint, Response, abort, current_app, render_template, request,
                   url_for)
from flask_smorest import Blueprint as ApiBlueprint
from flask_babel import gettext as _

from geodata import coverage as cv
from geodata import coverage_store, places, privacy, queries, tiles
from geodata.scope import read_areas, within
from geodata.points import wgs84_point
from geodata.siting import siting as best_sites
from geodata.workflow import InvalidInput

from .. import schemas as s
from ..coverage_map import coverage_map
from ..helpers import basemap_arg, get_db, notice, viewer
from ..i18n import text
from ..jsonapi import core_error, error
from .tiles import MVT
from ..maps import available_basemaps, render_parts
from ..openapi import answers

bp = Blueprint("coverage", __name__)
api_bp = ApiBlueprint("coverage_api", __name__, description="Service circles along the roads")
KIND_SETS = {"party_service_center": ("party_service_center",),
             "sharing": cv.SHARING_KINDS}


def _numbers(values, name: str) -> list[float]:
    """Numbers of a comma list (text) or a list, each in the parameter's range."""
    if isinstance(values, str):
        values = values.split(",")
    try:   # a page's form sends text, the API's schema numbers
        values = [float(v) for v in values if not isinstance(v, str) or v.strip()]
    except ValueError:
        raise InvalidInput("%(name)s must be comma-separated numbers", name=name) from None
    lo, hi = s.LIMITS[name]
    bad = [v for v in values if not (math.isfinite(v) and lo <= v <= hi)]
    if not values or bad:
        raise InvalidInput("%(name)s must be numbers from %(lo)g to %(hi)g", name=name, lo=lo,
                           hi=hi)
    return [float(v) for v in values]


def params(args: dict) -> tuple[tuple[str, ...], cv.Budgets, float]:
    """kinds (comma list, or 'sharing'), minutes or metres, speed (m/min), cap (m): already
    shaped by the schema (API) or read from the page's form; ranges and combinations here."""
    raw = args.get("kinds") or "party_service_center"
    kinds = cv.check_kinds(KIND_SETS.get(raw) or tuple(k.strip() for k in raw.split(",")))
    if args.get("minutes") and args.get("metres"):
        raise InvalidInput("give minutes or metres, not both")
    speed = _numbers([args.get("speed") or cv.WALK_M_PER_MIN], "speed")[0]
    if args.get("metres"):
        budgets = cv.Budgets.from_metres(_numbers(args["metres"], "metres"))
    else:
        budgets = cv.Budgets.from_minutes(
            _numbers(args.get("minutes") or list(cv.DEFAULT_MINUTES), "minutes"), speed)
    cap = _numbers([args.get("cap") or cv.ACCESS_CAP_M], "cap")[0]
    return kinds, budgets, cap


def _data():
    with get_db().connect() as conn:
        return cv.load(conn)


@api_bp.get("/api/coverage")
@api_bp.arguments(s.CoverageArgs, location="query")
@api_bp.response(200, s.CoverageSummary)
@answers(api_bp, 400, 404, 422)
def summary(args: dict):
    """Coverage per grid and in total: covered, uncovered, off the network, shares, and the
    straight-line figures beside them."""
    kinds, budgets, cap = params(args)
    data = _data()
    result = cv.cached_distances(data, kinds, budgets, cap)
    return {"kinds": list(kinds), "access_cap_m": cap, "note": notice(),
            **cv.summarise(data, result, within(viewer(), args.get("area")))}


@api_bp.get("/api/coverage/households")
@api_bp.arguments(s.CoverageHouseholdArgs, location="query")
@api_bp.response(200, s.CoverageFeatures)
@answers(api_bp, 400, 422)
def households(args: dict):
    """Each household's network distance, covering facility and state (GeoJSON), a page at a
    time in code order (``limit``, ``offset``; ``next`` names the following page); grid staff
    get their own grids' households only."""
    kinds, budgets, cap = params(args)
    data = _data()
    res = cv.cached_distances(data, kinds, budgets, cap)
    limit, offset = args["limit"], args["offset"]
    with get_db().connect() as conn:
        features, matched = cv.household_features(conn, data, res,
                                                  privacy.household_grids(viewer()),
                                                  offset, limit)
    out = {"type": "FeatureCollection", "budgets": dict(zip(budgets.labels, budgets.metres)),
           "numberMatched": matched, "numberReturned": len(features), "features": features}
    if offset + len(features) < matched:
        out["next"] = url_for("coverage_api.households", **(request.args.to_dict()
                                                          | {"offset": offset + limit}))
    return out


@bp.get("/tiles/coverage/<int:z>/<int:x>/<int:y>.mvt")
def tile(z: int, x: int, y: int):
    """The households' states as a vector tile (from zoom 15), from the run stored for these
    parameters; only the households the viewer may see one by one."""
    shown = privacy.household_grids(viewer())
    if shown == ():
        return error(404, _("per-household coverage is shown to grid staff and "
                            "administrators; planners see the figures per grid"), "not_shown")
    try:
        kinds, budgets, cap = params(request.args.to_dict())
        shift = request.args.get("gcj02", "0")
        if shift not in ("0", "1"):
            raise InvalidInput("gcj02 must be 0 or 1")
        data = _data()
        with get_db().connect() as conn:
            run = coverage_store.stored_run(conn, data, kinds, budgets, cap)
            body = tiles.coverage_tile(conn, run, z, x, y, shown, shift == "1")
    except InvalidInput as exc:
        return core_error(400, exc)
    response = Response(body, mimetype=MVT)
    # a run id names one parameter set on one data version: its tiles never change
    response.set_etag(f"run{run}-{'all' if shown is None else ','.join(shown)}-{shift}")
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Vary"] = "Authorization, Cookie"
    return response.make_conditional(request)


@api_bp.post("/api/coverage/whatif")
@api_bp.arguments(s.WhatIf)
@api_bp.response(200, s.WhatIfResult)
@answers(api_bp, 400, 413, 422)
def whatif(body: dict):
    """Households each budget would gain, per grid, with a new facility at a point."""
    kinds, budgets, cap = params(body)
    lon, lat = wgs84_point(body["lon"], body["lat"], body["coord_system"])
    data = _data()
    site = np.array(data.to_metric.transform(lon, lat))
    out = cv.whatif(data, kinds, budgets, site, cap, areas=read_areas(viewer()))
    gaining = {g for gain in out["gains"].values() for g, n in gain["grids"].items() if n}
    out["grid_names"] = {code: name for code, name in data.grids if code in gaining}
    return out


@api_bp.get("/api/coverage/siting")
@api_bp.arguments(s.SitingArgs, location="query")
@api_bp.response(200, s.SitingResult)
@answers(api_bp, 400, 404, 422)
def siting(args: dict):
    """The k best new sites for one budget (greedy, or exact maximal covering)."""
    kinds, budgets, cap = params(args)
    if len(budgets.metres) != 1:
        raise InvalidInput("siting works on one budget: give one value of minutes or metres")
    data = _data()
    out = best_sites(data, kinds, budgets.metres[0], args["k"], method=args["method"],
                     cap=cap, areas=within(viewer(), args.get("area")))
    for site in out["sites"]:
        lon, lat = data.to_wgs84.transform(*site.pop("xy"))
        site["lon"], site["lat"] = round(lon, 7), round(lat, 7)
    with get_db().connect() as conn:     # each site named by its road, building and grid
        named = places.describe(conn, [(p["lon"], p["lat"]) for p in out["sites"]])
    for site, where in zip(out["sites"], named):
        site |= {k: where[k] for k in ("place", "road", "building", "grid_name")}
    return out


GRIDS_PER_PAGE = 25        # rows of the per-grid table on the page


@bp.get("/coverage")
def page():
    basemap = basemap_arg()
    form_error = None
    try:
        number = int(request.args.get("page", "1"))
    except ValueError:
        abort(400, _("page must be a whole number"))
    try:
        kinds, budgets, cap = params({k: v for k, v in request.args.items() if v})
    except InvalidInput as exc:
        # a mistyped form field: the page again with the defaults and the message at the form
        form_error = text(exc)
        kinds, budgets, cap = params({})
    data = _data()
    res = cv.cached_distances(data, kinds, budgets, cap)
    shown = privacy.household_grids(viewer())   # planners: figures only, no households
    try:
        areas = within(viewer(), request.args.get("area") or None)
    except InvalidInput as exc:
        abort(400, text(exc))
    figures = cv.summarise(data, res, areas)
    codes = list(figures["grids"])
    if not codes and request.args.get("area"):
        abort(404, _("no grid lies in area %(code)s", code=request.args["area"]))
    pages = max(1, math.ceil(len(codes) / GRIDS_PER_PAGE))
    if not 1 <= number <= pages:
        abort(404, _("page %(n)s does not exist: the table has %(pages)s page(s)", n=number,
                     pages=pages))
    on_page = codes[(number - 1) * GRIDS_PER_PAGE:number * GRIDS_PER_PAGE]
    with get_db().connect() as conn:
        grids_fc = queries.layer_features(conn, "grids", precision=6, areas=areas)
        uncovered = cv.uncovered_by_grid(conn, data, res, shown, only=on_page)
    query = {k: v for k, v in request.args.items() if k not in ("page", "basemap") and v}
    m = coverage_map(data, res, kinds, grids_fc, figures, query,
                     households_shown=shown != (), basemap=basemap,
                     tianditu_key=current_app.config["TIANDITU_KEY"])
    return render_template(
        "coverage.html", map=render_parts(m), figures=figures, on_page=on_page,
        page=number, pages=pages,
        page_url=lambda n: url_for("coverage.page", **(request.args.to_dict() | {"page": n})),
        uncovered=uncovered, kinds=kinds,
        budgets=budgets, cap=cap, args=request.args, basemap=basemap, form_error=form_error,
        basemaps=available_basemaps(current_app.config["TIANDITU_KEY"]), kind_sets=KIND_SETS)
