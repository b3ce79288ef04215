"""OGC API – Features as QGIS, GDAL and OWSLib expect it, checked against PostGIS: exact
bounding boxes, each collection's own extent, Part 3 (queryables, property filters, CQL2 text and
JSON filters), sortby, properties, skipGeometry, datetime, and paging by key. GDAL 3.6's own
``-spat`` and ``-where`` (which it sends to the server as a filter) and OWSLib read every
collection with the counts PostGIS finds."""
import json
import os
import subprocess
from datetime import datetime

import pytest
import requests
from sqlalchemy import text

from ..conftest import TOKENS
from .test_ogc import LAYER_TABLES, live  # noqa: F401  (the live server fixture)



def auth() -> dict:
    return {"Authorization": f"Bearer {TOKENS['admin']}"}

# a box in the sample community whose corner a road's bounding box reaches while the road does
# not (RD0028's)
BOX = (107.49418, 31.2500118, 107.4990, 31.2540)


def sql(shared_db, query, **params):
    with shared_db.connect() as conn:
        return conn.execute(text(query), params).all()


def get(live, path, **params):
    """A request as the admin, messages in English (the tests read the message ids)."""
    return requests.get(f"{live}/ogc{path}", params=params,
                        headers=auth() | {"Accept-Language": "en"}, timeout=60)


def intersecting(shared_db, table, box=BOX, where="TRUE") -> int:
    return sql(shared_db, f"SELECT count(*) FROM {table} t WHERE ST_Intersects(t.geom, "
                          f"ST_MakeEnvelope(:a, :b, :c, :d, 4326)) AND {where}",
               a=box[0], b=box[1], c=box[2], d=box[3])[0][0]


@pytest.mark.parametrize("layer", list(LAYER_TABLES))
def test_bbox_returns_what_truly_intersects(live, shared_db, layer):
    got = get(live, f"/collections/{layer}/items", bbox=",".join(map(str, BOX)), limit=10000)
    exact = intersecting(shared_db, LAYER_TABLES[layer])
    assert got.status_code == 200 and got.json()["numberMatched"] == exact
    api = requests.get(f"http://{live.split('//')[1]}/api/layers/{layer}", headers=auth(),
                       params={"bbox": ",".join(map(str, BOX))}).json()
    assert len(api["features"]) == exact


def test_boxes_of_lines_that_do_not_reach_in_are_left_out(shared_db):
    """The check above can fail: some roads' bounding boxes do meet the box."""
    loose = sql(shared_db, "SELECT count(*) FROM roads WHERE geom && ST_MakeEnvelope("
                           ":a, :b, :c, :d, 4326)", a=BOX[0], b=BOX[1], c=BOX[2], d=BOX[3])[0][0]
    assert loose > intersecting(shared_db, "roads")


def test_each_collection_has_its_own_extent(live, shared_db):
    collections = {c["id"]: c for c in get(live, "/collections").json()["collections"]}
    for layer, table in LAYER_TABLES.items():
        box = sql(shared_db, f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
                             f"(SELECT ST_Extent(geom) e FROM {table}) x")[0]
        assert collections[layer]["extent"]["spatial"]["bbox"][0] == pytest.approx(
            list(box), abs=1e-6), layer
    roads, grids = (collections[n]["extent"]["spatial"]["bbox"][0] for n in ("roads", "grids"))
    assert roads != grids
    first, = sql(shared_db, "SELECT min(created_at) FROM incidents WHERE state <> 'duplicate'")[0]
    interval = collections["incidents"]["extent"]["temporal"]["interval"][0]
    assert datetime.fromisoformat(interval[0]) == first and interval[1] is None   # still open


def test_queryables_are_a_json_schema_of_the_properties(live):
    r = get(live, "/collections/grids/queryables")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/schema+json")
    schema = r.json()
    props = schema["properties"]
    assert props["households"]["type"] == "integer" and props["name"]["type"] == "string"
    assert props["geometry"]["format"] == "geometry-any"
    incidents = get(live, "/collections/incidents/queryables").json()["properties"]
    assert incidents["created_at"]["format"] == "date-time"
    assert "contact" not in incidents and "reported_by" not in incidents
    links = get(live, "/collections/grids").json()["links"]
    assert any(l["rel"].endswith("/queryables") for l in links)
    assert "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter" in \
        get(live, "/conformance").json()["conformsTo"]


def test_property_filters_as_query_parameters(live, shared_db):
    got = get(live, "/collections/facilities/items", kind="camera").json()
    assert got["numberMatched"] == sql(shared_db, "SELECT count(*) FROM facilities WHERE "
                                                  "kind = 'camera'")[0][0] > 0
    assert {f["properties"]["kind"] for f in got["features"]} == {"camera"}
    assert get(live, "/collections/grids/items", households="many").status_code == 400


