"""Roles, walked over every route: who may do what, and nobody else."""
import json
import re

import pytest
from sqlalchemy import text

from webmap.access import RULES
from webmap.assets import vendor_url

from ..conftest import PASSWORD, client_as

G3, G1 = "511702005007003", "511702005007001"
POINT3 = {"lon": 107.4955, "lat": 31.2455}          # in the third grid

# One request per route. {id} is replaced by an incident of the third grid.
REQUESTS = [
    ("pages.community", "GET", "/", None),
    ("pages.grid", "GET", f"/grids/{G3}", None),
    ("api.summary", "GET", "/api/summary", None),
    ("api.layers", "GET", "/api/layers", None),
    ("api.layer", "GET", "/api/layers/roads", None),
    ("api.grids", "GET", "/api/grids", None),
    ("api.grid", "GET", f"/api/grids/{G3}", None),
    ("api-docs.openapi_json", "GET", "/api/openapi.json", None),
    ("incident_pages.incident_map", "GET", "/incidents", None),
    ("incident_pages.incident_page", "GET", "/incidents/{id}", None),
    ("incident_pages.dashboard", "GET", "/dashboard", None),
    ("incidents_api.categories", "GET", "/api/incident-categories", None),
    ("incidents_api.search", "GET", "/api/incidents", None),
    ("incidents_api.export_csv", "GET", "/api/incidents.csv", None),
    ("incidents_api.nearby", "GET", "/api/incidents/nearby?lon=107.4955&lat=31.2455"
                                    "&category=other", None),
    ("incidents_api.one", "GET", "/api/incidents/{id}", None),
    ("incidents_api.create", "POST", "/api/incidents",
     POINT3 | {"category": "other", "description": "权限测试"}),
    ("incidents_api.move", "POST", "/api/incidents/{id}/transitions",
     {"to": "registered", "version": 1}),
    ("incidents_api.mediation", "PUT", "/api/incidents/{id}/mediation", {"outcome": "x"}),
    ("incidents_api.upload", "POST", "/api/incidents/{id}/photos", "photo"),
    ("media.file", "GET", "/media/nothing.jpg", None),
    ("api.areas_top", "GET", "/api/areas", None),
    ("api.search", "GET", "/api/search?q=HH00001", None),
    ("api.area", "GET", "/api/areas/511702005", None),
    ("coverage.page", "GET", "/coverage", None),
    ("coverage_api.summary", "GET", "/api/coverage", None),
    ("coverage_api.households", "GET", "/api/coverage/households", None),
    ("coverage.tile", "GET", "/tiles/coverage/16/52323/27218.mvt", None),
    ("coverage_api.whatif", "POST", "/api/coverage/whatif", POINT3),
    ("coverage_api.siting", "GET", "/api/coverage/siting?minutes=5&k=1", None),
    ("admin.audit", "GET", "/admin/audit", None),
    ("auth.login", "GET", "/login", None),
    ("vendor.vendor", "GET", vendor_url("leaflet", "leaflet.js"), None),
    ("static", "GET", "/static/site.css", None),
    ("open311.discovery", "GET", "/open311/v2/discovery.json", None),
    ("open311.services", "GET", "/open311/v2/services.json", None),
    ("open311.service_definition", "GET", "/open311/v2/services/other.json", None),
    ("open311.requests_list", "GET", "/open311/v2/requests.json", None),
    ("open311.request_one", "GET", "/open311/v2/requests/{id}.json", None),
    ("open311.requests_create", "POST", "/open311/v2/requests.json", "form"),
    ("auth.logout", "POST", "/logout", None),
    ("incident_pages.public_incidents", "GET", "/public/incidents", None),
    ("incidents_api.public_view", "GET", "/api/public/incidents", None),
    ("ogc.landing", "GET", "/ogc", None),
    ("ogc.conformance", "GET", "/ogc/conformance", None),
    ("ogc.collections_list", "GET", "/ogc/collections", None),
    ("ogc.collection", "GET", "/ogc/collections/incidents", None),
    ("ogc.queryables", "GET", "/ogc/collections/incidents/queryables", None),
    ("ogc.items", "GET", "/ogc/collections/incidents/items", None),
    ("ogc.item", "GET", "/ogc/collections/incidents/items/{id}", None),
    ("ogc.openapi", "GET", "/ogc/api", None),
    ("tiles.tile", "GET", "/tiles/incidents/16/52323/27218.mvt", None),
    ("tiles.tilejson", "GET", "/tiles/incidents.json", None),
    ("pages.print_map", "GET", "/print", None),
    ("visits_api.create", "POST", "/api/visits",  # a household of the third grid
     {"household_code": "HH00001", "visited_at": "2026-11-01T09:00:00+08:00"}),
    ("visits_api.visit_list", "GET", "/api/visits", None),
    ("patrols_api.create", "POST", "/api/patrols", {"points": [   # a walk in the third grid
        {"lon": 107.4940, "lat": 31.2455, "t": "2026-11-20T09:00:00+08:00"},
        {"lon": 107.4944, "lat": 31.2455, "t": "2026-11-20T09:01:00+08:00"}]}),
    ("patrols_api.upload_gpx", "POST", "/api/patrols/gpx", "gpx"),
    ("patrols_api.patrol_list", "GET", "/api/patrols", None),
    ("cameras_api.camera_net", "GET", "/api/cameras", None),
    ("cameras_api.camera_gaps", "GET", f"/api/cameras/gaps?grid={G3}", None),
    ("patrols_api.weekly", "GET", "/api/patrols/weekly", None),
    ("patrols_api.unwalked", "GET", f"/api/patrols/unwalked?grid={G3}", None),
    ("visits_api.due", "GET", "/api/visits/due", None),
    ("visits.card", "GET", "/households/HH00333", None),       # a household of the third grid
    ("party.page", "GET", "/party", None),
    ("rounds.page", "GET", "/rounds", None),
    ("party_api.tree", "GET", "/api/party", None),
    ("party_api.member", "GET", "/api/party/members/PM-1-09-1", None),
    ("field.page", "GET", "/field", None),
    ("field.service_worker", "GET", "/sw.js", None),
    ("field.manifest", "GET", "/manifest.webmanifest", None),
    ("tasks.page", "GET", "/tasks", None),
    ("tasks_api.task_list", "GET", "/api/tasks", None),
    ("tasks_api.workload", "GET", "/api/tasks/workload", None),
    ("tasks_api.assignees", "GET", "/api/incidents/{id}/assignees", None),
    ("tasks_api.full_workload", "GET", "/api/workload", None),
]

