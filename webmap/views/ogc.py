"""OGC API – Features (Part 1 core, GeoJSON, HTML, OpenAPI 3.0; Part 2 CRS) at /ogc, for QGIS,
ArcGIS, GDAL and OWSLib. Thin: ``geodata.features`` decides what a viewer may read and builds
the features; here are the links, the paging and the two encodings."""
from __future__ import annotations

import math
from datetime import datetime, timezone
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, json, render_template, request, url_for

from geodata import features as ft

from ..helpers import get_db, viewer
from ..i18n import text

bp = Blueprint("ogc", __name__, url_prefix="/ogc")
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
]
KNOWN = {"f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime"}


class OgcError(Exception):
    """An OGC API exception: ``description`` is a message id, filled with ``params`` and
    translated when answered."""

    def __init__(self, status: int, code: str, description: str, /, **params):
        super().__init__(description % params if params else description)
        self.status, self.code, self.msgid, self.params = status, code, description, params


@bp.errorhandler(OgcError)
def _error(exc: OgcError):
    return error_response(exc.status, exc.code, text(exc))


def error_response(status: int, code: str, description: str) -> Response:
    """OGC API's exception body: {"code", "description"}."""
    return Response(json.dumps({"code": code, "description": description},
                               ensure_ascii=False), status, mimetype="application/json")


def _html() -> bool:
    f = request.args.get("f")
    if f not in (None, "json", "html"):
        raise OgcError(400, "InvalidParameterValue", "f must be json or html")
    if f:
        return f == "html"
    return request.accept_mimetypes.best_match(["application/json", GEOJSON, "text/html"]) \
        == "text/html"


def _check_params() -> None:
    unknown = sorted(set(request.args) - KNOWN)
    if unknown:
        raise OgcError(400, "InvalidParameterValue",
                       "unknown parameter(s): %(names)s", names=", ".join(unknown))


def _url(endpoint: str, **values) -> str:
    return url_for(endpoint, _external=True, **values)


def _links(endpoint: str, title: str, json_type: str = "application/json", **values) -> list:
    return [{"href": _url(endpoint, f="json", **values), "rel": "self", "type": json_type,
             "title": title},
            {"href": _url(endpoint, f="html", **values), "rel": "alternate",
             "type": "text/html", "title": title + "（网页）"}]


def _answer(body: dict, template_title: str, json_type: str = "application/json",
            headers: dict | None = None):
    if _html():
        return render_template("ogc.html", body=body, title=template_title, map=None,
                               basemap="none"), 200, headers or {}
    return Response(json.dumps(body, ensure_ascii=False), mimetype=json_type,
                    headers=headers or {})


@bp.get("")
def landing():
    _check_params()
    body = {"title": f"{current_app.config['SITE_NAME']}网格化管理地图 · OGC API – Features",
            "description": "网格、道路、楼栋、设施等图层与事件公开视图（示意数据）",
            "links": _links("ogc.landing", "本页") + [
                {"href": _url("ogc.openapi"), "rel": "service-desc", "type": OPENAPI,
                 "title": "OpenAPI"},
                {"href": _url("ogc.conformance", f="json"), "rel": "conformance",
                 "type": "application/json", "title": "符合的标准"},
                {"href": _url("ogc.collections_list", f="json"), "rel": "data",
                 "type": "application/json", "title": "图层"}]}
    return _answer(body, "OGC API – Features")


@bp.get("/conformance")
def conformance():
    _check_params()
    return _answer({"conformsTo": CONFORMANCE}, "符合的标准")


def _describe(c: ft.Collection, bbox: list[float]) -> dict:
    return {"id": c.id, "title": c.title, "description": c.description, "itemType": "feature",
            "extent": {"spatial": {"bbox": [bbox], "crs": ft.CRS84}},
            "crs": list(ft.CRS), "storageCrs": ft.CRS84,
            "links": _links("ogc.collection", c.title, collection_id=c.id) + [
                {"href": _url("ogc.items", collection_id=c.id, f="json"), "rel": "items",
                 "type": GEOJSON, "title": c.title}]}


@bp.get("/collections")
def collections_list():
    _check_params()
    with get_db().connect() as conn:
        bbox = ft.extent(conn)
    body = {"links": _links("ogc.collections_list", "图层"),
            "collections": [_describe(c, bbox) for c in ft.collections(viewer())],
            "crs": list(ft.CRS)}
    return _answer(body, "图层")


def _collection(collection_id: str) -> ft.Collection:
    c = ft.collection(viewer(), collection_id)
    if c is None:
        raise OgcError(404, "NotFound", "no collection %(id)r (for this account)",
                       id=collection_id)
    return c


@bp.get("/collections/<collection_id>")
def collection(collection_id: str):
    _check_params()
    c = _collection(collection_id)
    with get_db().connect() as conn:
        return _answer(_describe(c, ft.extent(conn)), c.title)


def _crs(name: str) -> str:
    value = request.args.get(name, ft.CRS84)
    if value not in ft.CRS:
        raise OgcError(400, "InvalidParameterValue",
                       "%(name)s must be one of: %(crs)s", name=name, crs=", ".join(ft.CRS))
    return value