@pytest.mark.parametrize("lang, expression", [
    ("cql2-text", "households > 300 AND name LIKE '第%'"),
    ("cql2-json", json.dumps({"op": "and", "args": [
        {"op": ">", "args": [{"property": "households"}, 300]},
        {"op": "like", "args": [{"property": "name"}, "第%"]}]})),
])
def test_cql2_filters(live, shared_db, lang, expression):
    got = get(live, "/collections/grids/items", filter=expression, **{"filter-lang": lang})
    assert got.status_code == 200, got.text
    expected = sql(shared_db, "SELECT code FROM grids WHERE name LIKE '第%' AND id IN "
                              "(SELECT grid_id FROM households GROUP BY grid_id HAVING count(*) > 300)")
    assert sorted(f["id"] for f in got.json()["features"]) == sorted(c for c, in expected)


def test_a_spatial_filter_and_quotes(live, shared_db):
    a, b, c, d = BOX
    polygon = f"POLYGON(({a} {b}, {c} {b}, {c} {d}, {a} {d}, {a} {b}))"
    got = get(live, "/collections/roads/items", filter=f"S_INTERSECTS(geometry, {polygon})",
              limit=10000).json()
    assert got["numberMatched"] == intersecting(shared_db, "roads")
    quoted = get(live, "/collections/facilities/items", filter="name = 'O''Brien''s'")
    assert quoted.status_code == 200 and quoted.json()["numberMatched"] == 0


@pytest.mark.parametrize("params, says", [
    ({"filter": "households >"}, "not a valid"),
    ({"filter": "colour = 'red'"}, "colour is not a queryable"),
    ({"filter": "{", "filter-lang": "cql2-json"}, "not a valid"),
    ({"filter-lang": "sql"}, "filter-lang"),
    ({"sortby": "-colour"}, "sortby"),
    ({"properties": "name,colour"}, "colour"),
    ({"skipGeometry": "maybe"}, "skipGeometry"),
    ({"limit": "0"}, "limit"),
    ({"cursor": "not-ours"}, "cursor"),
    ({"filter-crs": "http://www.opengis.net/def/crs/EPSG/0/3857"}, "filter-crs"),
])
def test_malformed_parameters_are_400s_naming_them(live, params, says):
    r = get(live, "/collections/grids/items", **params)
    assert r.status_code == 400 and r.json()["code"] == "InvalidParameterValue", r.text
    assert says in r.json()["description"]


def test_sortby_properties_and_skip_geometry(live):
    got = get(live, "/collections/grids/items", sortby="-households",
              properties="name,households", skipGeometry="true").json()
    counts = [f["properties"]["households"] for f in got["features"]]
    assert counts == sorted(counts, reverse=True) and len(counts) > 1
    assert all(set(f["properties"]) == {"name", "households"} for f in got["features"])
    assert all(f["geometry"] is None for f in got["features"])


def test_a_limit_beyond_the_page_is_the_page(live):
    got = get(live, "/collections/households/items", limit=50000, skipGeometry="true").json()
    assert got["numberReturned"] == min(10000, got["numberMatched"])


@pytest.mark.parametrize("interval", ["2021-03-01/2021-06-30", "../2021-06-30",
                                      "2021-06-30T00:00:00+08:00/..", "2021-05-04"])
def test_datetime_selects_incidents_by_when_they_were_reported(live, shared_db, interval):
    got = get(live, "/collections/incidents/items", datetime=interval, limit=10000).json()
    start, _, end = interval.partition("/") if "/" in interval else (interval, "", interval)
    lo = "-infinity" if start in ("", "..") else start[:10] if len(start) == 10 else start
    hi = "infinity" if end in ("", "..") else (end + "T23:59:59.999999+08:00"
                                               if len(end) == 10 else end)
    if len(start) == 10:
        lo = start + "T00:00:00+08:00"
    expected = sql(shared_db, "SELECT count(*) FROM incidents WHERE state <> 'duplicate' AND "
                              "created_at BETWEEN CAST(:lo AS timestamptz) AND "
                              "CAST(:hi AS timestamptz)", lo=lo, hi=hi)[0][0]
    assert got["numberMatched"] == expected > 0, interval


@pytest.mark.parametrize("bad", ["yesterday", "2021-02-30", "2021-06-30/2021-01-01",
                                 "0001-01-01"])
def test_malformed_datetimes_are_400s(live, bad):
    r = get(live, "/collections/incidents/items", datetime=bad)
    assert r.status_code == 400 and "datetime" in r.json()["description"]


