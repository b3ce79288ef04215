"""OGC API – Features (Part 1 core, GeoJSON, HTML, OpenAPI 3.0; Part 2 CRS; Part 3 queryables,
property filters and CQL2 filters) at /ogc, for QGIS, ArcGIS, GDAL and OWSLib. Thin:
``geodata.features`` decides what a viewer may read, filters and builds the features; here are
the parameters' form, the links, the paging and the two encodings."""
from __future__ import annotations

import math
from datetime import datetime, timezone
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, json, render_template, request, url_for

from geodata import cql
from geodata import features as ft
from geodata.workflow import InvalidInput

from ..helpers import get_db, viewer
from ..i18n import text

bp = Blueprint("ogc", __name__, url_prefix="/ogc")
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/landing-page",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    *cql.CONFORMANCE,
]
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
# the parameters items takes besides property=value filters on its queryables
KNOWN = {"f", "limit", "offset", "cursor", "bbox", "bbox-crs", "crs", "datetime", "filter",
         "filter-lang", "filter-crs", "sortby", "properties", "skipGeometry"}
PAGE = {"f", "crs"}     # what the other resources take
# "cql-text": the draft's name, which GDAL up to 3.6 sends (read as CQL2 text)
FILTER_LANGS = {"cql2-text": "cql2-text", "cql2-json": "cql2-json", "cql-text": "cql2-text"}


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


def _check_params(known: set[str] = PAGE) -> None:
    unknown = sorted(set(request.args) - known)
    if unknown:
        raise OgcError(400, "InvalidParameterValue",
                       "unknown parameter(s): %(names)s", names=", ".join(unknown))


@bp.errorhandler(InvalidInput)
def _invalid(exc: InvalidInput):
    """The data side's refusals (a filter it cannot read, an unknown property): 400s."""
    return error_response(400, "InvalidParameterValue", text(exc))


def _url(endpoint: str, **values) -> str:
    return url_for(endpoint, _external=True, **values)


def _links(endpoint: str, title: str, json_type: str = "application/json", **values) -> list:
    return [{"href": _url(endpoint, f="json", **values), "rel": "self", "type": json_type,
             "title": title},
            {"href": _url(endpoint, f="html", **values), "rel": "alternate",
             "type": "text/html", "title": title + "（网页）"}]


# the HTML pages' words for what JSON says in codes
TYPE_WORDS = {"string": "文本", "integer": "整数", "number": "数值", "boolean": "是/否"}
REL_WORDS = {"next": "下一页", "prev": "上一页", "self": "本页", "alternate": "其他格式",
             "collection": "所属图层", "items": "要素", "data": "图层"}


def _page(body: dict, title: str):
    return render_template("ogc.html", body=body, title=title, titles=ft.TITLES,
                           types=TYPE_WORDS, rels=REL_WORDS, map=None, basemap="none")


def _answer(body: dict, template_title: str, json_type: str = "application/json",
            headers: dict | None = None):
    if _html():
        return _page(body, template_title), 200, headers or {}
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


def _describe(c: ft.Collection, extent: dict) -> dict:
    return {"id": c.id, "title": c.title, "description": c.description, "itemType": "feature",
            "extent": extent, "crs": list(ft.CRS), "storageCrs": ft.CRS84,
            "links": _links("ogc.collection", c.title, collection_id=c.id) + [
                {"href": _url("ogc.items", collection_id=c.id, f="json"), "rel": "items",
                 "type": GEOJSON, "title": c.title},
                {"href": _url("ogc.queryables", collection_id=c.id), "rel": QUERYABLES_REL,
                 "type": "application/schema+json", "title": c.title + "：可查询属性"}]}


