"""A real OpenStreetMap extract (tests/data/osm, © OpenStreetMap contributors, ODbL) through the
OSM importer, and its coverage against an independent networkx computation with OSM's junction
semantics (tests/geodata/osm_case.py)."""
import json

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
from shapely import from_wkb
from shapely.geometry import Point, Polygon
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from geodata import coverage as cv
from geodata.importer import import_dataframe
from geodata.migrate import upgrade
from geodata.network import Network, point_distances, reach
from geodata.osm import import_osm
from geodata.workflow import InvalidInput

from ..conftest import RUN, _create, _drop

from .osm_case import EXTRACT, KIND, load_case, reference_distances

BIG = cv.Budgets.from_metres([100_000])     # far enough to reach every connected door


@pytest.fixture(scope="module")
def osm_db(empty_db_url):
    eng = create_engine(empty_db_url, poolclass=NullPool)
    case = load_case(eng)
    yield eng, case
    eng.dispose()


def file_ways():
    """The extract's highway ways as GDAL reads them, for checks made without the importer."""
    ways = pyogrio.read_dataframe(EXTRACT, layer="lines")
    return ways[ways["highway"].notna()]


def test_the_walkable_ways_arrive_with_their_ids_names_and_grades(osm_db):
    eng, case = osm_db
    ways = file_ways()
    tags = ways["other_tags"].fillna("")
    with eng.connect() as conn:
        rows = conn.execute(text("SELECT osm_id, code, name, class, layer, bridge, tunnel, "
                                 "noding FROM roads")).all()
    stored = {r.osm_id: r for r in rows}
    assert len(stored) == len(rows) == case["roads"].imported.inserted
    motorways = ways[ways["highway"].str.startswith("motorway")]
    assert len(motorways) and not set(motorways["osm_id"].astype(int)) & set(stored)
    for osm_id, name, highway, other in zip(ways["osm_id"].astype(int), ways["name"],
                                             ways["highway"], tags):
        if osm_id not in stored:
            continue
        road = stored[osm_id]
        assert road.code == f"osm-w{osm_id}" and road.noding == "vertices"
        assert road.name == (name if isinstance(name, str) else None)
        assert road.tunnel == ('"tunnel"=>"yes"' in other)
        assert road.bridge == ('"bridge"=>"yes"' in other)
        layer = next((int(p.split("=>")[1].strip('"')) for p in other.split(",")
                      if p.startswith('"layer"')), 0)
        assert road.layer == layer
        if highway == "footway":
            assert road._mapping["class"] == "path"
    assert sum(r.tunnel for r in rows) and sum(r.bridge for r in rows)
    assert sum(r.name is None for r in rows) and sum(r.name is not None for r in rows)


def test_importing_again_updates_the_same_roads(osm_db):
    eng, case = osm_db
    with eng.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM roads")).scalar_one()
    again = import_osm(eng, EXTRACT, actor="tests")
    assert again.imported.inserted == again.imported.updated == 0
    assert again.imported.unchanged == before          # the same roads, nothing rewritten
    dry = import_osm(eng, EXTRACT, actor="tests", dry_run=True)
    assert dry.imported.dry_run and dry.imported.unchanged == before
    with eng.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM roads")).scalar_one() == before


def test_coverage_equals_networkx_with_osm_junction_semantics(osm_db):
    eng, case = osm_db
    with eng.connect() as conn:
        data = cv.load(conn)
        slow = reference_distances(conn, data.srid, cv.ACCESS_CAP_M)
    fast = cv.households_distances(data, (KIND,), BIG).distance
    assert len(fast) == len(slow) == case["households"] > 1000
    assert np.array_equal(np.isnan(fast), np.isnan(slow))
    assert np.array_equal(np.isinf(fast), np.isinf(slow))
    ok = np.isfinite(slow)
    assert ok.sum() > 0.9 * len(slow)
    np.testing.assert_allclose(fast[ok], slow[ok], atol=0.1)
    for budget in (300, 600, 900):   # every household's state, at each budget
        assert np.array_equal(fast <= budget, slow <= budget)


def test_noding_every_crossing_would_change_the_answer(osm_db):
    """The extract's tunnels and bridges cross streets without shared nodes: noding them (what
    the engine did before grades) joins levels and shortens walks."""
    eng, _ = osm_db
    with eng.connect() as conn:
        data = cv.load(conn)
        lines = [from_wkb(bytes(g)) for g in conn.execute(text(
            f"SELECT ST_AsBinary(ST_Transform(geom, {data.srid})) FROM roads")).scalars()]
    graded = cv.households_distances(data, (KIND,), BIG).distance
    flat = Network.from_lines(lines)
    fs = flat.snap(data.facilities.xy[data.facilities.kinds == KIND])
    hs = flat.snap(data.households.xy)
    naive = point_distances(flat, hs, reach(flat, fs, 1e5), fs, 1e5)[0]
    on = ~np.isnan(graded)
    assert (naive[on] < graded[on] - 1).sum() > 0