def test_pages_follow_by_key_and_cover_everything_once(live, shared_db):
    url, seen, pages = f"{live}/ogc/collections/households/items?limit=250&skipGeometry=true", [], 0
    while url:
        page = requests.get(url, headers=auth()).json()
        seen += [f["id"] for f in page["features"]]
        url = next((l["href"] for l in page["links"] if l["rel"] == "next"), None)
        pages += 1
        assert url is None or "cursor=" in url
    total = sql(shared_db, "SELECT count(*) FROM households")[0][0]
    assert len(seen) == len(set(seen)) == total and pages == -(-total // 250)


def ogr(live, *args, token="planner"):
    env = os.environ | {"GDAL_HTTP_HEADERS": f"Authorization: Bearer {TOKENS[token]}",
                        "CPL_DEBUG": "ON"}
    out = subprocess.run(["ogrinfo", "-ro", *args], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ERROR" not in out.stderr, out.stderr[-2000:]
    return out


@pytest.mark.parametrize("layer, where, sql_where", [
    ("grids", "households > 300", "id IN (SELECT grid_id FROM households GROUP BY grid_id "
                                  "HAVING count(*) > 300)"),
    ("facilities", "kind = 'camera'", "kind = 'camera'"),
    ("roads", "class = 'path'", "class = 'path'"),
    ("buildings", "floors >= 6", "floors >= 6"),
    ("households", "code LIKE 'HH001%'", "code LIKE 'HH001%'"),
    ("compounds", "name LIKE '%苑'", "name LIKE '%苑'"),
    ("parking_lots", "capacity > 0", "capacity > 0"),
    ("incidents", "state = 'closed'", "state = 'closed'"),
])
def test_gdal_spat_and_where_count_what_postgis_finds(live, shared_db, layer, where, sql_where):
    """ogrinfo -spat -where: GDAL sends the box and, as a CQL text filter, the condition;
    its feature count equals PostGIS's exact intersection with the condition."""
    out = ogr(live, "-al", "-so", "-spat", *map(str, BOX), "-where", where,
              f"OAPIF:{live}/ogc", layer)
    count = int(out.stdout.split("Feature Count: ")[1].split()[0])
    if layer == "incidents":   # personal cases are where the public view shows them
        expected = sql(shared_db, f"""
            SELECT count(*) FROM incidents t JOIN incident_categories c ON c.id = t.category_id
            WHERE t.state <> 'duplicate' AND t.{sql_where}
              AND ST_Intersects(CASE WHEN c.personal THEN ST_SnapToGrid(t.geom, 0.002)
                                ELSE t.geom END, ST_MakeEnvelope(:a, :b, :c, :d, 4326))""",
                       a=BOX[0], b=BOX[1], c=BOX[2], d=BOX[3])[0][0]
    else:
        expected = intersecting(shared_db, LAYER_TABLES[layer], where=sql_where)
    assert count == expected, (layer, count, expected)
    assert "filter=" in out.stderr                 # sent to the server, not done in GDAL


def test_owslib_filters_and_boxes_every_collection(live, shared_db):
    from owslib.ogcapi.features import Features
    w = Features(f"{live}/ogc", headers=auth())
    for layer, table in LAYER_TABLES.items():
        page = w.collection_items(layer, bbox=list(BOX), limit=1)
        assert page["numberMatched"] == intersecting(shared_db, table), layer
        assert "properties" in w.collection_queryables(layer)
    cams = w.collection_items("facilities", filter="kind = 'camera'", limit=1)
    assert cams["numberMatched"] == sql(shared_db, "SELECT count(*) FROM facilities "
                                                   "WHERE kind = 'camera'")[0][0]


@pytest.mark.parametrize("layer, token", [("roads", "planner"), ("households", "worker3"),
                                          ("incidents", None)])
def test_tile_layers_come_from_one_url_and_gdal_reads_them(live, shared_db, layer, token):
    """TileJSON names the URL template, zooms, bounds and fields; GDAL's MVT driver reads a
    tile from that template with those fields (the same features an independent decoder
    finds)."""
    import math

    import mapbox_vector_tile
    headers = {"Authorization": f"Bearer {TOKENS[token]}"} if token else {}
    meta = requests.get(f"{live}/tiles/{layer}.json", headers=headers)
    assert meta.status_code == 200, meta.text
    tj = meta.json()
    assert tj["tilejson"] == "3.0.0" and tj["vector_layers"][0]["id"] == layer
    fields = tj["vector_layers"][0]["fields"]
    lon, lat = (tj["bounds"][0] + tj["bounds"][2]) / 2, (tj["bounds"][1] + tj["bounds"][3]) / 2
    z = 16
    x = int((lon + 180) / 360 * 2 ** z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2 ** z)
    url = tj["tiles"][0].format(z=z, x=x, y=y)
    decoded = mapbox_vector_tile.decode(requests.get(url, headers=headers).content)
    expected = len(decoded.get(layer, {}).get("features", []))
    assert expected > 0, (layer, url)
    env = os.environ | ({"GDAL_HTTP_HEADERS": headers["Authorization"].join(
        ["Authorization: ", ""])} if token else {})
    out = subprocess.run(["ogrinfo", "-ro", "-so", "-al", "-oo",
                          f"METADATA_FILE=/vsicurl/{live}/tiles/{layer}.json",
                          f"MVT:/vsicurl/{url}"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0 and "ERROR" not in out.stderr, out.stderr
    assert f"Feature Count: {expected}\n" in out.stdout
    for name in fields:
        assert f"\n{name}: " in out.stdout, (name, out.stdout[-800:])
    if token is None:   # the public's incident tiles carry no grid or overdue flag
        assert set(fields) == {"id", "category", "state", "blurred"}
        assert requests.get(f"{live}/tiles/households.json").status_code == 404
