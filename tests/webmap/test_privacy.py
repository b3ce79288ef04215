"""The privacy policy, asserted from the outside: every read path × role, over HTTP.

A dispute is reported through Open311 with the reporter's name and phone, and given a
mediation record with the parties' names; then each way of reading it is tried by each role."""
import csv
import io
import re

import pytest
from sqlalchemy import text

from webmap import engine

from ..conftest import client_as

G3 = "511702005007003"
EXACT = {"lon": 107.49557, "lat": 31.24563}          # in the third grid, not on a 200 m corner
SECRET = {"first_name": "张", "last_name": "三丰", "phone": "13900001111"}
PARTY = "李四福"
CELL = 0.002


@pytest.fixture
def case(write_app):
    """A dispute with personal data, and an impersonal case nearby; their ids."""
    write_app.config["OPEN311_API_KEYS"] = {"cityapp": "k"}
    anonymous = client_as(write_app, None)
    r = anonymous.post("/open311/v2/requests.json", data={
        "api_key": "k", "service_code": "dispute", "lat": str(EXACT["lat"]),
        "long": str(EXACT["lon"]), "description": "楼上漏水引发的邻里纠纷，当事人私事"} | SECRET)
    assert r.status_code == 201, r.data
    dispute = int(r.get_json()[0]["service_request_id"])
    admin = write_app.test_client()
    assert admin.put(f"/api/incidents/{dispute}/mediation",
                     json={"parties": [PARTY, "王五"], "lawyer": "赵律师"}).status_code == 200
    lamp = admin.post("/api/incidents", json=EXACT | {"category": "street_light",
                                                      "description": "路灯不亮"}).get_json()["id"]
    return dispute, lamp


def on_cell(value: float) -> bool:
    return abs(value / CELL - round(value / CELL)) < 1e-6


def assert_blurred(lon: float, lat: float):
    assert on_cell(lon) and on_cell(lat), (lon, lat)
    assert abs(lon - EXACT["lon"]) < CELL and abs(lat - EXACT["lat"]) < CELL


@pytest.mark.parametrize("path", ["/open311/v2/requests/{id}.json",
                                  "/open311/v2/requests.json?service_request_id={id}",
                                  "/open311/v2/requests.json?service_code=dispute"])
@pytest.mark.parametrize("user", [None, "planner", "worker3", "admin"])
def test_open311_reads_show_personal_cases_only_blurred(write_app, case, path, user):
    dispute, _ = case
    r = client_as(write_app, user).get(path.format(id=dispute))
    assert r.status_code == 200
    found = [x for x in r.get_json() if x["service_request_id"] == str(dispute)]
    assert len(found) == 1
    item = found[0]
    assert_blurred(item["long"], item["lat"])
    assert item["description"] == "" and item["address"] == "" and "media_url" not in item
    body = r.get_data(as_text=True)
    for secret in (*SECRET.values(), "邻里纠纷", PARTY):
        assert secret not in body


def test_open311_xml_reads_are_the_same_public_view(write_app, case):
    dispute, lamp = case
    body = client_as(write_app, None).get(
        f"/open311/v2/requests.xml?service_request_id={dispute},{lamp}").get_data(as_text=True)
    assert "三丰" not in body and "邻里纠纷" not in body and "路灯不亮" in body
    lats = [float(v) for v in re.findall(r"<lat>([^<]+)</lat>", body)]
    assert any(on_cell(v) for v in lats) and any(abs(v - EXACT["lat"]) < 1e-6 for v in lats)


def test_the_public_map_and_its_api_agree_with_open311(write_app, case):
    dispute, _ = case
    anonymous = client_as(write_app, None)
    fc = anonymous.get("/api/public/incidents?category=dispute").get_json()
    f = next(f for f in fc["features"] if f["id"] == dispute)
    o = anonymous.get(f"/open311/v2/requests/{dispute}.json").get_json()[0]
    assert f["geometry"]["coordinates"] == pytest.approx([o["long"], o["lat"]], abs=1e-6)
    page = anonymous.get("/public/incidents").get_data(as_text=True)
    assert "三丰" not in page and "邻里纠纷" not in page


@pytest.mark.parametrize("user, sees", [("admin", True), ("worker3", True), ("head3", True),
                                        ("worker1", False), ("planner", False)])
