"""The incidents API over HTTP (Flask's test client): statuses, bodies, and nothing lost."""
import csv
import io
import json

import pytest
from PIL import Image
from sqlalchemy import text

from ..conftest import client_as

INSIDE = {"lon": 107.4955, "lat": 31.2455}


@pytest.fixture
def api(write_app, tmp_path):
    write_app.config["MEDIA_DIR"] = str(tmp_path / "media")
    return write_app.test_client()


def count(app, table="incidents"):
    from webmap import engine
    with engine(app).connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def post(client, **fields):
    body = INSIDE | {"category": "sewer_blocked", "description": "单元下水道堵塞"} | fields
    return client.post("/api/incidents", json=body)


def test_create_returns_201_with_grid_state_deadline_and_duplicates(api):
    first = post(api)
    assert first.status_code == 201
    body = first.get_json()
    assert body["grid_code"] == "511702005007003" and body["state"] == "reported"
    assert body["deadline"] and body["version"] == 1
    assert first.headers["Location"].endswith(f"/api/incidents/{body['id']}")
    second = post(api, lat=INSIDE["lat"] + 0.0005).get_json()
    assert body["id"] in [d["id"] for d in second["possible_duplicates"]]
    detail = api.get(f"/api/incidents/{body['id']}").get_json()
    assert detail["events"][0]["to_state"] == "reported"
    assert detail["events"][0]["actor"] == "admin"   # the account that acted


@pytest.mark.parametrize("kwargs, status, words", [
    ({"data": "{not json", "content_type": "application/json"}, 400, "json: is not valid JSON"),
    ({"data": "[1, 2]", "content_type": "application/json"}, 400, "json: has the wrong type"),
    ({"data": "lon=1", "content_type": "application/x-www-form-urlencoded"}, 400,
     "lon: required"),
    ({"json": {"lon": 107.4955, "lat": 31.2455, "category": "other"}}, 400,
     "description: required"),
    ({"json": {"lon": "a", "lat": 31.2455, "category": "other", "description": "x"}}, 400,
     "lon: must be a number"),
    ({"json": INSIDE | {"category": "other", "description": "x", "actor": "a"}}, 400,
     "actor: unknown field"),
    ({"json": {"lon": 107.40, "lat": 31.20, "category": "other", "description": "x"}}, 422, "outside"),
    ({"json": INSIDE | {"category": "teleport", "description": "x"}}, 422,
     "unknown category"),
    ({"json": INSIDE | {"category": "other", "description": "x",
                        "duplicate_of": 99999999}}, 422, "no incident"),
])
def test_bad_requests_get_a_clear_error_and_change_nothing(api, write_app, kwargs, status,
                                                           words):
    before = count(write_app)
    r = api.post("/api/incidents", **kwargs)
    assert r.status_code == status
    assert words in r.get_json()["error"]
    assert count(write_app) == before


def test_transitions_legal_illegal_and_stale(api, write_app):
    iid = post(client_as(write_app, "worker3")).get_json()["id"]
    ok = api.post(f"/api/incidents/{iid}/transitions",
                  json={"to": "registered", "version": 1, "note": "立案"})
    assert ok.status_code == 200 and ok.get_json()["version"] == 2
    illegal = api.post(f"/api/incidents/{iid}/transitions",
                       json={"to": "closed", "version": 2})
    assert illegal.status_code == 409
    assert illegal.get_json()["allowed"] == ["dispatched", "rejected", "duplicate"]
    stale = api.post(f"/api/incidents/{iid}/transitions",
                     json={"to": "dispatched", "version": 1, "unit": "water-company"})
    assert stale.status_code == 409 and stale.get_json()["version"] == 2
    missing = api.post(f"/api/incidents/{iid}/transitions", json={"to": "dispatched"})
    assert missing.status_code == 400 and "version" in missing.get_json()["error"]
    assert api.post("/api/incidents/99999999/transitions",
                    json={"to": "registered", "version": 1}).status_code == 404
    assert len(api.get(f"/api/incidents/{iid}").get_json()["events"]) == 2


def test_script_in_a_description_is_shown_as_text(api):
    evil = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    iid = post(api, description=evil).get_json()["id"]
    page = api.get(f"/incidents/{iid}").get_data(as_text=True)
    assert evil not in page and "&lt;script&gt;" in page
    listing = api.get("/incidents").get_data(as_text=True)
    assert "<script>alert('x')" not in listing
    assert api.get(f"/api/incidents/{iid}").get_json()["description"] == evil  # stored as given


def photo_bytes(fmt="JPEG", size=(40, 30)):
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0)}
    Image.new("RGB", size, "blue").save(out, fmt, **({"exif": exif} if fmt == "JPEG" else {}))
    return out.getvalue()


