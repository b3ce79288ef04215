"""Leaflet and its plugins, served by the app itself (no CDN: the page works offline and in China),
and the caching of every asset.

Leaflet and MarkerCluster come from XStatic packages (PyPI), the heat-map plugin, Leaflet.VectorGrid
and Chart.js from npm (``package.json``, installed by ``make``). folium keeps its asset URLs in class attributes,
so they are pointed at our routes once, at start-up.

Asset URLs carry their version, so browsers may keep them for a year without asking again: a
vendor file's URL holds its package's version (``/vendor/leaflet/1.9.3.0/leaflet.js``), our own
files' URLs a hash of their content (``/static/site.css?v=…``, added by ``url_for``). A new
release changes the URL, never the content behind an old one.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

import folium
import folium.plugins
import xstatic.pkg.leaflet
import xstatic.pkg.leaflet_markercluster
from flask import Blueprint, Flask, abort, request, send_from_directory

from geodata.db import PROJECT_ROOT

NODE_MODULES = PROJECT_ROOT / "node_modules"
YEAR = 365 * 24 * 3600
IMMUTABLE = f"public, max-age={YEAR}, immutable"
PREFIX = "/vendor"


def _npm_version(name: str) -> str:
    try:
        return json.loads((NODE_MODULES / name / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "missing"   # not installed yet (`make` runs npm ci): the files 404 until then


# package → (version, folder)
PACKAGES = {
    "leaflet": (xstatic.pkg.leaflet.VERSION, xstatic.pkg.leaflet.BASE_DIR),
    "leaflet-markercluster": (xstatic.pkg.leaflet_markercluster.VERSION,
                              xstatic.pkg.leaflet_markercluster.BASE_DIR),
    "leaflet.heat": (_npm_version("leaflet.heat"), str(NODE_MODULES / "leaflet.heat" / "dist")),
    "chart.js": (_npm_version("chart.js"), str(NODE_MODULES / "chart.js" / "dist")),
    "leaflet.vectorgrid": (_npm_version("leaflet.vectorgrid"),
                           str(NODE_MODULES / "leaflet.vectorgrid" / "dist")),
}

bp = Blueprint("vendor", __name__, url_prefix=PREFIX)


def vendor_url(package: str, filename: str) -> str:
    return f"{PREFIX}/{package}/{PACKAGES[package][0]}/{filename}"


@bp.get("/<package>/<version>/<path:filename>")
def vendor(package: str, version: str, filename: str):
    if package not in PACKAGES or PACKAGES[package][0] != version:
        abort(404)
    response = send_from_directory(PACKAGES[package][1], filename)
    response.headers["Cache-Control"] = IMMUTABLE
    return response


def configure_folium() -> None:
    folium.Map.default_js = [("leaflet", vendor_url("leaflet", "leaflet.js"))]
    folium.Map.default_css = [("leaflet_css", vendor_url("leaflet", "leaflet.css"))]
    folium.plugins.MarkerCluster.default_js = [
        ("markerclusterjs", vendor_url("leaflet-markercluster", "leaflet.markercluster.js"))]
    folium.plugins.MarkerCluster.default_css = [
        ("markerclustercss", vendor_url("leaflet-markercluster", "MarkerCluster.css")),
        ("markerclusterdefaultcss",
         vendor_url("leaflet-markercluster", "MarkerCluster.Default.css"))]
    folium.plugins.HeatMap.default_js = [
        ("leaflet-heat.js", vendor_url("leaflet.heat", "leaflet-heat.js"))]
    folium.plugins.VectorGridProtobuf.default_js = [
        ("vectorGrid", vendor_url("leaflet.vectorgrid", "Leaflet.VectorGrid.bundled.min.js"))]


@lru_cache(maxsize=256)
def _content_hash(path: Path, mtime: float) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def init_app(app: Flask) -> None:
    configure_folium()
    app.register_blueprint(bp)
    static = Path(app.static_folder)

    @app.url_defaults
    def _version_static(endpoint, values):
        # url_for('static', filename=…) → …?v=<hash of the file>: a changed file, a new URL
        if endpoint == "static" and "filename" in values and "v" not in values:
            path = static / values["filename"]
            if path.is_file():
                values["v"] = _content_hash(path, path.stat().st_mtime)

    @app.after_request
    def _cache_static(response):
        if request.endpoint == "static" and response.status_code in (200, 304):
            # a URL with the file's current hash never changes; without one, ask each time
            path = static / (request.view_args or {}).get("filename", "")
            current = path.is_file() and request.args.get("v") == _content_hash(
                path, path.stat().st_mtime)
            response.headers["Cache-Control"] = IMMUTABLE if current else "no-cache"
        return response
