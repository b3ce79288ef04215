"""Every read goes through the one scope and privacy rule, tried from the outside: a dispute in
the sample community (with a marked description, reporter and photo) and a second community
beside it, with a planner scoped to that second community.

* the duplicate check (``/api/incidents/nearby``) and the photo file answer per role and scope;
* every GET route of the app (the table of ``test_access``, which must name them all), asked
  by the other community's planner, never carries the dispute's description, reporter, photo,
  door or exact point; the public routes show it only blurred.
"""
import io
import json

import mapbox_vector_tile
import pytest
from PIL import Image
from sqlalchemy import text

from geodata import accounts
from webmap import engine

from ..conftest import client_as, client_class
from .test_access import REQUESTS
from .test_area_scope import tile_of

OTHER = "511702005008"                      # a second community, east of the sample's
MARK = "保密标记-甲乙纠纷"
CONTACT = "当事人王某 13912345678"
LON, LAT = 107.49557319, 31.24553717        # in the sample's third grid; decimals to look for
EXACT = ("107.4955731", "31.2455371")


@pytest.fixture
def world(write_app, tmp_path):
    write_app.config["MEDIA_DIR"] = str(tmp_path / "media")
    eng = engine(write_app)
    with eng.begin() as conn:
        conn.execute(text(f"""
            INSERT INTO grids (code, name, geom)
            SELECT '{OTHER}' || right(code, 3), name || '（邻）', ST_Translate(geom, 0.05, 0)
            FROM grids WHERE starts_with(code, '511702005007')"""))
        accounts.create_user(conn, "other_planner", "planner", "password for tests",
                             (OTHER,))
        token = accounts.issue_token(conn, "other_planner")
    admin = write_app.test_client()
    placed = admin.post("/api/incidents", json={
        "lon": LON, "lat": LAT, "category": "dispute", "description": MARK})
    assert placed.status_code == 201, placed.get_data(as_text=True)
    iid = placed.get_json()["id"]
    with eng.begin() as conn:
        conn.execute(text("UPDATE incidents SET contact = :c WHERE id = :id"),
                     {"c": CONTACT, "id": iid})
        door = conn.execute(text("SELECT h.code FROM incidents i JOIN households h "
                                 "ON h.id = i.household_id WHERE i.id = :id"),
                            {"id": iid}).scalar_one()
    picture = io.BytesIO()
    Image.new("RGB", (32, 24), "blue").save(picture, "JPEG")
    photo = admin.post(f"/api/incidents/{iid}/photos", content_type="multipart/form-data",
                       data={"photo": (io.BytesIO(picture.getvalue()), "p.jpg")})
    assert photo.status_code == 201
    clients = {name: client_as(write_app, name)
               for name in ("admin", "planner", "head3", "worker3", "worker1")}
    clients["other_planner"] = client_class(token)(write_app, write_app.response_class)
    clients[None] = client_as(write_app, None)
    return clients, {"id": iid, "photo": photo.get_json()["filename"], "door": door}


# who reads the dispute: every account of the sample community, and unscoped planners
READS = {"admin": True, "planner": True, "head3": True, "worker3": True, "worker1": True,
         "other_planner": False}


@pytest.mark.parametrize("user", list(READS))
def test_the_duplicate_check_reads_through_the_scope(world, user):
    clients, case = world
    r = clients[user].get(f"/api/incidents/nearby?lon={LON}&lat={LAT}&category=dispute")
    assert r.status_code == 200
    found = [i for i in r.get_json()["incidents"] if i["id"] == case["id"]]
    if READS[user]:
        assert found and found[0]["distance_m"] == 0.0 and found[0]["description"] == MARK
    else:
        assert found == [] and MARK not in r.get_data(as_text=True)


def test_the_public_has_no_duplicate_check(world):
    clients, _ = world
    r = clients[None].get(f"/api/incidents/nearby?lon={LON}&lat={LAT}&category=dispute")
    assert r.status_code == 401


@pytest.mark.parametrize("user", [*READS, None])
def test_a_photo_is_served_to_those_who_read_its_incident(world, user):
    clients, case = world
    r = clients[user].get(f"/media/{case['photo']}")
    if user is None:
        assert r.status_code == 401
    elif READS[user]:
        assert r.status_code == 200 and r.mimetype == "image/jpeg"
        cache = {d.strip() for d in r.headers["Cache-Control"].split(",")}
        assert "private" in cache and "public" not in cache
    else:
        assert r.status_code == 404 and r.get_data() != case["photo"].encode()


def test_open311_answers_carry_no_photo(world):
    clients, case = world
    for path in (f"/open311/v2/requests/{case['id']}.json", "/open311/v2/requests.json"):
        body = clients[None].get(path).get_data(as_text=True)
        assert case["photo"] not in body and "media_url" not in body