def test_photo_upload_checks_and_strips(api, write_app):
    iid = post(api).get_json()["id"]
    r = api.post(f"/api/incidents/{iid}/photos", content_type="multipart/form-data",
                 data={"photo": (io.BytesIO(photo_bytes()), "p.jpg")})
    assert r.status_code == 201
    stored = api.get(r.get_json()["url"])
    assert stored.status_code == 200
    assert not Image.open(io.BytesIO(stored.data)).getexif()
    text_file = api.post(f"/api/incidents/{iid}/photos", content_type="multipart/form-data",
                         data={"photo": (io.BytesIO(b"hello"), "p.jpg")})
    assert text_file.status_code == 415 and "image" in text_file.get_json()["error"]
    write_app.config["MAX_PHOTO_BYTES"] = 200
    big = api.post(f"/api/incidents/{iid}/photos", content_type="multipart/form-data",
                   data={"photo": (io.BytesIO(photo_bytes(size=(300, 300))), "p.jpg")})
    assert big.status_code == 413 and "limit" in big.get_json()["error"]
    none = api.post(f"/api/incidents/{iid}/photos", content_type="multipart/form-data",
                    data={"actor": "a"})
    assert none.status_code == 400 and "photo" in none.get_json()["error"]
    assert count(write_app, "incident_photos") == 1
    write_app.config["MAX_CONTENT_LENGTH"] = 1000
    huge = api.post(f"/api/incidents/{iid}/photos", content_type="multipart/form-data",
                    data={"photo": (io.BytesIO(b"x" * 5000), "p.jpg")})
    assert huge.status_code == 413 and "error" in huge.get_json()


def test_list_filters_paging_and_csv(client, shared_db):
    with shared_db.connect() as conn:
        n = conn.execute(text("""
            SELECT count(*) FROM incidents i JOIN incident_categories c ON c.id = i.category_id
            WHERE c.service_code = 'dispute' AND i.created_at >= '2021-03-01+08'
              AND i.created_at < '2021-04-01+08'""")).scalar()
    url = "/api/incidents?category=dispute&since=2021-03-01&until=2021-03-31&page_size=5"
    page1 = json.loads(client.get(url).data)
    assert page1["total"] == n > 5 and len(page1["features"]) == 5
    page2 = json.loads(client.get(url + "&page=2").data)
    assert not {f["id"] for f in page1["features"]} & {f["id"] for f in page2["features"]}
    assert all(f["properties"]["service_code"] == "dispute" for f in page1["features"])
    rows = list(csv.DictReader(io.StringIO(client.get(
        "/api/incidents.csv?category=dispute&since=2021-03-01&until=2021-03-31")
        .get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == n and rows[0]["category"] == "矛盾纠纷"
    for bad, words in [("state=lost", "state: must be a comma list"), ("since=yesterday", "date"),
                       ("page=0", "page"), ("page_size=5000", "page_size"),
                       ("overdue=maybe", "overdue")]:
        r = client.get(f"/api/incidents?{bad}")
        assert r.status_code == 400 and words in r.get_json()["error"], bad


def test_overdue_filter(client, shared_db):
    with shared_db.connect() as conn:
        n = conn.execute(text("""
            SELECT count(*) FROM incidents WHERE deadline < now() AND state IN
            ('reported', 'registered', 'dispatched', 'in_progress', 'handled', 'reopened')
        """)).scalar()
    body = json.loads(client.get("/api/incidents?overdue=true&page_size=1000").data)
    assert body["total"] == n > 0
    assert all(f["properties"]["overdue"] for f in body["features"])


def test_mediation_record(api):
    iid = post(api, category="dispute", description="邻里纠纷").get_json()["id"]
    r = api.put(f"/api/incidents/{iid}/mediation",
                json={"parties": ["甲", "乙"], "lawyer": "派驻律师", "agreement": True,
                      "sessions": [{"at": "2026-11-20", "note": "调解"}]})
    assert r.status_code == 200 and r.get_json()["lawyer"] == "派驻律师"
    assert api.put(f"/api/incidents/{iid}/mediation",
                   json={"judge": "x"}).status_code == 400
    other = post(api, category="other", description="其他").get_json()["id"]
    assert api.put(f"/api/incidents/{other}/mediation",
                   json={"outcome": "x"}).status_code == 422   # only disputes have one
    assert api.put(f"/api/incidents/{iid}/mediation",
                   json={"lawyer": {}}).status_code == 400


def test_pages_render(client):
    for url in ("/incidents", "/incidents?state=closed&grid=511702005007003",
                "/dashboard", "/dashboard?grid=511702005007001"):
        assert client.get(url).status_code == 200, url
    assert client.get("/dashboard?grid=511702005007999").status_code == 404
    assert client.get("/incidents/99999999").status_code == 404
    page = client.get("/dashboard").get_data(as_text=True)
    assert "矛盾纠纷" in page and "/vendor/chart.js/" in page and "/chart.umd.min.js" in page
