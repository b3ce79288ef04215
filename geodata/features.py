"""OGC API – Features, the data side: which collections a viewer may read, pages of their
features and single features, in CRS84 (longitude, latitude), EPSG:4326 or EPSG:4490 (CGCS2000,
which Chinese government systems require; both EPSG codes put latitude first).

Built on the layer registry rather than a second server (pygeoapi): the collections are the
registry's map layers and the public incident view, and their privacy is ``geodata.privacy``'s,
which a separately configured provider could not share. Every page is one SQL statement that
builds its GeoJSON in PostGIS.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text

from . import privacy
from .accounts import Account
from .incidents import Filters
from .incidents.public import public_count, public_requests
from .layers import get_layer
from .queries import LAYER_ALIAS, layer_sql
from .scope import read_areas
from .workflow import STATE_LABELS

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
# URI → (SRID, latitude first?)
CRS = {CRS84: (4326, False), EPSG + "4326": (4326, True), EPSG + "4490": (4490, True)}
DEFAULT_LIMIT, MAX_LIMIT = 100, 10_000
INCIDENTS = "incidents"
GEOMETRY = {"grids": "polygon", "compounds": "polygon", "buildings": "polygon",
            "households": "point", "roads": "linestring", "parking_lots": "polygon",
            "facilities": "point", INCIDENTS: "point"}


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    geometry: str


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


def _geometry_sql(geom: str, crs: str) -> str:
    srid, lat_first = CRS[crs]
    out = geom if srid == 4326 else f"ST_Transform({geom}, {srid})"
    return f"ST_FlipCoordinates({out})" if lat_first else out


def _layer_page(conn, name, bbox, limit, offset, crs, fid=None,
                areas=None) -> tuple[list[dict], int]:
    alias = LAYER_ALIAS[name]
    where, params = ["TRUE"], {}
    if bbox is not None:
        where.append(f"{alias}.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)")
        params |= dict(zip(("minx", "miny", "maxx", "maxy"), bbox))
    if fid is not None:
        where.append(f"{alias}.code = :fid")
        params["fid"] = fid
    sql, more = layer_sql(conn, name, " AND ".join(where), areas)
    params |= more
    matched = conn.execute(text(f"SELECT count(*) FROM ({sql}) t"), params).scalar_one()
    rows = conn.execute(text(f"""
        SELECT t.code, ST_AsGeoJSON({_geometry_sql('t.geom', crs)}, 7)::json AS geometry,
               to_jsonb(t) - 'geom' AS properties
        FROM ({sql}) t ORDER BY t.code LIMIT :limit OFFSET :offset"""),
        params | {"limit": limit, "offset": offset}).mappings().all()
    return [{"type": "Feature", "id": r["code"], "geometry": r["geometry"],
             "properties": r["properties"]} for r in rows], matched


def _incident_page(conn, bbox, limit, offset, crs, fid=None) -> tuple[list[dict], int]:
    filters = Filters(ids=(fid,)) if fid is not None else Filters()
    rows = public_requests(conn, filters, limit=limit, offset=offset, bbox=bbox)
    matched = public_count(conn, filters, bbox)
    srid, lat_first = CRS[crs]
    features = []
    for r in rows:
        x, y = round(r["lon"], 7), round(r["lat"], 7)   # CGCS2000 and WGS 84 agree to ~cm
        features.append({
            "type": "Feature", "id": r["id"],
            "geometry": {"type": "Point", "coordinates": [y, x] if lat_first else [x, y]},
            "properties": {"category": r["category"], "service_code": r["service_code"],
                           "state": r["state"], "state_label": STATE_LABELS[r["state"]],
                           "grid_code": r["grid_code"], "grid": r["grid_name"],
                           "reported": r["reported"], "description": r["description"],
                           "location_blurred": r["personal"]}})
    return features, matched


def items(conn: Connection, name: str, *, bbox=None, limit: int = DEFAULT_LIMIT,
          offset: int = 0, crs: str = CRS84,
          viewer: Account | None) -> tuple[list[dict], int]:
    """One page of a collection's features, and how many match in all (``numberMatched``);
    grids and households only in the viewer's areas (the incidents are the public view)."""
    if name == INCIDENTS:
        return _incident_page(conn, bbox, limit, offset, crs)
    return _layer_page(conn, name, bbox, limit, offset, crs, areas=read_areas(viewer))


def item(conn: Connection, name: str, fid: str, crs: str, viewer: Account | None
         ) -> dict | None:
    """One feature by its id (a layer's code, an incident's number), or None."""
    if name == INCIDENTS:
        if not (fid.isascii() and fid.isdigit()) or int(fid) >= 2**31:
            return None
        found, _ = _incident_page(conn, None, 1, 0, crs, int(fid))
    else:
        found, _ = _layer_page(conn, name, None, 1, 0, crs, fid, read_areas(viewer))
    return found[0] if found else None


def extent(conn: Connection) -> list[float]:
    """The bounding box of all grids (CRS84), for the collections' extent."""
    row = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                            "(SELECT ST_Extent(geom) AS e FROM grids) t")).one()
    return [round(v, 6) for v in row] if row[0] is not None else [-180, -90, 180, 90]


__all__ = ["CRS", "CRS84", "Collection", "collections", "collection", "items", "item",
           "extent"]
