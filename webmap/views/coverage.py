"""Service-circle coverage: the JSON API and the /coverage page. Per-household answers go only
to those the privacy policy lets see them (``geodata.privacy.household_grids``)."""
from __future__ import annotations

import math

import numpy as np
from flask import Blueprint, current_app, jsonify, render_template, request

from geodata import coverage as cv
from geodata import privacy, queries
from geodata.points import wgs84_point
from geodata.siting import siting as best_sites

from ..coverage_map import coverage_map
from ..helpers import basemap_arg, get_db, notice, viewer
from ..jsonapi import BadRequest, json_body
from ..maps import available_basemaps, render_parts

bp = Blueprint("coverage", __name__)
KIND_SETS = {"party_service_center": ("party_service_center",),
             "sharing": cv.SHARING_KINDS}


def _numbers(raw: str, name: str, lo: float, hi: float) -> list[float]:
    try:
        values = [float(v) for v in raw.split(",") if v.strip()]
    except ValueError:
        raise BadRequest(f"{name} must be comma-separated numbers, got {raw!r}") from None
    if not values:
        raise BadRequest(f"{name} needs at least one value")
    bad = [v for v in values if not (math.isfinite(v) and lo < v <= hi)]
    if bad:
        raise BadRequest(f"{name} must lie in ({lo:g}, {hi:g}]; got {bad[0]:g}")
    return values


def params(args, form: bool = False) -> tuple[tuple[str, ...], cv.Budgets, float]:
    """kinds (comma list, or 'sharing'), minutes or metres, speed (m/min), cap (m). A page's
    form (``form``) sends unset fields empty: they mean the default."""
    if form:
        args = {k: v for k, v in args.items() if v}
    raw = args.get("kinds", "party_service_center")
    kinds = KIND_SETS.get(raw) or tuple(k.strip() for k in raw.split(","))
    try:
        kinds = cv.check_kinds(kinds)
    except cv.InvalidInput as exc:
        raise BadRequest(str(exc)) from None
    if args.get("minutes") and args.get("metres"):
        raise BadRequest("give minutes or metres, not both")
    speed = _numbers(str(args.get("speed", cv.WALK_M_PER_MIN)), "speed", 0, 200)[0]
    if args.get("metres"):
        budgets = cv.Budgets.from_metres(_numbers(str(args["metres"]), "metres", 0, 5000))
    else:
        minutes = args.get("minutes") or ",".join(str(m) for m in cv.DEFAULT_MINUTES)
        budgets = cv.Budgets.from_minutes(_numbers(str(minutes), "minutes", 0, 60), speed)
    cap = _numbers(str(args.get("cap", cv.ACCESS_CAP_M)), "cap", 0, 1000)[0]
    return kinds, budgets, cap


def _data():
    with get_db().connect() as conn:
        return cv.load(conn)


def _site_metric(lon, lat, coord_system="wgs84") -> np.ndarray:
    lon, lat = wgs84_point(lon, lat, coord_system)
    return np.array(cv.TO_METRIC.transform(lon, lat))


@bp.get("/api/coverage")
def summary():
    kinds, budgets, cap = params(request.args)
    data = _data()
    result = cv.cached_distances(data, kinds, budgets, cap)
    return jsonify({"kinds": list(kinds), "access_cap_m": cap, "note": notice(),
                    **cv.summarise(data, result)})


@bp.get("/api/coverage/households")
def households():
    kinds, budgets, cap = params(request.args)
    data = _data()
    res = cv.cached_distances(data, kinds, budgets, cap)
    features = cv.household_features(data, res, privacy.household_grids(viewer()))
    return jsonify({"type": "FeatureCollection", "budgets": dict(zip(budgets.labels,
                                                                      budgets.metres)),
                    "features": features})


@bp.post("/api/coverage/whatif")
def whatif():
    body = json_body()
    for key in ("lon", "lat"):
        if body.get(key) is None:
            raise BadRequest(f"{key} is required")
    query = {}
    for key in ("kinds", "minutes", "metres", "speed", "cap"):
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, list) and all(isinstance(v, (int, float, str))
                                           and not isinstance(v, bool) for v in value):
            query[key] = ",".join(map(str, value))
        elif isinstance(value, (int, float, str)) and not isinstance(value, bool):
            query[key] = str(value)
        else:
            raise BadRequest(f"{key} must be a number, a text or a list of them")
    kinds, budgets, cap = params(query)
    site = _site_metric(body["lon"], body["lat"], body.get("coord_system", "wgs84"))
    return jsonify(cv.whatif(_data(), kinds, budgets, site, cap))


@bp.get("/api/coverage/siting")
def siting():
    kinds, budgets, cap = params(request.args)
    try:
        k = int(request.args.get("k", "3"))
    except ValueError:
        raise BadRequest("k must be a whole number") from None
    if not 1 <= k <= 20:
        raise BadRequest("k must lie between 1 and 20")
    method = request.args.get("method", "greedy")
    if method not in ("greedy", "exact"):
        raise BadRequest("method must be greedy or exact")
    budget = budgets.metres[0] if len(budgets.metres) == 1 else None
    if budget is None:
        raise BadRequest("siting works on one budget: give one value of minutes or metres")
    out = best_sites(_data(), kinds, budget, k, method=method, cap=cap)
    for site in out["sites"]:
        lon, lat = cv.TO_WGS84.transform(*site.pop("xy"))
        site["lon"], site["lat"] = round(lon, 7), round(lat, 7)
    return jsonify(out)


@bp.get("/coverage")
def page():
    basemap = basemap_arg()
    kinds, budgets, cap = params(request.args, form=True)
    data = _data()
    res = cv.cached_distances(data, kinds, budgets, cap)
    shown = privacy.household_grids(viewer())   # planners: figures only, no households
    with get_db().connect() as conn:
        grids_fc = queries.layer_features(conn, "grids", precision=6)
        roads_fc = queries.layer_features(conn, "roads", precision=6)
    m = coverage_map(data, res, kinds, grids_fc, roads_fc,
                     cv.household_features(data, res, shown), households_shown=shown != (),
                     basemap=basemap, tianditu_key=current_app.config["TIANDITU_KEY"])
    return render_template(
        "coverage.html", map=render_parts(m), figures=cv.summarise(data, res),
        uncovered=cv.uncovered_by_grid(data, res, shown), kinds=kinds, budgets=budgets,
        cap=cap, args=request.args, basemap=basemap,
        basemaps=available_basemaps(current_app.config["TIANDITU_KEY"]), kind_sets=KIND_SETS)
