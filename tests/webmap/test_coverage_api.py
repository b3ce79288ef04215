"""The coverage API and page: figures, per-household answers, what-if, siting, errors."""
import json

import pytest


def test_summary_has_network_and_straight_line_figures(client):
    body = client.get("/api/coverage?kinds=party_service_center&minutes=5,10,15").get_json()
    assert list(body["budgets"]) == ["5min", "10min", "15min"]
    assert body["budgets"]["15min"] == 900
    assert set(body["grids"]) == {f"51170200500700{i}" for i in range(1, 5)}
    for t in body["total"].values():
        assert {"covered", "uncovered", "off_network", "share_covered",
                "straight_line_covered", "straight_line_share"} <= set(t)
    metres = client.get("/api/coverage?metres=300,500,1000&kinds=sharing").get_json()
    assert list(metres["budgets"]) == ["300m", "500m", "1000m"]
    assert metres["kinds"] == ["shared_tool_house", "shared_book_bar"]
    slow = client.get("/api/coverage?minutes=15&speed=40").get_json()
    assert slow["budgets"]["15min"] == 600


def test_households_geojson_agrees_with_the_summary(client):
    summary = client.get("/api/coverage?minutes=10").get_json()
    from .test_privacy import all_pages
    features = all_pages(client, "/api/coverage/households?minutes=10&limit=400")
    assert len(features) == summary["total"]["10min"]["households"]
    assert len({f["properties"]["code"] for f in features}) == len(features)   # no repeats
    covered = [f for f in features if f["properties"]["state"] == "10min"]
    assert len(covered) == summary["total"]["10min"]["covered"]
    for f in covered:
        assert f["properties"]["distance_m"] <= 600 and f["properties"]["facility"]
        assert set(f["properties"]) == {"code", "grid", "distance_m", "facility", "state",
                                        "straight_line_m"}


def test_whatif_and_siting(client):
    r = client.post("/api/coverage/whatif", json={"lon": 107.493, "lat": 31.245,
                                                  "minutes": [5, 10], "kinds": "sharing"})
    assert r.status_code == 200
    gains = r.get_json()["gains"]
    assert set(gains) == {"5min", "10min"}
    assert gains["10min"]["total"] == sum(gains["10min"]["grids"].values())
    s = client.get("/api/coverage/siting?metres=300&k=2&method=exact").get_json()
    assert len(s["sites"]) == 2 and s["covered_by_sites"] > 0
    assert all(107.4 < p["lon"] < 107.6 and 31.2 < p["lat"] < 31.3 for p in s["sites"])


@pytest.mark.parametrize("url, status, words", [
    ("/api/coverage?kinds=spaceport", 422, "unknown kind"),
    ("/api/coverage?minutes=0", 422, "minutes must be numbers from 0.1 to 60"),
    ("/api/coverage?minutes=5,x", 400, "minutes: must be comma-separated numbers"),
    ("/api/coverage?minutes=5&metres=300", 422, "not both"),
    ("/api/coverage?metres=99999", 422, "metres must be numbers from 1 to 5000"),
    ("/api/coverage?speed=-1", 400, "speed:"),
    ("/api/coverage?cap=5000", 400, "cap:"),
    ("/api/coverage/siting?minutes=5,10", 422, "one budget"),
    ("/api/coverage/siting?minutes=5&k=0", 400, "k:"),
    ("/api/coverage/siting?minutes=5&k=two", 400, "k: must be a whole number"),
    ("/api/coverage/siting?minutes=5&method=magic", 400, "method:"),
    ("/api/coverage/households?kinds=", 400, "kinds:"),
])
def test_bad_parameters_are_errors_that_say_why(client, url, status, words):
    """Breaking the contract is a 400 naming the parameter; values the engine cannot use
    are a 422."""
    r = client.get(url)
    assert r.status_code == status
    assert words in r.get_json()["error"]


@pytest.mark.parametrize("body, words", [
    ({"lat": 31.245}, "lon: required"),
    ({"lon": "x", "lat": 31.245}, "lon: must be a number"),
    ({"lon": 107.49, "lat": 95}, "lat"),
    ({"lon": 107.49, "lat": 31.24, "coord_system": "bd09"}, "coord_system"),
    ({"lon": 107.49, "lat": 31.24, "minutes": "fast"}, "minutes"),
])
def test_bad_whatif_bodies(client, body, words):
    r = client.post("/api/coverage/whatif", json=body)
    assert r.status_code == 400 and words in r.get_json()["error"]