PUBLIC = {"api-docs.openapi_json", "auth.login", "auth.logout", "vendor.vendor", "static",
          "ogc.landing", "ogc.conformance", "ogc.collections_list", "ogc.collection",
          "ogc.queryables",
          "ogc.items", "ogc.item", "ogc.openapi", "tiles.tile", "tiles.tilejson",
          "incident_pages.public_incidents", "incidents_api.public_view",
          "field.service_worker", "field.manifest"} | {
    e for e, *_ in REQUESTS if e.startswith("open311.")}
GRID_WRITES = {"incidents_api.create", "incidents_api.move", "incidents_api.mediation",
               "incidents_api.upload", "tasks_api.assignees", "visits_api.create",
               "patrols_api.create", "patrols_api.upload_gpx"}
# what only acting accounts have: their tasks and the phone page; the workload for heads
TASKS = {"field.page", "tasks.page", "tasks_api.task_list", "tasks_api.workload",
         "tasks_api.full_workload",
         "visits_api.visit_list", "visits_api.due", "visits.card"}
# written out by hand, apart from the table in webmap/access.py
EXPECTED = {
    None: PUBLIC,
    "planner": {e for e, *_ in REQUESTS} - GRID_WRITES - TASKS - {
        "coverage_api.households", "coverage.tile", "admin.audit"},
    "head3": {e for e, *_ in REQUESTS} - {"admin.audit"},
    "worker3": {e for e, *_ in REQUESTS} - {"admin.audit", "tasks_api.workload",
                                            "tasks_api.full_workload"},
    # a worker of the first grid reads everything but writes nothing in the third grid
    "worker1": {e for e, *_ in REQUESTS} - {"admin.audit", "tasks_api.workload",
                                            "tasks_api.full_workload"} - GRID_WRITES,
    "admin": {e for e, *_ in REQUESTS},
}


