"""OGC API – Features, the data side: which collections a viewer may read, their queryables
and extents, pages of their features and single features, in CRS84 (longitude, latitude),
EPSG:4326 or EPSG:4490 (CGCS2000, which Chinese government systems require; both EPSG codes
put latitude first).

Built on the layer registry rather than a second server (pygeoapi): the collections are the
registry's map layers and the public incident view, and their rows are the SQL the rest of the
service uses, so their scope (``geodata.scope``) and privacy (``geodata.privacy``) hold for
every parameter — bbox, datetime, property filters, CQL2 ``filter`` (``geodata.cql``),
``sortby``, ``properties`` — since those only narrow or order what those rows already are.

A page is one statement: the matching rows are ordered and cut first, and only the page's rows
are turned into GeoJSON. Pages follow each other by key (``cursor``: the last row's sort key),
so the millionth row costs what the first does; ``offset`` stays for clients that count.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, and_, func, literal, select, text, true

from . import cql, privacy
from .accounts import Account
from .incidents.public import PUBLIC_ROWS
from .layers import get_layer
from .queries import layer_sql
from .scope import read_areas
from .workflow import STATE_LABELS, InvalidInput

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
# URI → (SRID, latitude first?)
CRS = {CRS84: (4326, False), EPSG + "4326": (4326, True), EPSG + "4490": (4490, True)}
DEFAULT_LIMIT, MAX_LIMIT = 100, 10_000
INCIDENTS = "incidents"
GEOMETRY = {"grids": "polygon", "compounds": "polygon", "buildings": "polygon",
            "households": "point", "roads": "linestring", "parking_lots": "polygon",
            "facilities": "point", INCIDENTS: "point"}
STATE_LABEL_SQL = "CASE state " + " ".join(
    f"WHEN '{k}' THEN '{v}'" for k, v in STATE_LABELS.items()) + " END"
# the public incident view as a collection's rows: its properties, the blurred point
INCIDENT_ROWS = f"""
    SELECT id, category, service_code, state, {STATE_LABEL_SQL} AS state_label, grid_code,
           grid_name AS grid, reported, created_at, closed_at, description,
           personal AS location_blurred, shown AS geom
    FROM ({PUBLIC_ROWS.format(where="TRUE")}) pv"""


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    geometry: str


@dataclass(frozen=True)
class Rows:
    """A collection's rows for one reader: SQL, its parameters, the feature id's column, the
    default order (``key``, descending or not; unique, so pages follow by key) and the time
    ``datetime`` selects on (None: the collection has none)."""
    sql: str
    params: dict
    id: str
    key: tuple[str, ...]
    descending: bool
    time: str | None = None


@dataclass
class Query:
    """What an items request asks for (already checked for form by the web shell)."""
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    cursor: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    interval: tuple[datetime | None, datetime | None] | None = None
    filter: str | None = None
    filter_lang: str | None = None
    equals: dict = field(default_factory=dict)      # property=value parameters
    sortby: str | None = None
    properties: str | None = None
    skip_geometry: bool = False
    crs: str = CRS84


def collections(viewer: Account | None) -> list[Collection]:
    """The collections ``viewer`` may read: the map layers for accounts, and for everyone the
    public incident view (personal cases blurred, no personal data)."""
    titles = {name: get_layer(name).title for name in privacy.layers_for(viewer)}
    out = [Collection(name, title, f"{title}（公开属性）", GEOMETRY[name])
           for name, title in titles.items()]
    out.append(Collection(INCIDENTS, "事件（公开视图）",
                          "纠纷和住房类事件的位置模糊到约 200 米，且不含描述", "point"))
    return out


def collection(viewer: Account | None, name: str) -> Collection | None:
    return next((c for c in collections(viewer) if c.id == name), None)


def rows(conn: Connection, name: str, viewer: Account | None) -> Rows:
    """The rows of collection ``name`` as ``viewer`` may read them."""
    if name == INCIDENTS:   # the public view, for everyone (personal cases blurred in SQL)
        return Rows(INCIDENT_ROWS, {}, "id", ("created_at", "id"), True, "created_at")
    sql, params = layer_sql(conn, name, "TRUE", read_areas(viewer))
    return Rows(sql, params, "code", ("code",), False)


_queryables: dict[str, list] = {}
_lock = threading.Lock()


def queryables(conn: Connection, name: str, viewer: Account | None) -> list[cql.Queryable]:
    """The properties of a collection that filters, sorting and ``properties`` may name (its
    columns are the same for every reader: described once per process)."""
    with _lock:
        found = _queryables.get(name)
    if found is None:
        src = rows(conn, name, viewer)
        found = cql.describe(conn, src.sql, src.params)
        with _lock:
            _queryables[name] = found
    return found


# what each property means, for people (JSON Schema's "title", the HTML pages' headings)
TITLES = {
    "id": "编号", "code": "编码", "name": "名称", "households": "户数", "residents": "人口",
    "area_km2": "面积（平方千米）", "workers": "网格员", "class": "道路等级",
    "surface": "路面", "year_built": "建成年份", "length_m": "长度（米）", "grade": "技术等级",
    "floors": "层数", "compound": "小区", "kind": "类型", "owners_committee": "业主委员会",
    "opening_hours": "开放时间", "capacity": "车位数", "area_m2": "面积（平方米）",
    "category": "类别", "service_code": "服务代码", "state": "状态代码",
    "state_label": "状态", "grid_code": "网格编码", "grid": "网格", "reported": "上报时间",
    "created_at": "创建时间", "closed_at": "结案时间", "description": "描述",
    "location_blurred": "位置已模糊", "geometry": "几何",
}


def queryables_schema(conn: Connection, name: str, viewer: Account | None) -> dict:
    """``/queryables`` as JSON Schema, each property titled in Chinese."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
            "properties": {q.name: q.schema | {"title": TITLES.get(q.name, q.name)}
                           for q in queryables(conn, name, viewer)},
            "additionalProperties": False}


