"""The grid worker's phone page, /field: the map fills the screen, the report form is a bottom
sheet, reports made without a signal wait on the phone and are sent when it returns. Also the
installable app's pieces: the service worker (/sw.js, at the root so that it may serve /field)
and the manifest."""
from __future__ import annotations

import hashlib

from flask import Blueprint, Response, current_app, render_template, request

from geodata import incidents, queries
from geodata import visits as geo_visits
from geodata.incidents import tasks as geo_tasks
from geodata.scope import read_areas

from ..helpers import basemap_arg, get_db, viewer
from ..incident_map import field_map
from ..maps import render_parts

bp = Blueprint("field", __name__)
# the service worker's version: our assets' versioned URLs (the page itself is fetched first
# whenever there is a signal, so a changed page arrives without a new version)
OWN_ASSETS = ("field.js", "outbox.js", "card.js", "incidents.js", "site.js", "api.js",
              "site.css", "icon.svg")
DUE_SHOWN = 20        # households due a visit listed on the page (and kept for offline use)
MAP_TASKS = 100       # open incidents of the worker's grids drawn on the map, overdue first


@bp.get("/field")
def page():
    who = viewer()
    basemap = basemap_arg()
    prefixes = who.write_grids()
    with get_db().connect() as conn:
        grids = queries.layer_features(conn, "grids", precision=6, areas=read_areas(who))
        open_here = geo_tasks.tasks(conn, who, limit=MAP_TASKS)
        mine_count = geo_tasks.tasks(conn, who, mine=True, limit=1)["total"]
        categories = incidents.categories(conn)
        visits_due = geo_visits.due(conn, who, limit=DUE_SHOWN)
    mine = None if prefixes is None else tuple(
        f["properties"]["code"] for f in grids["features"]
        if any(f["properties"]["code"].startswith(p) for p in prefixes))
    points = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [t["lon"], t["lat"]]},
         "properties": {"id": t["id"], "state": t["state"], "category": t["category"],
                        "overdue": t["step_overdue"]}}
        for t in open_here["items"]]}
    m = field_map(grids, mine, points, basemap=basemap, at=_at(),
                  tianditu_key=current_app.config["TIANDITU_KEY"])
    names = [f["properties"]["name"] for f in grids["features"]
             if mine is None or f["properties"]["code"] in mine]
    return render_template("field.html", map=render_parts(m), categories=categories,
                           mine_count=mine_count, open_count=open_here["total"],
                           visits_due=visits_due,
                           my_grid_names=names, basemap=basemap)


def _at() -> list[float] | None:
    """``?at=lon,lat``: a place the map opens on (from the search box or a household's card);
    anything else is ignored."""
    from geodata.points import wgs84_point
    from geodata.workflow import InvalidInput
    raw = request.args.get("at", "")
    try:
        lon, lat = (float(v) for v in raw.split(","))
        return list(wgs84_point(lon, lat))
    except (ValueError, InvalidInput):
        return None


@bp.get("/sw.js")
def service_worker():
    """Served from the root: a service worker controls only the paths below its own."""
    from flask import url_for
    assets = [url_for("static", filename=f) for f in OWN_ASSETS]
    version = hashlib.sha256("".join(assets).encode()).hexdigest()[:12]
    body = render_template("sw.js", version=version, assets=assets)
    return Response(body, mimetype="text/javascript",
                    headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"})


@bp.get("/manifest.webmanifest")
def manifest():
    return Response(render_template("manifest.webmanifest"),
                    mimetype="application/manifest+json",
                    headers={"Cache-Control": "no-cache"})
