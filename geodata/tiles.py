"""Vector tiles (Mapbox Vector Tile, made by PostGIS's ``ST_AsMVT``) of the map layers and the
incidents, with the same privacy as every other read path (``geodata.privacy``).

A tile carries what its viewer may see: accounts get the map layers and the incidents as
accounts see them; the public gets only the public incident view, personal cases in their
~200 m cell. Below zoom 15 households are not sent one by one: each tile holds one point per
occupied cell of 1/16 of the tile with the number of households in it (read from a derived table,
``geodata.derived``), so that a tile's size and time do not grow with the city; incidents likewise
(counted on the fly: they are few). Small road classes and buildings appear from the zoom at which
a street map would draw them (``ROAD_CLASS_FROM``, ``BUILDINGS_FROM``).
"""
from __future__ import annotations

import hashlib

from sqlalchemy import Connection, text

from . import derived, privacy
from .scope import IN_AREAS, IN_SCOPE, read_areas
from .accounts import Account
from .incidents.public import PUBLIC_SQL
from .incidents.reading import INCIDENT_JOINS, OPEN_ARRAY
from .queries import LAYER_ALIAS, layer_sql
from .workflow import InvalidInput

EXTENT, BUFFER = 4096, 64
POINTS_FROM = 15          # below this zoom: households and incidents as counts per cell
CELLS_PER_TILE = 2 ** derived.CELL_LEVELS
MAX_ZOOM = 22
INCIDENTS = "incidents"
# the layers whose versions (data_versions) say whether a cached tile is still right
VERSIONED = {"grids", "roads", "households", "facilities", "buildings", "compounds",
             "parking_lots"}
SOURCES = {"grids": ("grids", "households")}   # grids carry their household counts
# Cartographic generalisation: the zoom from which a road class or the buildings are drawn (as
# on any street map, small streets appear only when they are more than a few pixels long), so
# that a low-zoom tile of a city does not carry every lane.
ROAD_CLASS_FROM = {"arterial": 0, "group_road": 12, "oiled_road": 12, "lane": 14, "path": 15}
BUILDINGS_FROM = 14


class TileError(InvalidInput):
    """A tile address that does not exist."""
    code = "no_such_tile"


def layers(viewer: Account | None) -> tuple[str, ...]:
    return (*privacy.layers_for(viewer), INCIDENTS)


