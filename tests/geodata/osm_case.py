"""A real OpenStreetMap extract made into a community, and an independent computation of its
coverage with OSM's junction semantics (used by tests/geodata/test_osm.py and bench/osm_real.py).

The community: the extract's walkable ways imported by ``geodata.osm``; one household at a
point inside each simple building polygon of the extract; its amenity points as the facilities;
one grid around everything.

The reference builds its own graph straight from the stored roads, sharing nothing with
``geodata.network``: nodes are vertices with identical coordinates (OSM's shared nodes), edges
join consecutive vertices of a way, and an end of a way lying on another way of the same grade
(layer, bridge, tunnel) within 5 cm meets it there; doors and facilities walk to the nearest
point of a way on the ground, neither tunnel nor bridge (found by brute force); networkx's
Dijkstra does the rest. Every length is geodesic (pyproj's Geod between the points' longitudes
and latitudes): true on the ground, whatever the projection's scale where the data lies.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pyogrio
import shapely
from pyproj import Geod, Transformer
from sqlalchemy import text

from geodata.importer import import_dataframe
from geodata.osm import import_osm

EXTRACT = Path(__file__).parents[1] / "data" / "osm" / "kouvola.osm.pbf"
GRID = "999999001001001"
KIND = "party_service_center"
END_TOLERANCE = 0.05


def load_case(engine, pbf: Path = EXTRACT, facilities: int = 8) -> dict:
    """Import the extract's ways, buildings (as households) and amenities into ``engine``."""
    report = import_osm(engine, pbf, actor="tests")
    with warnings.catch_warnings():   # GDAL's notes on the extract's unclosed rings
        warnings.simplefilter("ignore", RuntimeWarning)
        polys = pyogrio.read_dataframe(pbf, layer="multipolygons", on_invalid="ignore",
                                       columns=["osm_way_id", "building"])
    polys = polys[polys["building"].notna() & polys.geometry.notna()]
    polys = polys[polys.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    polys = polys[shapely.get_num_geometries(polys.geometry.values) == 1].explode()
    polys = polys[polys.geometry.is_valid].reset_index(drop=True)
    codes = [f"B{i}" for i in range(len(polys))]
    buildings = gpd.GeoDataFrame({"code": codes, "name": codes}, geometry=polys.geometry.values,
                                 crs=4326)
    doors = gpd.GeoDataFrame({"code": [f"H{i}" for i in range(len(polys))],
                              "building_code": codes, "unit_room": "1", "residents": 2},
                             geometry=polys.geometry.representative_point().values, crs=4326)
    points = pyogrio.read_dataframe(pbf, layer="points", columns=["other_tags"])
    points = points[points["other_tags"].fillna("").str.contains('"amenity"=>')]
    points = points.iloc[np.linspace(0, len(points) - 1, min(facilities, len(points)))
                         .round().astype(int)]
    facs = gpd.GeoDataFrame({"code": [f"F{i}" for i in range(len(points))],
                             "name": [f"amenity {i}" for i in range(len(points))],
                             "kind": KIND}, geometry=points.geometry.values, crs=4326)
    everything = shapely.union_all([shapely.box(*doors.total_bounds),
                                    shapely.box(*facs.total_bounds)])
    with engine.connect() as conn:
        roads_box = conn.execute(text("SELECT ST_AsBinary(ST_Extent(geom)::geometry) "
                                      "FROM roads")).scalar_one()
    everything = shapely.union(everything, shapely.from_wkb(bytes(roads_box))).envelope
    grid = gpd.GeoDataFrame({"code": [GRID], "name": ["extract"]},
                            geometry=[everything.buffer(0.01)], crs=4326)
    for layer, frame in (("grids", grid), ("buildings", buildings), ("households", doors),
                         ("facilities", facs)):
        import_dataframe(engine, layer, frame, source=pbf.name, actor="tests")
    return {"roads": report, "households": len(doors), "facilities": len(facs)}


def reference_distances(conn, srid: int, cap: float) -> np.ndarray:
    """Each household's (in id order) network distance to the nearest facility; NaN where the
    door is farther than ``cap`` from every walkable way, inf where no facility is reached."""
    roads = conn.execute(text(f"""SELECT ST_AsBinary(ST_Transform(geom, {srid})), layer, bridge,
                                         tunnel FROM roads ORDER BY id""")).all()
    ways = [shapely.from_wkb(bytes(r[0])) for r in roads]
    grade = [(r[1], r[2], r[3]) for r in roads]
    off_ground = np.array([r[2] or r[3] for r in roads])
    doors = np.array(conn.execute(text(f"""
        SELECT ST_X(p), ST_Y(p) FROM (SELECT id, ST_Transform(geom, {srid}) p FROM households
        WHERE grid_id IS NOT NULL) h ORDER BY id""")).all(), float).reshape(-1, 2)
    facs = np.array(conn.execute(text(f"""
        SELECT ST_X(p), ST_Y(p) FROM (SELECT code, ST_Transform(geom, {srid}) p
        FROM facilities WHERE kind = :k) f ORDER BY code"""), {"k": KIND}).all(),
        float).reshape(-1, 2)

    to_lonlat = Transformer.from_crs(srid, 4326, always_xy=True)
    geod = Geod(ellps="GRS80")

    def ground(p, q) -> float:
        """Metres on the ground between two points of the plane."""
        (x0, x1), (y0, y1) = to_lonlat.transform([p[0], q[0]], [p[1], q[1]])
        return float(geod.inv(x0, y0, x1, y1)[2])

    # stops along each way: its vertices, plus the feet of other ways' ends lying on it
    stops = {w: [(d, tuple(c)) for d, c in zip(_cumulative(way), way.coords)]
             for w, way in enumerate(ways)}
    graph = nx.Graph()
    for w, way in enumerate(ways):
        for end in (way.coords[0], way.coords[-1]):
            point = shapely.Point(end)
            for o, other in enumerate(ways):
                if o == w or grade[o] != grade[w] or other.distance(point) > END_TOLERANCE:
                    continue
                if end in list(other.coords):      # a shared node: joined already
                    continue
                pos = other.project(point)
                foot = other.interpolate(pos).coords[0]
                stops[o].append((pos, foot))
                if foot != end:
                    _edge(graph, end, foot, ground(end, foot))
    segments, seg_off = [], []
    for w, points in stops.items():
        points = sorted(set(points))
        for (d0, p0), (d1, p1) in zip(points, points[1:]):
            _edge(graph, p0, p1, ground(p0, p1))
            segments.append((p0, p1))
            seg_off.append(off_ground[w])
    segments = np.array(segments, float)
    walkable = ~np.array(seg_off)

    def attach(name, xy):
        a, b = segments[walkable, 0], segments[walkable, 1]
        d = b - a
        t = np.clip(np.einsum("ij,ij->i", xy - a, d)
                    / np.maximum(np.einsum("ij,ij->i", d, d), 1e-12), 0, 1)
        feet = a + d * t[:, None]
        dist = np.hypot(*(feet - xy).T)
        k = int(np.argmin(dist))
        p0, p1 = tuple(a[k]), tuple(b[k])
        foot = tuple(feet[k])
        access = ground(tuple(xy), foot)
        _edge(graph, name, p0, access + ground(foot, p0))
        _edge(graph, name, p1, access + ground(foot, p1))
        return access, (k, t[k], foot)

    door_info = [attach(("door", i), xy) for i, xy in enumerate(doors)]
    fac_info = [attach(("facility", j), xy) for j, xy in enumerate(facs)]
    # a door and a facility on the same segment also reach each other along it directly
    for i, (da, (k, t, foot)) in enumerate(door_info):
        for j, (fa, (kf, tf, ffoot)) in enumerate(fac_info):
            if k == kf:
                _edge(graph, ("door", i), ("facility", j), da + fa + ground(foot, ffoot))
    for j, (fa, _) in enumerate(fac_info):
        _edge(graph, "SOURCE", ("facility", j), 0.0)
    lengths = nx.single_source_dijkstra_path_length(graph, "SOURCE", weight="w") \
        if fac_info else {}
    out = np.array([lengths.get(("door", i), np.inf) for i in range(len(doors))])
    # the door's walk to its own way is in the edge weights; a far door is off the network
    out[np.array([a for a, _ in door_info]) > cap] = np.nan
    return out


def _cumulative(way) -> list[float]:
    c = np.asarray(way.coords)
    return np.r_[0.0, np.cumsum(np.hypot(*np.diff(c, axis=0).T))].tolist()


def _edge(graph, a, b, w) -> None:
    w = float(w)
    if a == b:
        return
    if not graph.has_edge(a, b) or graph[a][b]["w"] > w:
        graph.add_edge(a, b, w=w)
