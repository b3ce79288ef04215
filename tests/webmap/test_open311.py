"""Open311 GeoReport v2: every document checked against a JSON Schema, XML parsed, errors."""
import xml.etree.ElementTree as ET

import pytest
from jsonschema import validate
from sqlalchemy import text

from . import open311_schemas as S

BASE = "/open311/v2"


@pytest.fixture
def o311(write_app):
    write_app.config["OPEN311_API_KEYS"] = {"cityapp": "s3cret"}
    return write_app.test_client()


def xml_of(response):
    assert response.content_type.startswith("text/xml")
    assert response.data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.data)


def test_discovery(client):
    r = client.get(f"{BASE}/discovery.json")
    assert r.status_code == 200 and r.content_type.startswith("application/json")
    validate(r.get_json(), S.DISCOVERY)
    root = xml_of(client.get(f"{BASE}/discovery.xml"))
    assert root.tag == "discovery" and root.find("endpoints/endpoint/specification") is not None


def test_services_and_definitions(client):
    services = client.get(f"{BASE}/services.json").get_json()
    validate(services, S.SERVICES)
    codes = {s["service_code"] for s in services}
    assert {"housing_leak", "sewer_blocked", "parking_disorder", "dispute"} <= codes
    root = xml_of(client.get(f"{BASE}/services.xml"))
    assert root.tag == "services" and len(root.findall("service")) == len(services)
    for code in codes:
        validate(client.get(f"{BASE}/services/{code}.json").get_json(), S.SERVICE_DEFINITION)
    root = xml_of(client.get(f"{BASE}/services/dispute.xml"))
    assert root.tag == "service_definition"
    assert root.find("attributes/attribute/code").text == "household_code"


def test_requests_default_window_and_filters(client, shared_db):
    default = client.get(f"{BASE}/requests.json").get_json()
    validate(default, S.SERVICE_REQUESTS)
    with shared_db.connect() as conn:
        recent = conn.execute(text(
            "SELECT count(*) FROM incidents WHERE created_at > now() - interval '90 days'"
        )).scalar()
    assert len(default) == recent > 0
    closed = client.get(f"{BASE}/requests.json?start_date=2021-06-01T00:00:00%2B08:00"
                        "&end_date=2021-08-29T00:00:00%2B08:00&status=closed"
                        "&service_code=dispute,housing_leak").get_json()
    validate(closed, S.SERVICE_REQUESTS)
    assert closed and all(r["status"] == "closed" for r in closed)
    assert {r["service_code"] for r in closed} <= {"dispute", "housing_leak"}
    ids = [r["service_request_id"] for r in closed[:3]]
    by_id = client.get(f"{BASE}/requests.json?service_request_id={','.join(ids)}").get_json()
    assert sorted(r["service_request_id"] for r in by_id) == sorted(ids)
    root = xml_of(client.get(f"{BASE}/requests.xml?service_request_id={ids[0]}"))
    assert root.tag == "service_requests"
    assert root.find("request/service_request_id").text == ids[0]
    empty = client.get(f"{BASE}/requests.json?status=&service_code=").get_json()
    assert len(empty) == len(default)  # empty parameters count as absent


@pytest.mark.parametrize("query, words", [
    ("start_date=2021-01-01T00:00:00Z&end_date=2021-06-01T00:00:00Z", "90 days"),
    ("start_date=yesterday", "ISO 8601"),
    ("status=pending", "status"),
    ("service_request_id=a,b", "numbers"),
    ("page=0", "whole number"),
    ("page=99999999999999999999999", "whole number"),   # beyond bigint
    ("page=²", "whole number"), ("page_size=١٠", "whole number"),   # digits, not ASCII ones
    ("end_date=0001-01-01T00:00:00Z", "years"), ("start_date=9999-12-31T00:00:00Z", "years"),
    ("service_request_id=１２", "numbers"), ("service_request_id=99999999999", "numbers"),
])
def test_bad_request_queries(client, query, words):
    for fmt in ("json", "xml"):
        r = client.get(f"{BASE}/requests.{fmt}?{query}")
        assert r.status_code == 400
        if fmt == "json":
            validate(r.get_json(), S.ERRORS)
            assert words in r.get_json()[0]["description"]
        else:
            assert xml_of(r).find("error/code").text == "400"


