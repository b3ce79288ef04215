"""The party network: /party (the tree beside a map of a member's households) and /api/party.
Thin: ``geodata.party`` decides what each reader sees."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask_smorest import Blueprint as ApiBlueprint

from geodata import party, queries
from geodata.scope import within
from geodata.workflow import InvalidInput, NotFound

from .. import schemas as s
from ..helpers import basemap_arg, get_db, viewer
from ..i18n import text
from ..incident_map import party_map
from ..maps import render_parts
from ..openapi import answers

bp = Blueprint("party", __name__)
api_bp = ApiBlueprint("party_api", __name__, description="The party network")


@api_bp.get("/api/party")
@api_bp.arguments(s.PartyArgs, location="query", as_kwargs=True)
@api_bp.response(200, s.PartyTree)
@answers(api_bp, 400, 404)
def tree(area: str | None = None):
    """General branch → compound branches → building groups → members (with their number of
    contact households), and the share of households with no contact member per grid and
    compound; members' names and phones only for admins and their grid's own staff."""
    with get_db().connect() as conn:
        return party.tree(conn, viewer(), within(viewer(), area))


@api_bp.get("/api/party/members/<code>")
@api_bp.response(200, s.MemberHouseholds)
@answers(api_bp, 404)
def member(code: str):
    """Where a member's contact households are: per building for every account that reads the
    member's grid; one by one with their doors for grid staff there and admins."""
    with get_db().connect() as conn:
        return party.member_households(conn, viewer(), code)


@bp.get("/party")
def page():
    basemap = basemap_arg()
    try:
        areas = within(viewer(), request.args.get("area") or None)
    except InvalidInput as exc:
        abort(400, text(exc))
    except NotFound as exc:
        abort(404, text(exc))
    with get_db().connect() as conn:
        found = party.tree(conn, viewer(), areas)
        grids = queries.layer_features(conn, "grids", precision=6, areas=areas)
        branches = party.branch_areas(conn, areas)
    m = party_map(grids, found["coverage"]["grids"], branches, basemap=basemap,
                  tianditu_key=current_app.config["TIANDITU_KEY"])
    return render_template("party.html", map=render_parts(m), found=found, basemap=basemap)