def _int(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise OgcError(400, "InvalidParameterValue", "%(name)s must be a whole number",
                       name=name)
    return max(lo, min(int(raw), hi))


def _bbox() -> tuple[float, float, float, float] | None:
    raw = request.args.get("bbox")
    if raw is None:
        return None
    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise OgcError(400, "InvalidParameterValue",
                       "bbox must be 4 numbers: minx,miny,maxx,maxy")
    _, lat_first = ft.CRS[_crs("bbox-crs")]
    if lat_first:   # EPSG:4326 / 4490 give latitude first
        values = [values[1], values[0], values[3], values[2]]
    minx, miny, maxx, maxy = values
    if minx > maxx or miny > maxy:
        raise OgcError(400, "InvalidParameterValue", "bbox: the minimum exceeds the maximum")
    return minx, miny, maxx, maxy


@bp.get("/collections/<collection_id>/items")
def items(collection_id: str):
    _check_params()
    c = _collection(collection_id)
    limit = _int("limit", ft.DEFAULT_LIMIT, 1, ft.MAX_LIMIT)
    offset = _int("offset", 0, 0, 2**31 - 1)
    crs, bbox = _crs("crs"), _bbox()
    with get_db().connect() as conn:
        found, matched = ft.items(conn, c.id, bbox=bbox, limit=limit, offset=offset, crs=crs,
                                   viewer=viewer())
    keep = {k: v for k, v in request.args.items() if k not in ("f", "offset")}
    page = lambda off, f="json": _url("ogc.items", collection_id=c.id) + "?" + urlencode(  # noqa: E731
        keep | {"f": f, "offset": off})
    links = [{"href": page(offset), "rel": "self", "type": GEOJSON, "title": "本页"},
             {"href": page(offset, "html"), "rel": "alternate", "type": "text/html",
              "title": "本页（网页）"},
             {"href": _url("ogc.collection", collection_id=c.id, f="json"),
              "rel": "collection", "type": "application/json", "title": c.title}]
    if offset + len(found) < matched:
        links.append({"href": page(offset + limit), "rel": "next", "type": GEOJSON,
                      "title": "下一页"})
    if offset > 0:
        links.append({"href": page(max(0, offset - limit)), "rel": "prev", "type": GEOJSON,
                      "title": "上一页"})
    body = {"type": "FeatureCollection", "features": found, "numberMatched": matched,
            "numberReturned": len(found), "links": links,
            "timeStamp": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    return _answer(body, c.title, GEOJSON, {"Content-Crs": f"<{crs}>"})


@bp.get("/collections/<collection_id>/items/<feature_id>")
def item(collection_id: str, feature_id: str):
    _check_params()
    c = _collection(collection_id)
    crs = _crs("crs")
    with get_db().connect() as conn:
        found = ft.item(conn, c.id, feature_id, crs, viewer())
    if found is None:
        raise OgcError(404, "NotFound", "no feature %(id)r in %(collection)s",
                       id=feature_id, collection=c.id)
    found["links"] = _links("ogc.item", str(found["id"]), GEOJSON, collection_id=c.id,
                            feature_id=feature_id) + [
        {"href": _url("ogc.collection", collection_id=c.id, f="json"), "rel": "collection",
         "type": "application/json", "title": c.title}]
    return _answer(found, f"{c.title} {found['id']}", GEOJSON, {"Content-Crs": f"<{crs}>"})


@bp.get("/api")
def openapi():
    """The OpenAPI 3.0 description of this OGC API, from the collections the viewer sees."""
    param = lambda name, schema, where="query", required=False: {  # noqa: E731
        "name": name, "in": where, "required": required, "schema": schema}
    common = [param("f", {"type": "string", "enum": ["json", "html"]})]
    paths = {
        "/ogc": {"get": {"summary": "landing page", "parameters": common,
                         "responses": {"200": {"description": "landing page"}}}},
        "/ogc/conformance": {"get": {"summary": "conformance classes", "parameters": common,
                                     "responses": {"200": {"description": "classes"}}}},
        "/ogc/collections": {"get": {"summary": "collections", "parameters": common,
                                     "responses": {"200": {"description": "collections"}}}},
    }
    for c in ft.collections(viewer()):
        base = f"/ogc/collections/{c.id}"
        paths[base] = {"get": {"summary": c.title, "parameters": common,
                               "responses": {"200": {"description": "the collection"}}}}
        paths[base + "/items"] = {"get": {
            "summary": f"{c.title}: features", "parameters": common + [
                param("limit", {"type": "integer", "minimum": 1, "maximum": ft.MAX_LIMIT,
                                "default": ft.DEFAULT_LIMIT}),
                param("offset", {"type": "integer", "minimum": 0}),
                param("bbox", {"type": "array", "items": {"type": "number"}, "minItems": 4,
                               "maxItems": 4}),
                param("bbox-crs", {"type": "string", "enum": list(ft.CRS)}),
                param("crs", {"type": "string", "enum": list(ft.CRS)})],
            "responses": {"200": {"description": "features", "content": {GEOJSON: {}}},
                          "400": {"description": "bad parameter"}}}}
        paths[base + "/items/{featureId}"] = {"get": {
            "summary": f"{c.title}: one feature",
            "parameters": common + [param("featureId", {"type": "string"}, "path", True),
                                    param("crs", {"type": "string", "enum": list(ft.CRS)})],
            "responses": {"200": {"description": "feature", "content": {GEOJSON: {}}},
                          "404": {"description": "no such feature"}}}}
    doc = {"openapi": "3.0.3",
           "info": {"title": f"{current_app.config['SITE_NAME']} OGC API – Features",
                    "version": "1"},
           "servers": [{"url": request.host_url.rstrip("/")}], "paths": paths,
           "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}}
    return Response(json.dumps(doc, ensure_ascii=False), mimetype=OPENAPI.split(";")[0])
