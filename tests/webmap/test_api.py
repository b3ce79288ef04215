"""The JSON API: summary, layers, grid figures, and its errors."""
import json

import pytest
from sqlalchemy import text

from geodata.layers import MAP_LAYERS


def test_summary_reports_the_articles_figures(client, shared_db):
    r = client.get("/api/summary")
    assert r.status_code == 200
    data = r.get_json()
    assert data["grids"] == 4
    assert data["parking_lots"] == 2
    assert data["road_km_by_class"]["group_road"] == pytest.approx(3.5, rel=0.02)
    assert data["road_km_by_class"]["oiled_road"] == pytest.approx(1.5, rel=0.02)
    with shared_db.connect() as conn:
        assert data["households"] == conn.execute(
            text("SELECT count(*) FROM households")).scalar_one()
        kinds = dict(conn.execute(text("SELECT kind, count(*) FROM facilities GROUP BY kind")).all())
    assert data["facilities_by_kind"] == kinds
    assert "Illustrative" in data["note"]


@pytest.mark.parametrize("layer", MAP_LAYERS)
def test_each_layer_is_a_feature_collection_of_every_row(client, shared_db, layer):
    r = client.get(f"/api/layers/{layer}")
    assert r.status_code == 200
    assert r.mimetype == "application/geo+json"
    fc = json.loads(r.data)
    assert fc["type"] == "FeatureCollection"
    with shared_db.connect() as conn:
        n = conn.execute(text(f"SELECT count(*) FROM {layer}")).scalar_one()
    assert len(fc["features"]) == n > 0
    feature = fc["features"][0]
    assert feature["type"] == "Feature" and "code" in feature["properties"]
    assert "geom" not in feature["properties"]


def test_bbox_keeps_only_what_it_touches(client, shared_db):
    with shared_db.connect() as conn:
        minx, miny, maxx, maxy = conn.execute(text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            "(SELECT ST_Extent(geom) e FROM grids WHERE code LIKE '%001') t")).one()
        expected = conn.execute(text(
            "SELECT count(*) FROM households "
            "WHERE geom && ST_MakeEnvelope(:a, :b, :c, :d, 4326)"),
            dict(a=minx, b=miny, c=maxx, d=maxy)).scalar_one()
        total = conn.execute(text("SELECT count(*) FROM households")).scalar_one()
    r = client.get(f"/api/layers/households?bbox={minx},{miny},{maxx},{maxy}")
    got = len(json.loads(r.data)["features"])
    assert got == expected
    assert 0 < got < total
    far = client.get("/api/layers/households?bbox=0,0,1,1")
    assert json.loads(far.data)["features"] == []


def test_unknown_layer_is_a_json_404(client):
    r = client.get("/api/layers/rivers")
    assert r.status_code == 404
    body = r.get_json()
    assert "rivers" in body["error"] and "roads" in body["layers"]


@pytest.mark.parametrize("bbox, status, words", [
    ("1,2,3", 400, "bbox: needs 4 comma-separated"),
    ("a,b,c,d", 400, "bbox: needs 4 comma-separated numbers"),
    ("107.5,31.3,107.4,31.2", 422, "minimum must not exceed"),
    ("190,0,191,1", 422, "longitudes"),
    ("0,-95,1,1", 422, "latitudes"),
    ("nan,0,1,1", 400, "bbox: needs 4"),
    ("", 400, "bbox: needs 4 comma-separated"),
])
def test_malformed_bbox_is_a_json_error_that_says_why(client, bbox, status, words):
    """Breaking the contract is a 400; numbers that cannot make a box are a 422."""
    r = client.get(f"/api/layers/roads?bbox={bbox}")
    assert r.status_code == status
    assert words in r.get_json()["error"]


def test_grid_figures(client, shared_db):
    r = client.get("/api/grids")
    codes = [g["code"] for g in r.get_json()["grids"]]
    assert len(codes) == 4
    totals = {"households": 0, "residents": 0}
    km = {}
    for code in codes:
        g = client.get(f"/api/grids/{code}").get_json()
        assert g["code"] == code and g["area_km2"] > 0
        assert 300 <= g["households"] <= 500
        totals["households"] += g["households"]
        totals["residents"] += g["residents"]
        for cls, v in g["road_km_by_class"].items():
            km[cls] = km.get(cls, 0) + v
        assert {s["role"] for s in g["staff"]} >= {"grid_head"}
        assert all("phone" not in s for s in g["staff"])
    summary = client.get("/api/summary").get_json()
    assert totals["households"] == summary["households"]
    assert totals["residents"] == summary["residents"]
    for cls, v in summary["road_km_by_class"].items():
        assert km[cls] == pytest.approx(v, abs=0.002)  # every road segment in one grid


