"""Vector tiles over HTTP: what they hold equals the database, counts below zoom 15, privacy per
viewer, versioned caching."""
import math

import mapbox_vector_tile
import pytest
from sqlalchemy import text

from ..conftest import client_as

POINT = (107.4955, 31.2455)


def tile_of(lon, lat, z):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def envelope_sql(z, x, y):
    return f"ST_Transform(ST_TileEnvelope({z}, {x}, {y}), 4326)"


def decode(r, layer):
    assert r.status_code == 200 and r.mimetype == "application/vnd.mapbox-vector-tile"
    return mapbox_vector_tile.decode(r.get_data()).get(layer, {}).get("features", [])


@pytest.mark.parametrize("layer, table", [("roads", "roads"), ("buildings", "buildings"),
                                          ("facilities", "facilities"),
                                          ("households", "households"), ("grids", "grids")])
def test_a_tile_holds_the_layers_features_in_it(client, shared_db, layer, table):
    z = 17
    x, y = tile_of(*POINT, z)
    with shared_db.connect() as conn:
        expected = set(conn.execute(text(
            f"SELECT code FROM {table} WHERE ST_Intersects(geom, {envelope_sql(z, x, y)})"
        )).scalars())
    got = {f["properties"]["code"] for f in decode(client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt"),
                                                   layer)}
    assert expected and got == expected


def test_low_zooms_count_households_instead_of_drawing_them(client, shared_db):
    z = 12
    x, y = tile_of(*POINT, z)
    features = decode(client.get(f"/tiles/households/{z}/{x}/{y}.mvt"), "households")
    with shared_db.connect() as conn:
        inside = conn.execute(text(
            f"SELECT count(*) FROM households WHERE geom && {envelope_sql(z, x, y)}")).scalar()
    assert 0 < len(features) <= 16 * 16 and "code" not in features[0]["properties"]
    assert sum(f["properties"]["households"] for f in features) == inside


def test_the_public_gets_blurred_incidents_and_no_map_layers(write_app):
    admin = write_app.test_client()
    exact = (107.49557, 31.24563)
    iid = admin.post("/api/incidents", json={"lon": exact[0], "lat": exact[1],
                                             "category": "dispute",
                                             "description": "私事"}).get_json()["id"]
    anonymous = client_as(write_app, None)
    z = 18
    x, y = tile_of(*exact, z)
    assert anonymous.get(f"/tiles/roads/{z}/{x}/{y}.mvt").status_code == 404
    mine = [f for f in decode(admin.get(f"/tiles/incidents/{z}/{x}/{y}.mvt"), "incidents")
            if f["properties"]["id"] == iid]
    assert mine                                   # an account sees it where it is
    # the public sees it in the tile of its 200 m cell's corner, not at its exact place
    bx, by = tile_of(round(exact[0] / 0.002) * 0.002, round(exact[1] / 0.002) * 0.002, z)
    public = [f for f in decode(anonymous.get(f"/tiles/incidents/{z}/{bx}/{by}.mvt"),
                                "incidents") if f["properties"]["id"] == iid]
    assert public and public[0]["properties"]["blurred"] is True
    assert "description" not in public[0]["properties"]
    if (bx, by) != (x, y):
        assert not [f for f in decode(anonymous.get(f"/tiles/incidents/{z}/{x}/{y}.mvt"),
                                      "incidents") if f["properties"]["id"] == iid]


def test_tiles_are_cached_by_data_version(write_app):
    client = write_app.test_client()
    z = 15
    x, y = tile_of(*POINT, z)
    url = f"/tiles/buildings/{z}/{x}/{y}.mvt"
    first = client.get(url)
    tag = first.headers["ETag"]
    assert "private" in first.headers["Cache-Control"]
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
    packed = client.get(url, headers={"Accept-Encoding": "br"})
    assert packed.headers["Content-Encoding"] == "br"
    assert client.get(url, headers={"Accept-Encoding": "br", "If-None-Match": packed.headers[
        "ETag"]}).status_code == 304
    from webmap import engine
    with engine(write_app).begin() as conn:
        conn.execute(text("UPDATE buildings SET floors = floors + 1 WHERE code = 'CP01-B01'"))
    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 200 and again.headers["ETag"] != tag


@pytest.mark.parametrize("path, status", [("/tiles/roads/23/0/0.mvt", 400),
                                          ("/tiles/roads/3/8/0.mvt", 400),
                                          ("/tiles/rivers/3/0/0.mvt", 404)])
def test_bad_tile_addresses(client, path, status):
    r = client.get(path)
    assert r.status_code == status and "error" in r.get_json()