def _geometry(geom, crs: str):
    srid, lat_first = CRS[crs]
    out = geom if srid == 4326 else func.ST_Transform(geom, srid)
    return func.ST_FlipCoordinates(out) if lat_first else out


def _select(conn: Connection, name: str, query: Query, viewer: Account | None):
    """The filtered rows (``t``), the condition, the source and the queryables."""
    src = rows(conn, name, viewer)
    qs = queryables(conn, name, viewer)
    t = cql.subquery(src.sql, src.params, qs)
    conds = []
    if query.bbox is not None:
        box = func.ST_MakeEnvelope(*query.bbox, 4326)
        # && finds the candidates by index, ST_Intersects keeps those that truly meet the box
        conds += [t.c.geom.op("&&")(box), func.ST_Intersects(t.c.geom, box)]
    if query.interval is not None and src.time is not None:
        start, end = query.interval
        if start is not None:
            conds.append(t.c[src.time] >= start)
        if end is not None:
            conds.append(t.c[src.time] <= end)
    if query.equals:
        conds.append(cql.property_filters(t, qs, query.equals))
    if query.filter:
        conds.append(cql.parse_filter(t, qs, query.filter, query.filter_lang))
    return t, (and_(*conds) if conds else true()), src, qs


def items(conn: Connection, name: str, query: Query, viewer: Account | None
          ) -> tuple[list[dict], int, dict | None]:
    """One page of a collection's features, how many match in all (``numberMatched``) and the
    parameters of the next page (``cursor``, or ``offset`` when sorted by ``sortby``; None on
    the last page)."""
    t, where, src, qs = _select(conn, name, query, viewer)
    matched = conn.execute(select(func.count()).select_from(t).where(where)).scalar_one()
    keys = [t.c[k] for k in src.key]
    order = cql.sort_keys(t, qs, query.sortby) + [
        k.desc() if src.descending else k.asc() for k in keys]
    page = select(t).where(where).order_by(*order).limit(query.limit)
    by_key = not query.sortby and not query.offset
    if query.cursor is not None:
        if query.sortby or query.offset:
            raise InvalidInput("cursor goes with neither sortby nor offset: follow the next "
                               "link as it is")
        last = cql.decode_cursor(query.cursor, len(keys))
        try:
            last = [datetime.fromisoformat(v) if k == src.time else v
                    for k, v in zip(src.key, last)]
        except (TypeError, ValueError):
            raise InvalidInput("cursor: not a cursor this server made (follow the next "
                               "link)") from None
        page = page.where(cql.after(keys, last, src.descending))
    elif query.offset:
        page = page.offset(query.offset)
    features = _features(conn, page.subquery("p"), src, qs, query)
    last_key = features[-1]["_key"] if features else None
    for f in features:
        del f["_key"]
    if len(features) < query.limit:
        return features, matched, None
    if by_key or query.cursor is not None:
        return features, matched, {"cursor": cql.encode_cursor(last_key)}
    more = query.offset + len(features) < matched
    return features, matched, {"offset": query.offset + query.limit} if more else None


