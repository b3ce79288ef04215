"""Leaflet and its plugins, served by the app itself (no CDN: the page works offline and in China).

Leaflet and MarkerCluster come from XStatic packages (PyPI), the heat-map plugin and Chart.js from
npm (``package.json``, installed by ``make``). folium keeps its asset URLs in class attributes,
so they are pointed at our routes once, at start-up.
"""
from __future__ import annotations

import folium
import folium.plugins
import xstatic.pkg.leaflet
import xstatic.pkg.leaflet_markercluster
from flask import Blueprint, Flask, abort, send_from_directory

from geodata.db import PROJECT_ROOT

NODE_MODULES = PROJECT_ROOT / "node_modules"
PACKAGES = {
    "leaflet": xstatic.pkg.leaflet.BASE_DIR,
    "leaflet-markercluster": xstatic.pkg.leaflet_markercluster.BASE_DIR,
    "leaflet.heat": str(NODE_MODULES / "leaflet.heat" / "dist"),
    "chart.js": str(NODE_MODULES / "chart.js" / "dist"),
}
PREFIX = "/vendor"

bp = Blueprint("vendor", __name__, url_prefix=PREFIX)


@bp.get("/<package>/<path:filename>")
def vendor(package: str, filename: str):
    base = PACKAGES.get(package)
    if base is None:
        abort(404)
    return send_from_directory(base, filename, max_age=7 * 24 * 3600)


def configure_folium() -> None:
    folium.Map.default_js = [("leaflet", f"{PREFIX}/leaflet/leaflet.js")]
    folium.Map.default_css = [("leaflet_css", f"{PREFIX}/leaflet/leaflet.css")]
    folium.plugins.MarkerCluster.default_js = [
        ("markerclusterjs", f"{PREFIX}/leaflet-markercluster/leaflet.markercluster.js")]
    folium.plugins.MarkerCluster.default_css = [
        ("markerclustercss", f"{PREFIX}/leaflet-markercluster/MarkerCluster.css"),
        ("markerclusterdefaultcss", f"{PREFIX}/leaflet-markercluster/MarkerCluster.Default.css")]
    folium.plugins.HeatMap.default_js = [("leaflet-heat.js", f"{PREFIX}/leaflet.heat/leaflet-heat.js")]


def init_app(app: Flask) -> None:
    configure_folium()
    app.register_blueprint(bp)