def test_unknown_grid_and_route_are_json_404s(client):
    r = client.get("/api/grids/511702005007999")
    assert r.status_code == 404 and "511702005007999" in r.get_json()["error"]
    r = client.get("/api/nowhere")
    assert r.status_code == 404 and "error" in r.get_json()
    r = client.post("/api/summary")
    assert r.status_code == 405 and "error" in r.get_json()


def test_no_personal_data_in_any_public_layer(client, shared_db):
    with shared_db.connect() as conn:
        secrets = [v for (v,) in conn.execute(text(
            "SELECT phone FROM grid_staff UNION ALL SELECT phone FROM party_members "
            "UNION ALL SELECT name FROM party_members"))]
    assert secrets
    bodies = [client.get(f"/api/layers/{layer}").get_data(as_text=True) for layer in MAP_LAYERS]
    bodies += [client.get("/api/summary").get_data(as_text=True)]
    for body in bodies:
        for secret in secrets:
            assert secret not in body


def test_grid_figures_partition_the_community(client, shared_db):
    """Each household and road segment counts in exactly one grid (the lowest code on a
    shared edge): the grids' figures add up to the community's."""
    from geodata.queries import HOUSEHOLD_GRID
    with shared_db.connect() as conn:
        per_grid = dict(conn.execute(text(
            f"SELECT grid_code, count(*) FROM ({HOUSEHOLD_GRID}) hg GROUP BY grid_code")).all())
    summary = client.get("/api/summary").get_json()
    totals, km = 0, {}
    for code, n in per_grid.items():
        figures = client.get(f"/api/grids/{code}").get_json()
        assert figures["households"] == n, code
        totals += n
        for cls, v in figures["road_km_by_class"].items():
            km[cls] = km.get(cls, 0) + v
    assert totals == summary["households"]
    layer = client.get("/api/layers/grids").get_json()
    assert {f["properties"]["code"]: f["properties"]["households"]
            for f in layer["features"]} == per_grid
    for cls, v in summary["road_km_by_class"].items():
        assert abs(km.get(cls, 0) - v) < 0.01, cls


def test_layers_come_a_page_at_a_time(client, shared_db):
    """No answer grows with the whole dataset: at most ``limit`` features, ``next`` for more,
    the pages together every feature once."""
    with shared_db.connect() as conn:
        codes = set(conn.execute(text("SELECT code FROM households")).scalars())
    seen, url, pages = [], "/api/layers/households?limit=500", 0
    while url:
        body = client.get(url).get_json()
        assert len(body["features"]) <= 500
        seen += [f["properties"]["code"] for f in body["features"]]
        url, pages = body.get("next"), pages + 1
    assert pages == 3 and len(seen) == len(codes) and set(seen) == codes
    assert client.get("/api/layers/households?limit=10001").status_code == 400
    # every layer pages by key, with the box kept, and the pages meet without gap or overlap
    from geodata.layers import MAP_LAYERS
    for layer in MAP_LAYERS:
        whole = client.get(f"/api/layers/{layer}?bbox=107,31,108,32").get_json()["features"]
        first = client.get(f"/api/layers/{layer}?bbox=107,31,108,32&limit=2").get_json()
        rest = [f["properties"]["code"] for f in first["features"]]
        url = first.get("next")
        if len(whole) > 2:
            assert "after=" in url and "offset=" not in url and "bbox=" in url, url
        while url:
            body = client.get(url).get_json()
            rest += [f["properties"]["code"] for f in body["features"]]
            url = body.get("next")
        assert rest == [f["properties"]["code"] for f in whole], layer
    # the old way still reads: offset skips
    grids = sorted(f["properties"]["code"]
                   for f in client.get("/api/layers/grids").get_json()["features"])
    second = client.get("/api/layers/grids?limit=1&offset=1").get_json()["features"][0]
    assert second["properties"]["code"] == grids[1]
