"""Naming a place (``geodata.places``): the nearest named road and building and the grid, as
PostGIS finds them by index, against geopandas on the same rows in a metric CRS (UTM 48N)."""
import numpy as np
import geopandas as gpd
from shapely.geometry import Point

from geodata import places

UTM48N = 32648


def test_places_match_a_brute_force_nearest_search(shared_db):
    rng = np.random.default_rng(7)
    with shared_db.connect() as conn:
        roads = gpd.read_postgis("SELECT name, geom FROM roads WHERE name <> ''", conn,
                                 geom_col="geom").to_crs(UTM48N)
        buildings = gpd.read_postgis("SELECT name, geom FROM buildings", conn,
                                     geom_col="geom").to_crs(UTM48N)
        grids = gpd.read_postgis("SELECT code, name, geom FROM grids", conn, geom_col="geom")
        minx, miny, maxx, maxy = grids.total_bounds
        points = list(zip(rng.uniform(minx - 0.003, maxx + 0.003, 60),
                          rng.uniform(miny - 0.003, maxy + 0.003, 60)))
        found = places.describe(conn, points)
    assert len(found) == len(points)
    metric = gpd.GeoSeries([Point(p) for p in points], crs=4326).to_crs(UTM48N)
    for p, wgs, got in zip(metric, points, found):
        d_road = roads.distance(p)
        d_building = buildings.distance(p)
        # within a metre of the independent answer (geography vs. UTM: both ≈ true metres)
        if d_road.min() <= places.NEAR_ROAD_M - 2:
            assert got["road"] is not None and abs(got["road_m"] - d_road.min()) <= 1.5
            assert d_road[roads.name == got["road"]].min() <= d_road.min() + 1.5
        elif d_road.min() > places.NEAR_ROAD_M + 2:
            assert got["road"] is None
        if d_building.min() <= places.NEAR_BUILDING_M - 2:
            assert d_building[buildings.name == got["building"]].min() <= d_building.min() + 1.5
        elif d_building.min() > places.NEAR_BUILDING_M + 2:
            assert got["building"] is None
        inside = grids[grids.covers(Point(wgs))]
        assert got["grid_code"] == (inside.code.min() if len(inside) else None)
        assert got["place"] and (got["grid_name"] is None or got["grid_name"] in got["place"])
    assert any(f["road"] for f in found) and any(f["road"] is None for f in found)


def test_no_points_no_query(shared_db):
    with shared_db.connect() as conn:
        assert places.describe(conn, []) == []
