"""Patrols: noisy tracks cleaned, and the road length walked, against hand-computed cases on
a straight 200 m test road (a track along half of it counts half; 25 m away counts nothing)."""
import io
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from pyproj import Geod
from sqlalchemy import text

from tests.conftest import client_as

G3 = "511702005007003"
LON0, LAT0 = 107.4915, 31.2440           # the test road's west end, inside the third grid
GEOD = Geod(ellps="WGS84")


def sql(app, statement, **params):
    from webmap import engine
    with engine(app).begin() as conn:
        result = conn.execute(text(statement), params)
        return result.all() if result.returns_rows else None


def at(east_m, north_m):
    """The point ``east_m`` east and ``north_m`` north of the road's west end (geodesic)."""
    lon, lat, _ = GEOD.fwd(LON0, LAT0, 90, east_m)
    lon, lat, _ = GEOD.fwd(lon, lat, 0, north_m)
    return lon, lat


@pytest.fixture
def road(write_app):
    sql(write_app, "DELETE FROM patrols")             # the sample's illustrative rounds
    (x1, y1) = at(200, 0)
    sql(write_app, """INSERT INTO roads (code, name, class, geom) VALUES ('PATROL-TEST', '测试路',
        'lane', ST_SetSRID(ST_MakeLine(ST_MakePoint(:x0, :y0), ST_MakePoint(:x1, :y1)), 4326))""",
        x0=LON0, y0=LAT0, x1=x1, y1=y1)
    return "PATROL-TEST"


def walk(start_m, end_m, north_m, t0, speed=1.2, every_s=5):
    """Fixes walking east along the road, ``north_m`` off it."""
    n = int(abs(end_m - start_m) / speed / every_s) + 1
    east = np.linspace(start_m, end_m, n)
    return [dict(zip(("lon", "lat"), at(e, north_m)), t=t0 + timedelta(seconds=i * every_s))
            for i, e in enumerate(east)]


def send(client, fixes, **extra):
    return client.post("/api/patrols", json={"points": [
        {"lon": f["lon"], "lat": f["lat"], "t": f["t"].isoformat()} | extra for f in fixes]})


def walked(client, road_code):
    fc = client.get(f"/api/patrols/unwalked?grid={G3}").get_json()
    found = [f["properties"] for f in fc["features"] if f["properties"]["code"] == road_code]
    return found[0]["walked_m"] if found else 200.0           # absent: walked whole


T0 = datetime.now(timezone.utc) - timedelta(hours=2)


def test_a_track_along_half_the_road_counts_half(write_app, road):
    worker = client_as(write_app, "worker3")
    r = send(worker, walk(0, 100, 5, T0))
    assert r.status_code == 201, r.get_json()
    made = r.get_json()
    assert made["grid_code"] == G3 and made["dropped"] == 0 and made["pieces"] == 1
    assert made["distance_m"] == pytest.approx(100, rel=0.01)
    assert walked(worker, road) == pytest.approx(100, rel=0.01)
    # walking it again counts nothing more
    send(worker, walk(0, 100, -5, T0 + timedelta(minutes=30)))
    assert walked(worker, road) == pytest.approx(100, rel=0.01)


def test_a_track_25_m_away_counts_nothing(write_app, road):
    worker = client_as(write_app, "worker3")
    assert send(worker, walk(0, 200, 25, T0)).status_code == 201
    assert walked(worker, road) == pytest.approx(0, abs=0.5)


def test_jumps_gaps_and_rides_are_left_out(write_app, road):
    worker = client_as(write_app, "worker3")
    # a jump: one fix 2 km off in the middle of a 100 m walk
    fixes = walk(0, 100, 5, T0)
    jump = dict(zip(("lon", "lat"), at(50, 2000)), t=fixes[8]["t"] + timedelta(seconds=2))
    made = send(worker, fixes[:9] + [jump] + fixes[9:]).get_json()
    assert made["dropped"] == 1 and made["distance_m"] == pytest.approx(100, rel=0.01)
    # a gap: 0–50 m, ten minutes without a fix, 150–200 m: the line across is not walked
    later = T0 + timedelta(hours=1)
    first, second = walk(0, 50, 5, later), walk(150, 200, 5, later + timedelta(minutes=10))
    gap = send(worker, first + second).get_json()
    assert gap["pieces"] == 2 and gap["distance_m"] == pytest.approx(100, rel=0.01)
    assert walked(worker, road) == pytest.approx(150, rel=0.01)        # 0–100 and 150–200
    # a ride: a 100 m walk, then 15 m/s east along the road
    ride_t = T0 + timedelta(minutes=20)
    on_foot = walk(0, 100, -5, ride_t)
    car = [dict(zip(("lon", "lat"), at(100 + 15 * k, -5)),
                t=on_foot[-1]["t"] + timedelta(seconds=k)) for k in range(1, 7)]
    ride = send(worker, on_foot + car).get_json()
    assert ride["distance_m"] == pytest.approx(100, rel=0.01)
    assert walked(worker, road) == pytest.approx(150, rel=0.01)        # the ride added nothing


