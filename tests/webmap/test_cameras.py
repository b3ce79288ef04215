"""The camera net against hand-computed cases on a straight 100 m test road: a camera facing
away covers nothing, one facing along the road covers its range, a dome covers its range both
ways, a building in the way stops the view at its wall."""
import pytest
from sqlalchemy import text

from tests.conftest import client_as
from tests.webmap.test_patrols import G3, LAT0, LON0, at

ROAD = "CAMERA-TEST"


def sql(app, statement, **params):
    from webmap import engine
    with engine(app).begin() as conn:
        result = conn.execute(text(statement), params)
        return result.all() if result.returns_rows else None


@pytest.fixture
def road(write_app):
    sql(write_app, "DELETE FROM facilities WHERE kind = 'camera'")
    x1, y1 = at(100, 0)
    sql(write_app, """INSERT INTO roads (code, name, class, geom) VALUES (:c, '测试路', 'lane',
        ST_SetSRID(ST_MakeLine(ST_MakePoint(:x0, :y0), ST_MakePoint(:x1, :y1)), 4326))""",
        c=ROAD, x0=LON0, y0=LAT0, x1=x1, y1=y1)
    return write_app


def camera(app, code, east_m, direction=None, fov=None, range_m=None):
    x, y = at(east_m, 0)
    sql(app, """INSERT INTO facilities (code, name, kind, direction_deg, fov_deg, range_m, geom)
        VALUES (:c, '测试监控', 'camera', :d, :f, :r, ST_SetSRID(ST_MakePoint(:x, :y), 4326))""",
        c=code, d=direction, f=fov, r=range_m, x=x, y=y)


def watched(app) -> float:
    fc = client_as(app, "planner").get(f"/api/cameras/gaps?grid={G3}").get_json()
    return next(f["properties"]["watched_m"] for f in fc["features"]
                if f["properties"]["code"] == ROAD)


def test_a_camera_facing_away_covers_nothing(road):
    camera(road, "CAM-AWAY", 0, direction=270, fov=60, range_m=40)
    assert watched(road) == pytest.approx(0, abs=0.2)


def test_a_camera_along_the_road_covers_its_range(road):
    camera(road, "CAM-EAST", 0, direction=90, fov=60, range_m=40)
    assert watched(road) == pytest.approx(40, abs=0.5)


def test_a_dome_of_unknown_direction_covers_both_ways(road):
    camera(road, "CAM-DOME", 50)                       # defaults: 360°, 40 m
    assert watched(road) == pytest.approx(80, abs=0.5)


def test_a_building_in_the_way_stops_the_view_at_its_wall(road):
    corners = [at(20, -5), at(30, -5), at(30, 5), at(20, 5), at(20, -5)]
    ring = ", ".join(f"{x} {y}" for x, y in corners)
    sql(road, f"""INSERT INTO buildings (code, name, floors, geom) VALUES ('B-BLOCK', '挡视线的楼',
        2, ST_GeomFromText('POLYGON(({ring}))', 4326))""")
    camera(road, "CAM-EAST", 0, direction=90, fov=60, range_m=40)
    assert watched(road) == pytest.approx(20, abs=0.5)


def test_watched_road_per_grid_and_one_best_new_site(road):
    camera(road, "CAM-EAST", 0, direction=90, fov=60, range_m=40)
    net = client_as(road, "planner").get("/api/cameras").get_json()
    grid = next(g for g in net["grids"] if g["code"] == G3)
    assert grid["cameras"] == 1 and grid["watched_m"] >= 40 - 0.5
    assert grid["gap_m"] == pytest.approx(grid["road_m"] - grid["watched_m"])
    assert net["total"]["watched_m"] == pytest.approx(sum(g["watched_m"] for g in net["grids"]))
    site = net["best_site"]
    assert site["gain_m"] > 0 and site["ranked_gain_m"] > 0
    # the site lies on a road, and adding a dome there adds what it says
    on_road = sql(road, """SELECT min(ST_Distance(geom::geography,
        ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography)) FROM roads""",
        x=site["lon"], y=site["lat"])[0][0]
    assert on_road < 0.5
    before = sum(g["watched_m"] for g in net["grids"])
    sql(road, """INSERT INTO facilities (code, name, kind, geom) VALUES ('CAM-NEW', '新增',
        'camera', ST_SetSRID(ST_MakePoint(:x, :y), 4326))""", x=site["lon"], y=site["lat"])
    after = client_as(road, "planner").get("/api/cameras").get_json()["total"]["watched_m"]
    assert after - before == pytest.approx(site["gain_m"], abs=0.5)
    assert client_as(road, None).get("/api/cameras").status_code == 401


def test_the_rounds_page_puts_patrols_cameras_and_visits_on_one_map(road):
    import json as js
    from tests.webmap.test_patrols import G3 as grid
    staff = client_as(road, "worker3").get(f"/rounds?grid={grid}").get_data(as_text=True)
    planner = client_as(road, "planner").get(f"/rounds?grid={grid}").get_data(as_text=True)
    for page in (staff, planner):
        assert 'id="patrol-week"' in page and 'id="camera-net"' in page
        assert js.dumps("本周未巡查的道路")[1:-1] in page and 'id="best-site"' in page
    # households one by one (coloured by days since their last visit) only for grid staff
    layer = js.dumps("住户（按距上次走访天数）")[1:-1]
    assert layer in staff and layer not in planner
    households = sql(road, "SELECT count(*) FROM households h JOIN grids g ON "
                           "g.id = h.grid_id WHERE g.code = :g", g=grid)[0][0]
    assert staff.count('"days":') == households
    assert client_as(road, "planner").get("/rounds?grid=999").status_code == 404
