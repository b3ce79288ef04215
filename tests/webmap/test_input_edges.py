"""Input at the edges: dates at the ends of the calendar, digits that are not ASCII digits,
pages beyond any integer, areas with no grid, control characters. Each is a 4xx naming what
is wrong, in Chinese by default, and changes nothing; none is a 500. Open311's XML stays
well formed whatever text is stored."""
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import text

from webmap import engine

from ..conftest import client_as, client_class, TOKENS

G3 = "511702005007003"


@pytest.mark.parametrize("path, field", [
    ("/api/public/incidents?until=9999-12-31", "until"),
    ("/api/incidents?until=9999-12-31", "until"),
    ("/api/incidents?since=0001-01-01", "since"),
    ("/api/incidents.csv?until=9999-12-31", "until"),
    ("/dashboard?until=9999-12-31", "until"),
    ("/incidents?until=9999-12-31", "until"),
    ("/public/incidents?until=9999-12-31", "until"),
    ("/api/patrols/weekly?week=9999-12-31", "week"),
    (f"/api/patrols/unwalked?grid={G3}&week=0001-01-01", "week"),
    ("/api/incidents?page=²", "page"),
    ("/api/incidents?page_size=١٠", "page_size"),
    ("/api/tasks?limit=²", "limit"),
    ("/api/layers/roads?offset=²", "offset"),
    ("/open311/v2/requests.json?end_date=0001-01-01T00:00:00Z", "end_date"),
    ("/open311/v2/requests.xml?page=99999999999999999999999", "page"),
    ("/open311/v2/requests.json?page=²", "page"),
    ("/api/search?q=%01", "q"),
])
def test_edge_values_are_400s_naming_the_field_in_chinese(app, path, field):
    r = client_class(TOKENS["admin"], language=None)(app, app.response_class).get(path)
    assert r.status_code == 400, (path, r.status_code, r.get_data(as_text=True)[:300])
    body = r.get_data(as_text=True)
    assert field in body and any("\u4e00" <= ch <= "\u9fff" for ch in body), body[:300]
    if path.startswith("/open311/") and ".json" in path:
        [error] = r.get_json()                       # Open311's own error shape
        assert error["code"] == 400 and field in error["description"]
    elif path.startswith("/open311/"):
        assert ET.fromstring(r.data).find("error/code").text == "400"


@pytest.mark.parametrize("path", ["/api/visits?since=9999-12-31T23:59:59%2B08:00",
                                  "/api/patrols?since=0001-01-01T00:00:00Z"])
def test_moments_at_the_ends_of_the_calendar_are_simply_read(client, path):
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/coverage?area=999999", "/?area=999999",
                                  "/dashboard?area=999999", "/api/coverage?area=999999",
                                  "/api/summary?area=999999999999"])
def test_an_area_with_no_grid_is_not_a_server_error(client, path):
    r = client.get(path)
    assert r.status_code in (200, 404), (path, r.status_code)


def test_the_coverage_page_of_a_community_without_households(write_app):
    with engine(write_app).begin() as conn:
        conn.execute(text("""INSERT INTO grids (code, name, geom)
            SELECT '511702005008' || right(code, 3), name || '（邻）', ST_Translate(geom, 0.05, 0)
            FROM grids"""))
    r = write_app.test_client().get("/coverage?area=511702005008")
    assert r.status_code == 200 and "无住户" in r.get_data(as_text=True)


def test_control_characters_are_refused_naming_the_field(write_app):
    write_app.config["OPEN311_API_KEYS"] = {"cityapp": "k-ctl"}
    admin = write_app.test_client()
    r = admin.post("/api/incidents", json={"lon": 107.4955, "lat": 31.2455, "category": "other",
                                           "description": "井盖\x01丢失"})
    assert r.status_code == 400 and "description" in r.get_json()["error"]
    r = admin.put("/api/incidents/1/mediation", json={"sessions": [{"note": "\x1b[31m"}]})
    assert r.status_code == 400 and "sessions.0.note" in r.get_json()["error"]
    r = client_as(write_app, None).post("/open311/v2/requests.json", data={
        "api_key": "k-ctl", "service_code": "other", "lat": "31.2455", "long": "107.4955",
        "description": "垂直\x0b制表"})
    assert r.status_code == 400 and "description" in r.get_json()[0]["description"]
    with engine(write_app).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents WHERE description LIKE "
                                 "'%丢失' OR description LIKE '垂直%'")).scalar() == 0
    ok = admin.post("/api/incidents", json={"lon": 107.4955, "lat": 31.2455, "category": "other",
                                            "description": "第一行\n第二行\t缩进"})
    assert ok.status_code == 201                     # line breaks and tabs are text


def test_open311_xml_stays_well_formed_with_control_characters_already_stored(write_app):
    admin = write_app.test_client()
    iid = admin.post("/api/incidents", json={"lon": 107.4955, "lat": 31.2455,
                                             "category": "other", "description": "x"}
                     ).get_json()["id"]
    with engine(write_app).begin() as conn:      # as an older row or an import might hold
        conn.execute(text("UPDATE incidents SET description = :d WHERE id = :id"),
                     {"d": "旧\x01数据\x1f含\x0c控制符\ufffe", "id": iid})
    for path in (f"/open311/v2/requests/{iid}.xml", "/open311/v2/requests.xml"):
        r = client_as(write_app, None).get(path)
        assert r.status_code == 200
        root = ET.fromstring(r.data)                 # a parser accepts it
        texts = [req.findtext("description") for req in root.iter("request")
                 if req.findtext("service_request_id") == str(iid)]
        assert texts == ["旧数据含控制符"]


@pytest.mark.parametrize("path, status", [
    ("/coverage?cap=abc", 200), ("/coverage?speed=nan", 200), ("/coverage?cap=²", 200),
    ("/tiles/coverage/16/52337/27218.mvt?cap=abc", 400),
    ("/tiles/coverage/16/52337/27218.mvt?cap=-1", 400),
    ("/ogc/collections/roads/items?limit=²", 400), ("/ogc/collections/roads/items?offset=١", 400),
    ("/ogc/collections/incidents/items/²", 404), ("/?area=１２３４５６", 400),
])
def test_form_and_query_numbers_that_are_not_numbers(client, path, status):
    r = client.get(path)
    assert r.status_code == status, (path, r.status_code, r.get_data(as_text=True)[:300])
    if path.startswith("/coverage"):      # the page again, with the message at the form
        assert 'id="coverage-error"' in r.get_data(as_text=True)