def test_coverage_page(client):
    html = client.get("/coverage?kinds=sharing&minutes=5,15").get_data(as_text=True)
    assert "未覆盖住户" in html and "选址建议" in html
    for name in ("服务范围 5 分钟（示意）", "服务范围 15 分钟（示意）", "直线距离圆（对比）"):
        assert json.dumps(name)[1:-1] in html  # layer names sit JSON-escaped in the script
    # a mistyped field: the page again, with the defaults and the message at the form (Chinese)
    bad = client.get("/coverage?minutes=abc", headers={"Accept-Language": "zh-CN"})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 200 and bad.mimetype == "text/html"
    assert 'id="coverage-error"' in body and "minutes 必须是用逗号分隔的数字" in body
    assert "已按默认值计算" in body and 'id="coverage-table"' in body
    assert 'id="coverage-error"' not in client.get("/coverage").get_data(as_text=True)


def test_the_seeds_circles_reach_households_and_an_empty_budget_says_why(client):
    """The 5-minute sharing circle and the 15-minute service circle reach households (the shares
    the README states); a budget that reaches none says how far the nearest one is."""
    sharing = client.get("/api/coverage?kinds=sharing&minutes=5").get_json()
    assert sharing["total"]["5min"]["share_covered"] > 0.8
    centre = client.get("/api/coverage?kinds=party_service_center&minutes=5,15").get_json()
    assert centre["total"]["15min"]["share_covered"] > 0.7
    assert centre["total"]["5min"]["covered"] == 0 and centre["nearest_m"] > 300
    page = client.get("/coverage?kinds=party_service_center&minutes=5,15").get_data(
        as_text=True)
    assert "5 分钟（300 米）内没有住户" in page
    assert f"距设施 {centre['nearest_m']:.0f} 米" in page


def test_coverage_tiles_carry_the_states_of_one_stored_run(write_app):
    """Tiles and the API agree household by household; every worker reads one stored run per
    parameter set and data version, and a change of the data replaces it."""
    import mapbox_vector_tile
    from sqlalchemy import text
    from webmap import engine
    from .test_privacy import all_pages
    from .test_tiles import tile_of
    client = write_app.test_client()
    states = {f["properties"]["code"]: f["properties"]["state"]
              for f in all_pages(client, "/api/coverage/households?minutes=5,10")}
    with engine(write_app).connect() as conn:
        bbox = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                 "(SELECT ST_Extent(geom) AS e FROM households) x")).one()
    z = 16
    (x0, y1), (x1, y0) = tile_of(bbox[0], bbox[1], z), tile_of(bbox[2], bbox[3], z)
    tiled = {}
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            r = client.get(f"/tiles/coverage/{z}/{x}/{y}.mvt?minutes=5,10")
            assert r.status_code == 200 and r.headers["ETag"]
            assert client.get(f"/tiles/coverage/{z}/{x}/{y}.mvt?minutes=5,10", headers={
                "If-None-Match": r.headers["ETag"]}).status_code == 304
            for f in mapbox_vector_tile.decode(r.get_data()).get("coverage", {}).get(
                    "features", []):
                tiled[f["properties"]["code"]] = f["properties"]["state"]
    assert tiled == states
    assert client.get("/tiles/coverage/13/6540/3350.mvt?minutes=5,10").get_data() == b""
    with engine(write_app).begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM coverage_runs")).scalar() == 1
        first = conn.execute(text("SELECT id FROM coverage_runs")).scalar()
        conn.execute(text("UPDATE facilities SET geom = ST_Translate(geom, 0.0005, 0) "
                          "WHERE code = 'FC01'"))
    x, y = tile_of(*[(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2], z)
    assert client.get(f"/tiles/coverage/{z}/{x}/{y}.mvt?minutes=5,10").status_code == 200
    with engine(write_app).connect() as conn:
        runs = conn.execute(text("SELECT id FROM coverage_runs")).scalars().all()
        rows = conn.execute(text("SELECT count(*) FROM coverage_states")).scalar()
    assert len(runs) == 1 and runs[0] != first and rows == len(states)
    assert client.get("/tiles/coverage/16/0/0.mvt?minutes=abc").status_code == 400