def test_weekly_figures_per_grid(write_app, road):
    worker = client_as(write_app, "worker3")
    send(worker, walk(0, 100, 5, T0))
    week = client_as(write_app, "planner").get("/api/patrols/weekly").get_json()
    row = next(g for g in week["grids"] if g["code"] == G3)
    roads_m = sql(write_app, "SELECT sum(r.length_m) FROM roads r JOIN grids g ON "
                             "g.id = r.grid_id WHERE g.code = :g", g=G3)[0][0]
    assert row["patrols"] == 1 and row["distance_km"] == pytest.approx(0.1, rel=0.01)
    fixes = walk(0, 100, 5, T0)
    assert row["walking_h"] == pytest.approx(
        (fixes[-1]["t"] - fixes[0]["t"]).total_seconds() / 3600)
    assert row["road_m"] == pytest.approx(roads_m)
    assert 99 <= row["walked_m"] <= roads_m and row["share"] == pytest.approx(
        row["walked_m"] / roads_m)
    others = [g for g in week["grids"] if g["code"] != G3]
    assert all(g["patrols"] == 0 and g["walked_m"] == 0 for g in others)
    last_week = (datetime.now(timezone.utc) - timedelta(days=7)).date().isoformat()
    old = client_as(write_app, "planner").get(f"/api/patrols/weekly?week={last_week}").get_json()
    assert all(g["patrols"] == 0 for g in old["grids"])


def test_gpx_upload_and_refusals(write_app, road):
    worker = client_as(write_app, "worker3")
    fixes = walk(0, 100, 5, T0)
    gpx = ('<?xml version="1.0"?><gpx version="1.1" creator="test" '
           'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>' + "".join(
               f'<trkpt lat="{f["lat"]:.8f}" lon="{f["lon"]:.8f}"><time>'
               f'{f["t"].strftime("%Y-%m-%dT%H:%M:%SZ")}</time></trkpt>' for f in fixes)
           + "</trkseg></trk></gpx>")
    r = worker.post("/api/patrols/gpx", content_type="multipart/form-data",
                    data={"gpx": (io.BytesIO(gpx.encode()), "walk.gpx")})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["distance_m"] == pytest.approx(100, rel=0.01)
    bad = worker.post("/api/patrols/gpx", content_type="multipart/form-data",
                      data={"gpx": (io.BytesIO(b"not a track"), "x.gpx")})
    assert bad.status_code == 422 and bad.get_json()["code"] == "not_gpx"
    # another grid's worker cannot file this walk; a planner cannot file any
    assert send(client_as(write_app, "worker1"), fixes).status_code == 403
    assert send(client_as(write_app, "planner"), fixes).status_code == 403
    # nothing left after cleaning: every fix imprecise
    noisy = send(worker, fixes, accuracy=120)
    assert noisy.status_code == 422 and noisy.get_json()["code"] == "no_walking"
    assert sql(write_app, "SELECT count(*) FROM patrols")[0][0] == 1


def test_workload_per_grid_and_worker(write_app, road):
    worker = client_as(write_app, "worker3")
    send(worker, walk(0, 100, 5, T0))
    households = sql(write_app, "SELECT count(*), sum(residents), count(*) FILTER (WHERE "
                                "elderly_alone) FROM households h JOIN grids g ON "
                                "g.id = h.grid_id WHERE g.code = :g", g=G3)[0]
    load = client_as(write_app, "head3").get("/api/workload").get_json()
    assert [g["code"] for g in load["grids"]] == [G3]
    grid = load["grids"][0]
    assert (grid["households"], grid["residents"], grid["elderly_alone"]) == tuple(households)
    assert grid["norm"] == ("over" if households[0] > 500 else "under" if households[0] < 300
                            else "within")
    assert grid["patrol_km"] == pytest.approx(0.1, rel=0.01)
    due = client_as(write_app, "head3").get("/api/visits/due?limit=1").get_json()["total"]
    assert grid["visits_due"] == due
    me = next(w for w in load["workers"] if w["name"] == "worker3")
    assert me["patrol_km_week"] == pytest.approx(0.1, rel=0.01) and me["visits_week"] == 0
    assert {w["name"] for w in load["workers"]} == {"head3", "worker3"}
    assert client_as(write_app, "worker3").get("/api/workload").status_code == 403
    page = client_as(write_app, "head3").get("/tasks").get_data(as_text=True)
    assert 'id="balance"' in page and 'data-worker="worker3"' in page


def test_patrols_are_listed_newest_first_with_paging(write_app, road):
    worker = client_as(write_app, "worker3")
    first = send(worker, walk(0, 100, 5, T0)).get_json()
    second = send(worker, walk(0, 50, 5, T0 + timedelta(minutes=40))).get_json()
    page = worker.get("/api/patrols?limit=1").get_json()
    assert page["total"] == 2 and [p["id"] for p in page["items"]] == [second["id"]]
    rest = worker.get(f"/api/patrols?limit=1&offset={page['next_offset']}").get_json()
    assert rest["items"][0] == first and rest["next_offset"] is None