GET_ROUTES = [(e, url) for e, method, url, _ in REQUESTS
              if method == "GET" and e not in ("static", "vendor.vendor")]
READ_POSTS = [(e, url, body) for e, method, url, body in REQUESTS
              if e == "coverage_api.whatif"]


def test_the_sweep_names_every_read_route(app):
    gets = {r.endpoint for r in app.url_map.iter_rules() if "GET" in r.methods} - {
        "static", "vendor.vendor"}
    assert gets == {e for e, _ in GET_ROUTES}, gets ^ {e for e, _ in GET_ROUTES}


def test_no_read_path_shows_another_communitys_case_to_a_scoped_planner(world):
    clients, case = world
    other = clients["other_planner"]
    secrets = [MARK, CONTACT, case["photo"], case["door"], *EXACT]
    leaks = []
    urls = [(e, url.replace("{id}", str(case["id"]))) for e, url in GET_ROUTES]
    urls += [("incidents_api.nearby",
              f"/api/incidents/nearby?lon={LON}&lat={LAT}&category=dispute"),
             ("api.search", f"/api/search?q={MARK}"), ("api.search", f"/api/search?q={case['id']}"),
             ("api.search", f"/api/search?q={case['door']}")]
    for z in (12, 14, 16, 18):   # the tiles where the dispute and its door lie
        x, y = tile_of(LON, LAT, z)
        urls += [("tiles.tile", f"/tiles/{layer}/{z}/{x}/{y}.mvt")
                 for layer in ("incidents", "households", "coverage")]
    for endpoint, url in urls:
        body = other.get(url).get_data()
        leaks += [(endpoint, url, s) for s in secrets if s.encode() in body]
    for endpoint, url, body in READ_POSTS:
        answer = other.post(url, json={"lon": LON, "lat": LAT}).get_data()
        leaks += [(endpoint, url, s) for s in secrets if s.encode() in answer]
    assert leaks == []
    # and the same tiles carry the dispute to an account of its community (the check can fail)
    x, y = tile_of(LON, LAT, 18)
    tile = clients["worker1"].get(f"/tiles/incidents/18/{x}/{y}.mvt")
    features = mapbox_vector_tile.decode(tile.get_data())["incidents"]["features"]
    assert case["id"] in {f["properties"]["id"] for f in features}
    tile = other.get(f"/tiles/incidents/18/{x}/{y}.mvt")
    assert case["id"] not in {f["properties"]["id"] for f in mapbox_vector_tile.decode(tile.get_data())
                              .get("incidents", {}).get("features", [])}


@pytest.mark.parametrize("path", ["/api/public/incidents", "/open311/v2/requests.json",
                                  "/open311/v2/requests/{id}.xml", "/public/incidents",
                                  "/ogc/collections/incidents/items?limit=1000"])
def test_the_public_routes_show_the_dispute_only_blurred(world, path):
    clients, case = world
    body = clients[None].get(path.replace("{id}", str(case["id"]))).get_data(as_text=True)
    assert not [s for s in (MARK, CONTACT, case["photo"], case["door"], *EXACT) if s in body]


@pytest.mark.parametrize("user", ["other_planner", None])
def test_ogc_filters_sorting_and_properties_stay_inside_the_rule(world, user):
    """Filters only narrow what a reader's rows already are: another community's planner finds
    none of the sample's grids or households by any filter, and the public cannot find a
    dispute by its hidden description or its exact point."""
    clients, case = world
    c = clients[user]
    point = f"POINT({LON} {LAT})"
    asks = [("incidents", {"filter": f"description LIKE '%{MARK[:4]}%'"}),
            ("incidents", {"filter": f"S_INTERSECTS(geometry, {point})"}),
            ("incidents", {"filter": "location_blurred = false", "sortby": "-created_at",
                           "properties": "description"})]
    if user == "other_planner":
        asks += [("grids", {"filter": "code LIKE '511702005007%'"}),
                 ("households", {"filter": f"code = '{case['door']}'"}),
                 ("households", {"code": case["door"]}),
                 ("grids", {"sortby": "-households", "properties": "code,households"})]
    for collection, params in asks:
        r = c.get(f"/ogc/collections/{collection}/items", query_string=params)
        assert r.status_code == 200, (collection, params, r.get_data(as_text=True)[:300])
        body = json.dumps(r.get_json()["features"], ensure_ascii=False)   # not the links,
        assert MARK not in body and case["door"] not in body and EXACT[0] not in body  # which
        # echo the asker's own query
        if collection == "incidents" and "S_INTERSECTS" in params.get("filter", ""):
            assert r.get_json()["numberMatched"] == 0
        if collection in ("grids", "households"):
            assert all(not f["properties"]["code"].startswith("511702005007")
                       for f in r.get_json()["features"]), (collection, params)
    if user is None:
        assert c.get("/ogc/collections/households/queryables").status_code == 404