def _features(conn: Connection, p, src: Rows, qs, query: Query) -> list[dict]:
    """GeoJSON features of the page ``p`` (its rows only)."""
    chosen = cql.chosen_properties(qs, query.properties)
    names = [q.column for q in qs if q.name != cql.GEOMETRY]
    if chosen is not None:
        names = [q.column for q in qs if q.name in chosen]
    props = func.jsonb_build_object(*[x for n in names for x in (literal(n), p.c[n])])
    geometry = (literal(None) if query.skip_geometry else
                func.ST_AsGeoJSON(_geometry(p.c.geom, query.crs), 7))
    result = conn.execute(select(p.c[src.id].label("fid"), geometry.label("geometry"),
                                 props.label("properties"),
                                 *[p.c[k].label(f"_k{i}") for i, k in enumerate(src.key)]))
    out = []
    for r in result.mappings():
        out.append({"type": "Feature", "id": r["fid"],
                    "geometry": json.loads(r["geometry"]) if r["geometry"] else None,
                    "properties": r["properties"],
                    "_key": [r[f"_k{i}"].isoformat() if isinstance(r[f"_k{i}"], datetime)
                             else r[f"_k{i}"] for i in range(len(src.key))]})
    return out


def item(conn: Connection, name: str, fid: str, crs: str, viewer: Account | None
         ) -> dict | None:
    """One feature by its id (a layer's code, an incident's number), or None."""
    src = rows(conn, name, viewer)
    if src.id == "id":
        if not (fid.isascii() and fid.isdigit()) or int(fid) >= 2**31:
            return None
        value = int(fid)
    else:
        value = fid
    qs = queryables(conn, name, viewer)
    t = cql.subquery(src.sql, src.params, qs)
    page = select(t).where(t.c[src.id] == value).limit(1).subquery("p")
    found = _features(conn, page, src, qs, Query(crs=crs))
    for f in found:
        del f["_key"]
    return found[0] if found else None


_extents: dict[tuple, dict] = {}


def extent(conn: Connection, name: str, viewer: Account | None) -> dict:
    """A collection's own extent as ``viewer`` reads it: its rows' bounding box (CRS84), and
    for the incidents their time span (open ended while cases are open). Remembered per data
    version of the layer (incidents change by the minute: measured each time)."""
    src = rows(conn, name, viewer)
    version = None
    if name != INCIDENTS:
        version = conn.execute(text("SELECT version FROM data_versions WHERE layer = :l"),
                               {"l": name}).scalar_one_or_none()
        cache_key = (name, tuple(read_areas(viewer) or ()), version)
        with _lock:
            if cache_key in _extents:
                return _extents[cache_key]
    row = conn.execute(text(f"""
        SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM
        (SELECT ST_Extent(geom) AS e FROM ({src.sql}) t) x"""), src.params).one()
    spatial = [round(v, 6) for v in row] if row[0] is not None else [-180, -90, 180, 90]
    out = {"spatial": {"bbox": [spatial], "crs": CRS84}}
    if src.time is not None:
        first, last, still_open = conn.execute(text(f"""
            SELECT min(created_at), max(coalesce(closed_at, created_at)),
                   bool_or(closed_at IS NULL) FROM ({src.sql}) t"""), src.params).one()
        out["temporal"] = {"interval": [[first.isoformat() if first else None,
                                         None if still_open or last is None
                                         else last.isoformat()]],
                           "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"}
    if version is not None:
        with _lock:
            _extents[cache_key] = out
    return out


__all__ = ["CRS", "CRS84", "Collection", "Query", "collections", "collection", "items", "item",
           "extent", "queryables", "queryables_schema", "MAX_LIMIT", "DEFAULT_LIMIT"]