def check_address(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM:
        raise TileError("zoom must lie between 0 and %(max)s", max=MAX_ZOOM)
    if not (0 <= x < 2 ** z and 0 <= y < 2 ** z):
        raise TileError("at zoom %(z)s, x and y must lie between 0 and %(max)s", z=z,
                        max=2 ** z - 1)


def version(conn: Connection, layer: str, viewer: Account | None,
            gcj02: bool = False) -> str | None:
    """A tag that changes whenever the tile's data or its viewer's view could: None for the
    incidents (they change by the minute)."""
    if layer not in VERSIONED:
        return None
    rows = conn.execute(text("SELECT layer, version FROM data_versions WHERE layer = ANY(:l) "
                             "ORDER BY layer"), {"l": list(SOURCES.get(layer, (layer,)))}).all()
    areas = read_areas(viewer)
    view = "public" if viewer is None else ",".join(areas) if areas is not None else "account"
    return hashlib.sha256(f"{layer}:{rows}:{view}:{gcj02}".encode()).hexdigest()[:16]


def _geom(shift: bool) -> str:
    return "wgs84_to_gcj02_shape(s.geom)" if shift else "s.geom"


def _mvt(source_sql: str, name: str, shift: bool = False) -> str:
    """``source_sql`` yields rows with a 4326 ``geom`` and properties; clip them to the tile
    (shifted to GCJ-02 first for Gaode's tiles: ``shift``). The properties travel as one jsonb
    column, which ST_AsMVT spreads into attributes."""
    return f"""
        WITH bb AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env)
        SELECT ST_AsMVT(t, '{name}', {EXTENT}, 'mvtgeom') FROM (
            SELECT ST_AsMVTGeom(ST_Transform({_geom(shift)}, 3857), bb.env, {EXTENT}, {BUFFER},
                                true) AS mvtgeom, to_jsonb(s) - 'geom' AS props
            FROM ({source_sql}) s, bb
        ) t WHERE t.mvtgeom IS NOT NULL"""


def _per_cell(source_sql: str, layer: str, shift: bool = False) -> str:
    """One point per occupied cell (1/16 of the tile), at the mean of its members, with counts;
    with ``shift``, cells of the GCJ-02 positions, counting only those inside the tile."""
    cell = ("(ST_XMax(ST_TileEnvelope(:z, :x, :y)) - ST_XMin(ST_TileEnvelope(:z, :x, :y)))"
            f" / {CELLS_PER_TILE}")
    extra = (f", count(*) FILTER (WHERE c.state = ANY({OPEN_ARRAY})) AS open"
             if layer == INCIDENTS else "")
    inside = ("WHERE c.pos && ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326)"
              if shift else "")
    return f"""
        SELECT count(*) AS {layer}{extra},
               ST_Transform(ST_Centroid(ST_Collect(ST_Transform(c.pos, 3857))), 4326) AS geom
        FROM (SELECT s.*, {_geom(shift)} AS pos FROM ({source_sql}) s) c {inside}
        GROUP BY ST_SnapToGrid(ST_Transform(c.pos, 3857), {cell})"""


def _household_cells(conn: Connection, z: int, x: int, y: int, shift: bool) -> bytes:
    """A low-zoom household tile from the derived per-cell counts (``geodata.derived``): at
    most 16 × 16 rows read by primary key, however many households the city has. Shifted for
    Gaode, the cells' mean positions move, and cells within ``GCJ02_MARGIN_M`` around the tile
    are read as they may move in."""
    derived.ensure(conn, derived.HOUSEHOLD_CELLS)
    per = 2 ** derived.CELL_LEVELS
    margin = derived.cell_margin(z, GCJ02_MARGIN_M) if shift else 0
    point = "ST_SetSRID(ST_MakePoint(sx / n, sy / n), 3857)"
    if shift:
        point = f"ST_Transform(wgs84_to_gcj02(ST_Transform({point}, 4326)), 3857)"
    data = conn.execute(text(f"""
        SELECT ST_AsMVT(t, 'households', {EXTENT}, 'mvtgeom') FROM (
            SELECT ST_AsMVTGeom({point}, ST_TileEnvelope(:z, :x, :y), {EXTENT}, {BUFFER}, true)
                     AS mvtgeom, n AS households
            FROM household_cells
            WHERE z = :z AND x BETWEEN :x0 AND :x1 AND y BETWEEN :y0 AND :y1
        ) t WHERE t.mvtgeom IS NOT NULL"""),
        {"z": z, "x": x, "y": y, "x0": x * per - margin, "x1": (x + 1) * per - 1 + margin,
         "y0": y * per - margin, "y1": (y + 1) * per - 1 + margin}).scalar_one()
    return bytes(data or b"")


GCJ02_MARGIN_M = 2000   # Web Mercator metres: more than the GCJ-02 shift in China
GCJ02_MARGIN = 0.02     # degrees: more than the GCJ-02 shift anywhere, to find what moves in


def tile(conn: Connection, layer: str, z: int, x: int, y: int,
         viewer: Account | None, gcj02: bool = False) -> bytes:
    """The tile's bytes (possibly empty), for a layer the viewer may see (else LookupError).
    ``gcj02``: shifted for Gaode's base map (``wgs84_to_gcj02_shape``, migration 0012)."""
    check_address(z, x, y)
    if layer not in layers(viewer):
        raise LookupError(layer)
    envelope = "ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326)"
    if gcj02:   # what lies just outside may be shifted in
        envelope = f"ST_Expand({envelope}, {GCJ02_MARGIN})"
    areas = read_areas(viewer)
    params = {"z": z, "x": x, "y": y, "areas": areas}
    if layer == INCIDENTS:
        if viewer is None:   # the public view, its points already blurred in SQL
            source = (PUBLIC_SQL.format(where="TRUE", shown_where=f"shown && {envelope}")
                      .replace("ST_X(shown) AS lon, ST_Y(shown) AS lat", "shown AS geom")
                      .replace("LIMIT :limit OFFSET :offset", ""))
            source = f"SELECT id, category, state, personal AS blurred, geom FROM ({source}) p"
        else:
            source = f"""SELECT i.id, c.name AS category, i.state, g.code AS grid_code,
                                (i.state = ANY({OPEN_ARRAY}) AND i.deadline < now())
                                  AS overdue, i.geom
                         FROM incidents i {INCIDENT_JOINS}
                         WHERE i.geom && {envelope} AND {IN_AREAS.format(g="g")}"""
    else:
        alias = LAYER_ALIAS[layer]
        where = f"{alias}.geom && {envelope}"
        if layer == "roads":
            shown = [c for c, z0 in ROAD_CLASS_FROM.items() if z >= z0]
            where += " AND r.class IN (" + ", ".join(f"'{c}'" for c in shown) + ")"
        elif layer == "buildings" and z < BUILDINGS_FROM:
            where = "FALSE"
        source, more = layer_sql(conn, layer, where, areas)
        params |= more
    # low zooms count per cell: households from the derived cells, unless the viewer reads
    # only some areas (then counted on the fly, like the incidents, which are few)
    if layer == "households" and z < POINTS_FROM and areas is None:
        return _household_cells(conn, z, x, y, gcj02)
    if layer in ("households", INCIDENTS) and z < POINTS_FROM:
        source, gcj02 = _per_cell(source, layer, gcj02), False   # cells of shifted positions
    data = conn.execute(text(_mvt(source, layer, gcj02)), params).scalar_one()
    return bytes(data or b"")


COVERAGE_FROM = 15       # below: the coverage page colours the grids by their share instead


def coverage_tile(conn: Connection, run: int, z: int, x: int, y: int,
                  grids: tuple[str, ...] | None, gcj02: bool = False) -> bytes:
    """The households of a stored coverage run (``geodata.coverage_store``) in a tile, with
    their state and distance, only those in ``grids`` (None: all; the privacy policy's
    ``household_grids``); empty below ``COVERAGE_FROM``."""
    check_address(z, x, y)
    if z < COVERAGE_FROM:
        return b""
    envelope = "ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326)"
    if gcj02:
        envelope = f"ST_Expand({envelope}, {GCJ02_MARGIN})"
    source = f"""
        SELECT h.code, g.code AS grid,
               CASE s.state WHEN -1 THEN 'uncovered' WHEN -2 THEN 'off_network'
                    ELSE r.labels[s.state + 1] END AS state,
               CASE WHEN s.distance_m < 'Infinity' THEN round(s.distance_m) END AS distance_m,
               h.geom
        FROM coverage_runs r JOIN coverage_states s ON s.run_id = r.id
        JOIN households h ON h.id = s.household_id JOIN grids g ON g.id = h.grid_id
        WHERE r.id = :run AND h.geom && {envelope}
          AND {IN_SCOPE.format(g="g")}"""
    data = conn.execute(text(_mvt(source, "coverage", gcj02)),
                        {"z": z, "x": x, "y": y, "run": run,
                         "grids": None if grids is None else list(grids)}).scalar_one()
    return bytes(data or b"")


__all__ = ["tile", "coverage_tile", "layers", "version", "check_address", "TileError"]


MVT_TYPES = {"string": "String", "integer": "Number", "number": "Number", "boolean": "Boolean"}
INCIDENT_FIELDS = {   # what an incident tile carries, by kind of viewer
    "public": {"id": "Number", "category": "String", "state": "String", "blurred": "Boolean"},
    "account": {"id": "Number", "category": "String", "state": "String",
                "grid_code": "String", "overdue": "Boolean"},
}
CELL_FIELDS = {"households": {"households": "Number"},
               INCIDENTS: {"incidents": "Number", "open": "Number"}}


def tilejson(conn: Connection, layer: str, viewer: Account | None, tiles_url: str) -> dict:
    """TileJSON 3.0.0 for one tile layer as ``viewer`` gets it: the URL template
    (``tiles_url``), zooms, bounds and the fields its features carry, so that MapLibre, QGIS
    or GDAL add the layer from one URL. LookupError for a layer the viewer has no tiles of."""
    from .features import extent, queryables
    if layer not in layers(viewer):
        raise LookupError(layer)
    if layer == INCIDENTS:
        fields = INCIDENT_FIELDS["public" if viewer is None else "account"]
    else:
        fields = {q.name: MVT_TYPES.get(q.schema.get("type"), "String")
                  for q in queryables(conn, layer, viewer) if q.name != "geometry"}
    bounds = extent(conn, layer, viewer)["spatial"]["bbox"][0]
    first = {"buildings": BUILDINGS_FROM, "roads": 0}.get(layer, 0)
    described = {"id": layer, "fields": fields, "minzoom": first, "maxzoom": MAX_ZOOM}
    if layer in CELL_FIELDS:
        described["description"] = (f"below zoom {POINTS_FROM}: one point per occupied cell "
                                    f"with its counts ({', '.join(CELL_FIELDS[layer])})")
    return {"tilejson": "3.0.0", "name": layer, "scheme": "xyz", "tiles": [tiles_url],
            "minzoom": 0, "maxzoom": MAX_ZOOM, "bounds": bounds,
            "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 15],
            "vector_layers": [described]}