@bp.get("/collections")
def collections_list():
    _check_params()
    with get_db().connect() as conn:
        described = [_describe(c, ft.extent(conn, c.id, viewer()))
                     for c in ft.collections(viewer())]
    body = {"links": _links("ogc.collections_list", "图层"), "collections": described,
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
        return _answer(_describe(c, ft.extent(conn, c.id, viewer())), c.title)


@bp.get("/collections/<collection_id>/queryables")
def queryables(collection_id: str):
    """What items may be filtered and sorted by, as JSON Schema (Part 3)."""
    _check_params({"f"})
    c = _collection(collection_id)
    with get_db().connect() as conn:
        body = ft.queryables_schema(conn, c.id, viewer())
    body |= {"$id": _url("ogc.queryables", collection_id=c.id), "title": c.title}
    if _html():
        return _page(body, c.title + "：可查询属性")
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/schema+json")


def _crs(name: str) -> str:
    value = request.args.get(name, ft.CRS84)
    if value not in ft.CRS:
        raise OgcError(400, "InvalidParameterValue",
                       "%(name)s must be one of: %(crs)s", name=name, crs=", ".join(ft.CRS))
    return value


def _int(name: str, default: int, lo: int, hi: int) -> int:
    """A whole number from ``lo``; above ``hi`` it is ``hi`` (a client may ask for more than a
    page holds: it gets the most a page holds, as Part 1 says)."""
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < lo:
        raise OgcError(400, "InvalidParameterValue", "%(name)s must be a whole number from "
                       "%(lo)s", name=name, lo=lo)
    return min(int(raw), hi)


def _instant(raw: str) -> datetime | None:
    if raw in ("", ".."):
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise OgcError(400, "InvalidParameterValue", "datetime must be an RFC 3339 date-time "
                       "or an interval (start/end, '..' for open)") from None
    if not 1900 <= value.year <= 2999:
        raise OgcError(400, "InvalidParameterValue", "datetime must lie between the years "
                       "1900 and 2999")
    if value.tzinfo is None:      # a date or a local time: China Standard Time
        from datetime import timedelta
        value = value.replace(tzinfo=timezone(timedelta(hours=8)))
        if len(raw) <= 10 and raw.count("-") == 2:   # a whole day
            value = value.replace(hour=0, minute=0, second=0)
    return value


def _interval() -> tuple[datetime | None, datetime | None] | None:
    raw = request.args.get("datetime")
    if raw is None:
        return None
    if "/" in raw:
        start, _, end = raw.partition("/")
        lo, hi = _instant(start), _instant(end)
        if hi is not None and len(end) <= 10 and end.count("-") == 2:
            from datetime import timedelta
            hi = hi + timedelta(days=1) - timedelta(microseconds=1)   # to the day's end
        if lo is not None and hi is not None and lo > hi:
            raise OgcError(400, "InvalidParameterValue", "datetime: the start is after the end")
        return lo, hi
    at = _instant(raw)
    if at is None:
        raise OgcError(400, "InvalidParameterValue", "datetime must be an RFC 3339 date-time "
                       "or an interval (start/end, '..' for open)")
    if len(raw) <= 10 and raw.count("-") == 2:   # a day: all of it
        from datetime import timedelta
        return at, at + timedelta(days=1) - timedelta(microseconds=1)
    return at, at


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


def _query(c: ft.Collection, names: set[str]) -> ft.Query:
    """The items request's parameters, checked for form: 400 naming what is wrong."""
    _check_params(KNOWN | names)
    if request.args.get("filter-crs", ft.CRS84) != ft.CRS84:
        raise OgcError(400, "InvalidParameterValue",
                       "filter-crs: geometries in filters are read in %(crs)s only", crs=ft.CRS84)
    skip = request.args.get("skipGeometry", "false")
    if skip not in ("true", "false"):
        raise OgcError(400, "InvalidParameterValue", "skipGeometry must be true or false")
    lang = request.args.get("filter-lang")
    if lang is not None and lang not in FILTER_LANGS:
        raise OgcError(400, "InvalidParameterValue", "filter-lang must be cql2-text or "
                       "cql2-json")
    return ft.Query(
        limit=_int("limit", ft.DEFAULT_LIMIT, 1, ft.MAX_LIMIT),
        offset=_int("offset", 0, 0, 2**31 - 1), cursor=request.args.get("cursor"),
        crs=_crs("crs"), bbox=_bbox(), interval=_interval(),
        filter=request.args.get("filter"), filter_lang=FILTER_LANGS.get(lang),
        equals={k: v for k, v in request.args.items() if k in names and k not in KNOWN},
        sortby=request.args.get("sortby"), properties=request.args.get("properties"),
        skip_geometry=skip == "true")


@bp.get("/collections/<collection_id>/items")
def items(collection_id: str):
    c = _collection(collection_id)
    with get_db().connect() as conn:
        names = {q.name for q in ft.queryables(conn, c.id, viewer())} - {cql.GEOMETRY}
        query = _query(c, names)
        found, matched, following = ft.items(conn, c.id, query, viewer())
    keep = {k: v for k, v in request.args.items() if k not in ("f", "offset", "cursor")}
    here = {k: request.args[k] for k in ("offset", "cursor") if k in request.args}
    page = lambda f="json", **at: _url("ogc.items", collection_id=c.id) + "?" + urlencode(  # noqa: E731
        keep | at | {"f": f})
    links = [{"href": page(**here), "rel": "self", "type": GEOJSON, "title": "本页"},
             {"href": page("html", **here), "rel": "alternate", "type": "text/html",
              "title": "本页（网页）"},
             {"href": _url("ogc.collection", collection_id=c.id, f="json"),
              "rel": "collection", "type": "application/json", "title": c.title}]
    if following is not None:
        links.append({"href": page(**following), "rel": "next", "type": GEOJSON,
                      "title": "下一页"})
    if query.offset > 0:
        links.append({"href": page(offset=max(0, query.offset - query.limit)), "rel": "prev",
                      "type": GEOJSON, "title": "上一页"})
    body = {"type": "FeatureCollection", "features": found, "numberMatched": matched,
            "numberReturned": len(found), "links": links,
            "timeStamp": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    return _answer(body, c.title, GEOJSON, {"Content-Crs": f"<{query.crs}>"})


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
        "/": {"get": {"summary": "landing page", "parameters": common,
                         "responses": {"200": {"description": "landing page"}}}},
        "/conformance": {"get": {"summary": "conformance classes", "parameters": common,
                                     "responses": {"200": {"description": "classes"}}}},
        "/collections": {"get": {"summary": "collections", "parameters": common,
                                     "responses": {"200": {"description": "collections"}}}},
    }
    with get_db().connect() as conn:
        queryables = {c.id: [q for q in ft.queryables(conn, c.id, viewer())
                             if q.name != cql.GEOMETRY] for c in ft.collections(viewer())}
    for c in ft.collections(viewer()):
        base = f"/collections/{c.id}"
        paths[base] = {"get": {"summary": c.title, "parameters": common,
                               "responses": {"200": {"description": "the collection"}}}}
        paths[base + "/queryables"] = {"get": {
            "summary": f"{c.title}: queryables", "parameters": common,
            "responses": {"200": {"description": "JSON Schema of the queryable properties",
                                  "content": {"application/schema+json": {}}}}}}
        paths[base + "/items"] = {"get": {
            "summary": f"{c.title}: features", "parameters": common + [
                param("limit", {"type": "integer", "minimum": 1, "maximum": ft.MAX_LIMIT,
                                "default": ft.DEFAULT_LIMIT}),
                param("offset", {"type": "integer", "minimum": 0}),
                param("cursor", {"type": "string"}),
                param("bbox", {"type": "array", "items": {"type": "number"}, "minItems": 4,
                               "maxItems": 4}),
                param("bbox-crs", {"type": "string", "enum": list(ft.CRS)}),
                param("datetime", {"type": "string"}),
                param("filter", {"type": "string"}),
                param("filter-lang", {"type": "string", "enum": list(FILTER_LANGS)}),
                param("filter-crs", {"type": "string", "enum": [ft.CRS84]}),
                param("sortby", {"type": "string"}),
                param("properties", {"type": "string"}),
                param("skipGeometry", {"type": "boolean", "default": False}),
                param("crs", {"type": "string", "enum": list(ft.CRS)}),
                # property=value filters (Part 3 queryables-query-parameters)
                *[param(q.name, q.schema) for q in queryables[c.id]]],
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
           "servers": [{"url": _url("ogc.landing")}], "paths": paths,
           "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}}
    return Response(json.dumps(doc, ensure_ascii=False), content_type=OPENAPI)