def test_post_a_request_and_read_it_back(o311, write_app):
    form = {"api_key": "s3cret", "service_code": "parking_disorder", "lat": "31.2455",
            "long": "107.4955", "description": "车辆占用消防通道", "email": "resident@example.cn",
            "first_name": "张", "phone": "13800000000"}
    r = o311.post(f"{BASE}/requests.json", data=form)
    assert r.status_code == 201
    body = r.get_json()
    validate(body, S.POST_RESPONSE)
    rid = body[0]["service_request_id"]
    got = o311.get(f"{BASE}/requests/{rid}.json")
    validate(got.get_json(), S.SERVICE_REQUESTS)
    item = got.get_json()[0]
    assert item["status"] == "open" and item["status_notes"] == "已上报"
    assert item["description"] == "车辆占用消防通道"
    assert "511702005007003" in item["agency_responsible"]
    for secret in ("resident@example.cn", "13800000000"):
        assert secret not in got.get_data(as_text=True)
    root = xml_of(o311.get(f"{BASE}/requests/{rid}.xml"))
    assert root.find("request/status").text == "open"
    xml_post = o311.post(f"{BASE}/requests.xml", data=form | {"description": "又一次"})
    assert xml_post.status_code == 201
    assert xml_of(xml_post).find("request/service_request_id").text.isdigit()


@pytest.mark.parametrize("form, status, words", [
    ({"service_code": "sanitation", "lat": "31.2455", "long": "107.4955"}, 403, "api_key"),
    ({"api_key": "wrong", "service_code": "sanitation", "lat": "31.2455", "long": "107.4955"},
     403, "api_key"),
    ({"api_key": "s3cret", "service_code": "ufo", "lat": "31.2455", "long": "107.4955"},
     404, "not found"),
    ({"api_key": "s3cret", "service_code": "sanitation"}, 400, "lat and long"),
    ({"api_key": "s3cret", "service_code": "sanitation", "address_string": "石龙溪"}, 400,
     "address_string"),
    ({"api_key": "s3cret", "service_code": "sanitation", "lat": "31.20", "long": "107.40"},
     400, "outside"),
    ({"api_key": "s3cret", "service_code": "sanitation", "lat": "x", "long": "107.40"},
     400, "numbers"),
    ({"api_key": "s3cret", "service_code": "sanitation", "lat": "31.2455", "long": "107.4955",
      "description": "x" * 4001}, 400, "4000"),
])
def test_post_errors_change_nothing(o311, write_app, form, status, words):
    from webmap import engine
    with engine(write_app).connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM incidents")).scalar()
    r = o311.post(f"{BASE}/requests.json", data=form)
    assert r.status_code == status
    validate(r.get_json(), S.ERRORS)
    assert words in r.get_json()[0]["description"]
    with engine(write_app).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents")).scalar() == before


def test_unknown_things_are_open311_404s(client):
    r = client.get(f"{BASE}/requests/99999999.json")
    assert r.status_code == 404
    validate(r.get_json(), S.ERRORS)
    r = client.get(f"{BASE}/services/ufo.xml")
    assert r.status_code == 404 and xml_of(r).find("error/code").text == "404"
    r = client.get(f"{BASE}/nothing.json")
    assert r.status_code == 404
    validate(r.get_json(), S.ERRORS)
    assert client.get(f"{BASE}/services.csv").status_code == 404
    r = client.delete(f"{BASE}/requests.json")
    assert r.status_code == 405
    validate(r.get_json(), S.ERRORS)


def test_posting_is_rate_limited_per_api_key(write_app):
    write_app.config["OPEN311_API_KEYS"] = {"busy": "k1", "calm": "k2"}
    write_app.config["OPEN311_RATE_LIMIT"] = 3
    client = write_app.test_client()
    form = {"service_code": "other", "lat": "31.2455", "long": "107.4955", "description": "x"}
    codes = [client.post(f"{BASE}/requests.json", data=form | {"api_key": "k1"}).status_code
             for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    limited = client.post(f"{BASE}/requests.xml", data=form | {"api_key": "k1"})
    assert limited.status_code == 429 and xml_of(limited).find("error/code").text == "429"
    assert client.post(f"{BASE}/requests.json", data=form | {"api_key": "k2"}).status_code == 201


def test_a_retried_post_with_one_key_creates_one_request(o311, write_app):
    from webmap import engine
    from sqlalchemy import text
    form = {"api_key": "s3cret", "service_code": "sanitation", "lat": "31.2455",
            "long": "107.4955", "description": "垃圾未清运"}
    with engine(write_app).connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM incidents")).scalar()
    first = o311.post(f"{BASE}/requests.json", data=form, headers={"Idempotency-Key": "o-1"})
    again = o311.post(f"{BASE}/requests.json", data=form, headers={"Idempotency-Key": "o-1"})
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"]
    validate(again.get_json(), S.POST_RESPONSE)
    with engine(write_app).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents")).scalar() == before + 1