def test_reporters_and_mediation_names_only_for_admins_and_the_grids_staff(
        write_app, case, user, sees):
    dispute, _ = case
    client = client_as(write_app, user)
    api = client.get(f"/api/incidents/{dispute}").get_data(as_text=True)
    page = client.get(f"/incidents/{dispute}").get_data(as_text=True)
    for body in (api, page):
        for secret in ("三丰", SECRET["phone"], PARTY, "赵律师"):
            assert (secret in body) == sees, (user, secret)
    # every account reads the description; nobody's name leaks through the event actors
    assert "邻里纠纷" in api
    events = client.get(f"/api/incidents/{dispute}").get_json()["events"]
    assert events[0]["actor"] == "open311:cityapp"


@pytest.mark.parametrize("user", ["planner", "worker1", "worker3", "admin"])
def test_lists_and_csv_carry_no_reporter(write_app, case, user):
    client = client_as(write_app, user)
    for path in ("/api/incidents?category=dispute", "/api/incidents.csv?category=dispute",
                 "/incidents?category=dispute", "/dashboard"):
        body = client.get(path).get_data(as_text=True)
        assert "三丰" not in body and SECRET["phone"] not in body, (user, path)


def household_codes(text_: str) -> set[str]:
    return set(re.findall(r"\bHH\d{5}\b", text_))


def all_pages(client, url):
    """Every feature of a paged FeatureCollection, following ``next``."""
    features = []
    while url:
        body = client.get(url).get_json()
        features += body["features"]
        url = body.get("next")
    return features


def coverage_tile_codes(client, bbox, z=16):
    """The household codes in the coverage tiles over ``bbox`` (or None when refused)."""
    import mapbox_vector_tile
    from .test_tiles import tile_of
    (x0, y1), (x1, y0) = tile_of(bbox[0], bbox[1], z), tile_of(bbox[2], bbox[3], z)
    codes = set()
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            r = client.get(f"/tiles/coverage/{z}/{x}/{y}.mvt?minutes=5,10,15")
            if r.status_code != 200:
                return None
            layer = mapbox_vector_tile.decode(r.get_data()).get("coverage", {})
            codes |= {f["properties"]["code"] for f in layer.get("features", [])}
    return codes


def test_coverage_households_only_where_the_account_may_see_them(write_app):
    """Per read path (page, paged API, tiles) and role: staff their grid's households, admins
    all, planners none."""
    with engine(write_app).connect() as conn:
        grid_of = dict(conn.execute(text("""
            SELECT DISTINCT ON (h.id) h.code, g.code FROM households h
            JOIN grids g ON ST_Covers(g.geom, h.geom) ORDER BY h.id, g.code""")).all())
        bbox = conn.execute(text("SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                                 "(SELECT ST_Extent(geom) AS e FROM households) x")).one()
    expected = {"planner": set(), "worker3": {c for c, g in grid_of.items() if g == G3},
                "admin": set(grid_of)}
    for user, visible in expected.items():
        client = client_as(write_app, user)
        listed = household_codes(client.get("/coverage").get_data(as_text=True))
        assert listed <= visible and bool(listed) == bool(visible), user
        tiled = coverage_tile_codes(client, bbox)
        if user == "planner":
            assert client.get("/api/coverage/households").status_code == 403
            assert tiled is None
        else:
            api = {f["properties"]["code"]
                   for f in all_pages(client, "/api/coverage/households?limit=500")}
            assert api == visible and tiled == visible, user


def test_csv_cells_cannot_become_formulas(write_app):
    admin = write_app.test_client()
    nasty = ["=HYPERLINK(\"http://x\",\"点我\")", "+cmd|' /C calc'!A0", "@SUM(1+1)",
             "-2+3"]   # (text is stripped on saving, so no cell starts with a tab or CR)
    for d in nasty:
        assert admin.post("/api/incidents", json=EXACT | {"category": "other",
                                                          "description": d}).status_code == 201
    rows = list(csv.DictReader(io.StringIO(
        admin.get("/api/incidents.csv?category=other").get_data(as_text=True).lstrip("\ufeff"))))
    cells = {r["description"] for r in rows}
    for d in nasty:
        assert "'" + d in cells and d not in cells