def test_every_route_has_a_rule_and_a_request_here(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules()}
    assert endpoints <= set(RULES), endpoints - set(RULES)
    assert endpoints == {e for e, *_ in REQUESTS}, endpoints ^ {e for e, *_ in REQUESTS}


def send(client, method, url, body):
    if body == "photo":
        import io
        return client.open(url, method=method, content_type="multipart/form-data",
                           data={"photo": (io.BytesIO(b"not really"), "x.jpg")})
    if body == "gpx":    # a walk of one minute in the third grid
        import io
        gpx = ('<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
               '<trkpt lat="31.2455" lon="107.4940"><time>2026-11-20T01:00:00Z</time></trkpt>'
               '<trkpt lat="31.2455" lon="107.4944"><time>2026-11-20T01:01:00Z</time></trkpt>'
               '</trkseg></trk></gpx>')
        return client.open(url, method=method, content_type="multipart/form-data",
                           data={"gpx": (io.BytesIO(gpx.encode()), "walk.gpx")})
    if body == "form":   # Open311 checks its own API key, whoever is logged in
        return client.open(url, method=method, data={
            "api_key": "matrix-key", "service_code": "other", "lat": "31.2455",
            "long": "107.4955"})
    return client.open(url, method=method, json=body)


@pytest.mark.parametrize("user", list(EXPECTED))
def test_role_matrix(write_app, user):
    write_app.config["OPEN311_API_KEYS"] = {"matrix": "matrix-key"}
    # reported from outside (Open311), so that no account here is kept from registering it
    reported = client_as(write_app, None).post("/open311/v2/requests.json", data={
        "api_key": "matrix-key", "service_code": "dispute", "lat": str(POINT3["lat"]),
        "long": str(POINT3["lon"]), "description": "矩阵"})
    iid = int(reported.get_json()[0]["service_request_id"])
    client = client_as(write_app, user)
    for endpoint, method, url, body in REQUESTS:
        r = send(client, method, url.replace("{id}", str(iid)), body)
        refused = r.status_code in (401, 403) or (
            r.status_code == 302 and "/login" in r.headers.get("Location", "")
            and endpoint != "auth.logout")   # logging out ends on the login page
        if endpoint in EXPECTED[user]:
            assert not refused, (user, endpoint, r.status_code, r.data[:200])
        else:
            assert refused, (user, endpoint, r.status_code)
            if r.status_code != 302 and (url.startswith("/api/") or "json" in url):
                assert "error" in r.get_json(), (user, endpoint)


def test_grid_staff_see_only_their_households(write_app):
    body = client_as(write_app, "worker1").get("/api/coverage/households").get_json()
    assert body["features"] and {f["properties"]["grid"] for f in body["features"]} == {G1}
    page = client_as(write_app, "planner").get("/coverage").get_data(as_text=True)
    assert "住户名单仅向本网格" in page and "户</summary>" not in page   # figures, no list
    page = client_as(write_app, "worker1").get("/coverage").get_data(as_text=True)
    assert page.count("户</summary>") == 1                               # its own grid only


def test_grid_worker_reports_in_own_grid_only(write_app):
    worker1 = client_as(write_app, "worker1")
    r = worker1.post("/api/incidents", json=POINT3 | {"category": "other", "description": "x"})
    assert r.status_code == 403 and G1 in r.get_json()["error"]
    worker3 = client_as(write_app, "worker3")
    r = worker3.post("/api/incidents", json=POINT3 | {"category": "other", "description": "x"})
    assert r.status_code == 201
    detail = worker3.get(f"/api/incidents/{r.get_json()['id']}").get_json()
    assert detail["reported_by"] == "worker3"


def login(client, user, password=PASSWORD):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client.post("/login", data={"name": user, "password": password,
                                       "csrf_token": token})