def test_the_sql_shift_equals_the_python_one(shared_db):
    """wgs84_to_gcj02 in SQL against geodata.gcj02 (numpy), all over China."""
    import numpy as np
    from geodata.gcj02 import wgs84_to_gcj02
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(74, 134, 500), rng.uniform(18, 53, 500)
    with shared_db.connect() as conn:
        got = np.array(conn.execute(text("""
            SELECT ST_X(s), ST_Y(s) FROM (
                SELECT wgs84_to_gcj02(ST_SetSRID(ST_MakePoint(x, y), 4326)) AS s, n
                FROM unnest(CAST(:x AS float8[]), CAST(:y AS float8[])) WITH ORDINALITY
                     AS t(x, y, n)) q ORDER BY n"""), {"x": lon.tolist(), "y": lat.tolist()}
        ).all())
        outside = conn.execute(text(
            "SELECT ST_AsText(wgs84_to_gcj02(ST_SetSRID(ST_MakePoint(2.35, 48.85), 4326)))")
        ).scalar()
    gx, gy = wgs84_to_gcj02(lon, lat)
    assert np.abs(got[:, 0] - gx).max() < 1e-9 and np.abs(got[:, 1] - gy).max() < 1e-9
    assert outside == "POINT(2.35 48.85)"   # no shift outside China


@pytest.mark.parametrize("z", [17, 12])
def test_gaode_tiles_hold_every_household_at_its_shifted_place(client, shared_db, z):
    """Each household lands in the tile of its GCJ-02 position, once: doors at z17, counts in
    cells at z12 (their sum is every household whose shifted position lies in the tile)."""
    with shared_db.connect() as conn:
        rows = conn.execute(text("SELECT code, ST_X(g), ST_Y(g) FROM (SELECT code, "
                                 "wgs84_to_gcj02(geom) AS g FROM households) q")).all()
    by_tile = {}
    for code, lon, lat in rows:
        by_tile.setdefault(tile_of(lon, lat, z), set()).add(code)
    (x, y), codes = max(by_tile.items(), key=lambda kv: len(kv[1]))
    feats = decode(client.get(f"/tiles/households/{z}/{x}/{y}.mvt?gcj02=1"), "households")
    if z >= 15:
        assert {f["properties"]["code"] for f in feats} >= codes
    else:
        assert sum(f["properties"]["households"] for f in feats) == len(codes)
    assert client.get(f"/tiles/roads/{z}/{x}/{y}.mvt?gcj02=2").status_code == 400


def test_small_roads_and_buildings_appear_from_their_zoom(client, shared_db):
    """Generalisation: a low-zoom tile holds the classes a street map draws at that zoom, and
    every class the database has is given a zoom."""
    from geodata.models import ROAD_CLASSES
    from geodata.tiles import BUILDINGS_FROM, ROAD_CLASS_FROM
    assert set(ROAD_CLASS_FROM) == set(ROAD_CLASSES)
    with shared_db.connect() as conn:
        codes = dict(conn.execute(text("SELECT code, class FROM roads")).all())
    for z in (12, 13, 14, 15, 16):
        x, y = tile_of(*POINT, z)
        classes = {codes[f["properties"]["code"]]
                   for f in decode(client.get(f"/tiles/roads/{z}/{x}/{y}.mvt"), "roads")}
        assert classes == {c for c in classes if ROAD_CLASS_FROM[c] <= z}
        assert classes, z
        buildings = decode(client.get(f"/tiles/buildings/{z}/{x}/{y}.mvt"), "buildings")
        assert bool(buildings) == (z >= BUILDINGS_FROM)


def test_lines_and_polygons_shift_for_gaode(shared_db, client):
    """Roads vertex by vertex exactly as geodata.gcj02 shifts them; buildings and grids moved
    whole, every vertex within 1 m (buildings) and 3 m (grids) of its own shifted place; and the
    shifted road tiles hold what lies in them after the shift."""
    import numpy as np
    import shapely
    from geodata.gcj02 import wgs84_to_gcj02
    metres = 111_320
    with shared_db.connect() as conn:
        for table, tolerance in (("roads", 1e-4), ("buildings", 1.0), ("grids", 3.0)):
            rows = conn.execute(text(f"SELECT ST_AsText(geom), ST_AsText(wgs84_to_gcj02_shape("
                                     f"geom)), ST_IsValid(wgs84_to_gcj02_shape(geom)) "
                                     f"FROM {table}")).all()
            worst = 0.0
            for before, after, valid in rows:
                xy = shapely.get_coordinates(shapely.from_wkt(before))
                want = np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1]))
                got = shapely.get_coordinates(shapely.from_wkt(after))
                assert valid and got.shape == want.shape
                worst = max(worst, float(np.abs(got - want).max()) * metres)
            assert worst < tolerance, (table, worst)
        z = 16      # the tile where the first road's shifted midpoint lies
        x, y = tile_of(*conn.execute(text(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT wgs84_to_gcj02(ST_LineInterpolatePoint(geom, "
            "0.5)) AS p FROM roads ORDER BY code LIMIT 1) q")).one(), z)
        inside = set(conn.execute(text(f"""
            SELECT code FROM roads WHERE ST_Intersects(wgs84_to_gcj02_shape(geom),
                                                       {envelope_sql(z, x, y)})""")).scalars())
    got = {f["properties"]["code"]
           for f in decode(client.get(f"/tiles/roads/{z}/{x}/{y}.mvt?gcj02=1"), "roads")}
    assert inside and got == inside
