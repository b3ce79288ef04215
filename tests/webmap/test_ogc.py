"""OGC API – Features at /ogc, read by real clients (GDAL's OAPIF driver, OWSLib) and checked
against the database: every collection, every feature, paging, CRS, and privacy."""
import json
import os
import re
import subprocess
import threading

import pytest
import requests
from sqlalchemy import text
from werkzeug.serving import make_server

from ..conftest import TOKENS

LAYER_TABLES = {"grids": "grids", "compounds": "compounds", "buildings": "buildings",
                "households": "households", "roads": "roads", "parking_lots": "parking_lots",
                "facilities": "facilities"}
EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"


@pytest.fixture(scope="module")
def live(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def counts(shared_db) -> dict:
    with shared_db.connect() as conn:
        out = {name: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
               for name, table in LAYER_TABLES.items()}
        out["incidents"] = conn.execute(text(
            "SELECT count(*) FROM incidents WHERE state <> 'duplicate'")).scalar()
    return out


def ogrinfo(live, layer, token=None):
    env = os.environ | ({"GDAL_HTTP_HEADERS": f"Authorization: Bearer {token}"} if token else {})
    out = subprocess.run(["ogrinfo", "-ro", "-so", f"OAPIF:{live}/ogc", layer],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_ogrinfo_reads_every_collection_with_the_databases_counts(live, shared_db):
    expected = counts(shared_db)
    for layer, n in expected.items():
        info = ogrinfo(live, layer, TOKENS["planner"])
        assert f"Feature Count: {n}\n" in info, (layer, n, info[:400])


def test_the_public_sees_only_the_public_incident_view(live, shared_db):
    listing = subprocess.run(["ogrinfo", "-ro", "-so", f"OAPIF:{live}/ogc"],
                             capture_output=True, text=True, timeout=120).stdout
    assert re.findall(r"^\d+: (\w+)", listing, re.M) == ["incidents"]
    r = requests.get(f"{live}/ogc/collections/households/items")
    assert r.status_code == 404 and r.json()["code"] == "NotFound"
    fc = requests.get(f"{live}/ogc/collections/incidents/items",
                      params={"limit": 10000}).json()
    personal = [f for f in fc["features"] if f["properties"]["location_blurred"]]
    assert personal and all(f["properties"]["description"] is None for f in personal)
    for f in personal:
        for v in f["geometry"]["coordinates"]:
            assert abs(v / 0.002 - round(v / 0.002)) < 1e-6


def test_ogr2ogr_pages_through_a_collection(live, shared_db, tmp_path):
    out = tmp_path / "buildings.geojson"
    env = os.environ | {"GDAL_HTTP_HEADERS": f"Authorization: Bearer {TOKENS['admin']}"}
    run = subprocess.run(["ogr2ogr", "-f", "GeoJSON", str(out), f"OAPIF:{live}/ogc",
                          "buildings", "-oo", "PAGE_SIZE=7"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    got = json.loads(out.read_text())["features"]
    with shared_db.connect() as conn:
        codes = set(conn.execute(text("SELECT code FROM buildings")).scalars())
    assert sorted(f["properties"]["code"] for f in got) == sorted(codes)


def test_owslib_reads_collections_and_items(live, shared_db):
    from owslib.ogcapi.features import Features
    w = Features(f"{live}/ogc", headers={"Authorization": f"Bearer {TOKENS['planner']}"})
    ids = [c["id"] for c in w.collections()["collections"]]
    assert ids == list(LAYER_TABLES) + ["incidents"]
    expected = counts(shared_db)
    for cid in ("roads", "facilities", "incidents"):
        page = w.collection_items(cid, limit=5)
        assert page["numberMatched"] == expected[cid] and page["numberReturned"] == 5
    one = w.collection_item("facilities", page_id := w.collection_items(
        "facilities", limit=1)["features"][0]["id"])
    assert one["id"] == page_id and one["type"] == "Feature"
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in \
        w.conformance()["conformsTo"]


def test_next_links_walk_every_feature_once(live, shared_db):
    auth = {"Authorization": f"Bearer {TOKENS['admin']}"}
    url, seen = f"{live}/ogc/collections/roads/items?limit=20", []
    while url:
        page = requests.get(url, headers=auth).json()
        seen += [f["id"] for f in page["features"]]
        url = next((l["href"] for l in page["links"] if l["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) == counts(shared_db)["roads"]


def test_crs_cgcs2000_puts_latitude_first(live):
    auth = {"Authorization": f"Bearer {TOKENS['admin']}"}
    base = f"{live}/ogc/collections/facilities/items"
    plain = requests.get(base, headers=auth, params={"limit": 3}).json()
    cgcs = requests.get(base, headers=auth, params={"limit": 3, "crs": EPSG4490})
    assert cgcs.headers["Content-Crs"] == f"<{EPSG4490}>"
    for a, b in zip(plain["features"], cgcs.json()["features"]):
        lon, lat = a["geometry"]["coordinates"]
        assert b["geometry"]["coordinates"] == pytest.approx([lat, lon], abs=1e-6)
    # a bbox given in EPSG:4490 (latitude first) selects the same as in CRS84
    lon, lat = plain["features"][0]["geometry"]["coordinates"]
    box84 = f"{lon - 1e-4},{lat - 1e-4},{lon + 1e-4},{lat + 1e-4}"
    box4490 = f"{lat - 1e-4},{lon - 1e-4},{lat + 1e-4},{lon + 1e-4}"
    a = requests.get(base, headers=auth, params={"bbox": box84}).json()
    b = requests.get(base, headers=auth, params={"bbox": box4490, "bbox-crs": EPSG4490}).json()
    assert a["numberMatched"] == b["numberMatched"] >= 1


@pytest.mark.parametrize("query", ["limit=abc", "bbox=1,2,3", "crs=EPSG:3857", "f=xml",
                                   "colour=red", "bbox=2,0,1,1"])
def test_bad_parameters_are_400s(live, query):
    r = requests.get(f"{live}/ogc/collections/incidents/items?{query}")
    assert r.status_code == 400 and r.json()["code"] == "InvalidParameterValue"


def test_html_and_openapi(live):
    page = requests.get(f"{live}/ogc/collections/incidents/items?f=html&limit=3")
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "共" in page.text
    api = requests.get(f"{live}/ogc/api")
    assert api.headers["Content-Type"] == "application/vnd.oai.openapi+json;version=3.0"
    doc = api.json()
    assert doc["openapi"].startswith("3.0") and "/collections/incidents/items" in doc["paths"]
    assert doc["servers"][0]["url"] == f"{live}/ogc"