def test_session_login_csrf_and_logout(write_app):
    browser = client_as(write_app, None)
    assert browser.get("/api/summary").status_code == 401
    assert browser.get("/").status_code == 302
    assert login(browser, "worker3", "wrong password").status_code == 401
    assert login(browser, "worker3").status_code == 302
    assert browser.get("/api/summary").status_code == 200
    body = POINT3 | {"category": "other", "description": "会话"}
    no_token = browser.post("/api/incidents", json=body)
    assert no_token.status_code == 400 and "security token is missing" in no_token.get_json()["error"]
    page = browser.get("/").get_data(as_text=True)
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    ok = browser.post("/api/incidents", json=body, headers={"X-CSRFToken": csrf})
    assert ok.status_code == 201
    audit = write_app.test_client().get("/admin/audit?action=login").get_data(as_text=True)
    assert "<td>登录失败</td>" in audit and "<td>登录</td>" in audit


def test_login_is_rate_limited(write_app):
    browser = client_as(write_app, None)
    # counted per address: a private one, so the other tests' logins are not affected
    browser.environ_base["REMOTE_ADDR"] = "127.0.0.99"
    codes = [login(browser, "nobody", "guess guess guess").status_code for _ in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429
    assert login(client_as(write_app, None), "worker3").status_code == 302  # others unaffected


def test_a_bad_token_is_not_a_login(write_app):
    from ..conftest import client_class
    bogus = client_class("slx_not_a_real_token")(write_app, write_app.response_class)
    r = bogus.get("/api/summary")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"


def test_the_public_view_hides_personal_data(write_app):
    from webmap import engine
    anonymous = client_as(write_app, None)
    fc = anonymous.get("/api/public/incidents").get_json()
    with engine(write_app).connect() as conn:
        secrets = set(conn.execute(text(
            "SELECT reported_by FROM incidents UNION SELECT i.description FROM incidents i "
            "JOIN incident_categories c ON c.id = i.category_id WHERE c.personal")).scalars())
    personal = [f for f in fc["features"] if f["properties"]["location_blurred"]]
    other = [f for f in fc["features"] if not f["properties"]["location_blurred"]]
    assert personal and other
    for f in personal:
        assert f["properties"]["description"] is None
        for v in f["geometry"]["coordinates"]:
            assert abs(v / 0.002 - round(v / 0.002)) < 1e-6   # snapped to the 200 m cells
    body = json.dumps(fc, ensure_ascii=False)
    assert "reported_by" not in body and "contact" not in body
    assert not any(s and s in body for s in secrets if len(s) > 6)
    page = anonymous.get("/public/incidents")
    assert page.status_code == 200 and "模糊" in page.get_data(as_text=True)


def test_changes_are_in_the_audit_log(write_app, tmp_path):
    worker3 = client_as(write_app, "worker3")
    iid = worker3.post("/api/incidents", json=POINT3 | {"category": "other",
                                                        "description": "审计"}).get_json()["id"]
    client_as(write_app, "head3").post(f"/api/incidents/{iid}/transitions",
                                       json={"to": "registered", "version": 1})
    import geopandas as gpd
    from shapely.geometry import Point
    gpd.GeoDataFrame({"code": ["AUD1"], "name": ["监控"], "kind": ["camera"]},
                     geometry=[Point(107.4955, 31.2455)], crs=4326).to_file(tmp_path / "a.geojson")
    result = write_app.test_cli_runner().invoke(
        args=["geodata", "import", "facilities", str(tmp_path / "a.geojson")])
    assert result.exit_code == 0
    admin = write_app.test_client()
    page = admin.get("/admin/audit", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    for action in ("上报事件", "事件流转", "导入数据", "创建账号"):   # the actions, in words
        assert f"<td>{action}</td>" in page, action
    shown = page.split('id="audit-log"')[1]
    assert "incident.create" not in shown and '{"' not in shown     # no codes, no raw JSON
    assert "状态：已上报 → 已立案" in shown                       # details as sentences
    assert "在第三网格（龙溪苑）上报" in shown                       # categories, grids by name
    assert "worker3" in admin.get("/admin/audit?action=incident.").get_data(as_text=True)
    # the filter takes what the column shows
    chosen = admin.get("/admin/audit?action=事件流转").get_data(as_text=True)
    rows = chosen.split('id="audit-log"')[1]
    assert "<td>事件流转</td>" in rows and "<td>上报事件</td>" not in rows
    assert client_as(write_app, "planner").get("/admin/audit").status_code == 403