@pytest.mark.parametrize("east, srid", [(9.5, 32632), (108.0, 32649)])
def test_the_extract_moved_to_another_zone_measures_the_same(osm_db, east, srid):
    """Moved along its parallel the extract keeps every ground length; in UTM zone 32 (0.5°
    from its meridian, scale 0.9996) and in UTM zone 49 (3° from its meridian at 60.5°N, scale
    0.99993) the engine measures the same walks as at home (UTM zone 35) within 0.01 %: lengths are divided by
    the projection's scale where they lie (they were 0.04 % short in UTM before)."""
    eng, _ = osm_db
    with eng.connect() as conn:
        here = cv.load(conn)
        at_home = cv.households_distances(here, (KIND,), BIG).distance
        lon = conn.execute(text("SELECT ST_X(ST_Centroid(ST_Extent(geom))) FROM roads")
                           ).scalar_one()
    with eng.connect() as conn:
        with conn.begin() as shift:      # moved inside a transaction, then put back
            for table in ("grids", "roads", "buildings", "households", "facilities"):
                conn.execute(text(f"UPDATE {table} SET geom = ST_Translate(geom, :dx, 0)"),
                             {"dx": east - lon})
            there = cv.load(conn)
            moved = cv.households_distances(there, (KIND,), BIG).distance
            shift.rollback()
    assert (here.srid, there.srid) == (32635, srid)
    assert np.array_equal(np.isfinite(at_home), np.isfinite(moved))
    ok = np.isfinite(at_home) & (at_home > 0)
    # within 0.01 %, but for the centimetre to which nodes are rounded in either plane
    np.testing.assert_allclose(moved[ok], at_home[ok], rtol=1e-4, atol=0.02)
    assert abs(np.median(moved[ok] / at_home[ok] - 1)) < 1e-5      # no bias left
    assert here.net.length.sum() == pytest.approx(there.net.length.sum(), rel=1e-5)


def test_the_service_serves_the_imported_extract(osm_db, empty_db_url):
    """The web shell on the real data: coverage figures in the data's own zone, road tiles
    with the unnamed ways, the map page."""
    import mapbox_vector_tile

    from ..webmap.test_tiles import tile_of

    from geodata import accounts
    from webmap import create_app
    eng, case = osm_db
    with eng.begin() as conn:
        accounts.create_user(conn, "osm-admin", "admin", "osm password 123", (), actor="tests")
        token = accounts.issue_token(conn, "osm-admin", actor="tests")
    app = create_app({"DATABASE_URL": empty_db_url, "TESTING": True})
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    r = client.get(f"/api/coverage?kinds={KIND}&metres=600", headers=auth)
    assert r.status_code == 200, r.get_data(as_text=True)
    body = r.get_json()
    with eng.connect() as conn:
        data = cv.load(conn)
    direct = cv.households_distances(data, (KIND,), cv.Budgets.from_metres([600]))
    assert body["crs"] == f"EPSG:{data.srid}" == "EPSG:32635"
    assert body["total"]["600m"]["households"] == case["households"]
    assert body["total"]["600m"]["covered"] == int((direct.distance <= 600).sum())
    with eng.connect() as conn:
        lon, lat = conn.execute(text("SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid("
                                     "ST_Extent(geom)) c FROM roads) x")).one()
    z = 16
    x, y = tile_of(lon, lat, z)
    r = client.get(f"/tiles/roads/{z}/{x}/{y}.mvt", headers=auth)
    assert r.status_code == 200
    roads = mapbox_vector_tile.decode(r.get_data())["roads"]["features"]
    assert roads and any(not f["properties"].get("name") for f in roads)
    features = client.get("/api/layers/roads?limit=10000", headers=auth).get_json()["features"]
    grades = {f["properties"]["code"]: f["properties"]["grade"] for f in features}
    with eng.connect() as conn:
        expected = dict(conn.execute(text(
            "SELECT code, CASE WHEN tunnel THEN 'tunnel' WHEN bridge THEN 'bridge' END "
            "FROM roads")).all())
    assert grades == expected and "tunnel" in grades.values() and "bridge" in grades.values()
    home = client.get("/", headers=auth)
    legend = "隧道（与上方道路不相交）"      # in the map's script, perhaps as \u escapes
    page = home.get_data(as_text=True)
    assert home.status_code == 200
    assert legend in page or json.dumps(legend)[1:-1] in page
    assert client.get(f"/coverage?kinds={KIND}", headers=auth).status_code == 200
    app.extensions["geodata_engine"].dispose()


def test_coverage_before_any_road_says_to_import_some(admin):
    """A new deployment with grids and facilities but no roads yet: a clear message, not a
    crash."""
    name = f"slx_noroads_{RUN}"
    url = _create(admin, name)
    try:
        upgrade(url)
        eng = create_engine(url, poolclass=NullPool)
        import_dataframe(eng, "grids", gpd.GeoDataFrame(
            {"code": ["999999001001001"], "name": ["g"]},
            geometry=[Polygon([(107, 31), (107.01, 31), (107.01, 31.01), (107, 31.01)])],
            crs=4326), source="test")
        import_dataframe(eng, "facilities", gpd.GeoDataFrame(
            {"code": ["F1"], "name": ["f"], "kind": [KIND]},
            geometry=[Point(107.005, 31.005)], crs=4326), source="test")
        with eng.connect() as conn, pytest.raises(InvalidInput) as refused:
            cv.load(conn)
        assert refused.value.code == "no_roads" and "import-osm" in str(refused.value)
        eng.dispose()
    finally:
        _drop(admin, name)
