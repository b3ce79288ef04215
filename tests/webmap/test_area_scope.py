"""Accounts scoped to a subdistrict or community, from the outside: on a platform holding two
subdistricts, a subdistrict's officer sees the figures of all its communities and nothing of the
other subdistrict — per read path (summary, areas, grids, layers, OGC, tiles, incidents, CSV,
dashboard, coverage) — and a scoped admin changes nothing outside its areas."""
import csv
import io
import math

import mapbox_vector_tile
import pytest
from sqlalchemy import text

from geodata import accounts
from webmap import engine

from ..conftest import client_class

OURS, OTHER = "511702005", "511702006"          # the sample's subdistrict, and a copy of it
SHIFT = 0.05                                     # degrees east: where the copy lies


def tile_of(lon, lat, z):
    n = 2 ** z
    return (int((lon + 180) / 360 * n),
            int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))


@pytest.fixture
def platform(write_app):
    """The sample plus a second subdistrict (a shifted copy of its grids and households, with
    incidents), and scoped accounts; yields (app, clients by name, facts)."""
    eng = engine(write_app)
    admin = write_app.test_client()
    with eng.begin() as conn:
        conn.execute(text(f"""
            INSERT INTO admin_areas (code, level, name) VALUES ('{OTHER}', 'subdistrict', '外街道');
            INSERT INTO grids (code, name, geom)
            SELECT '{OTHER}001' || right(code, 3), name || '（外）', ST_Translate(geom, {SHIFT}, 0)
            FROM grids;
            INSERT INTO households (code, building_id, unit_room, residents, minors,
                                    elderly_alone, party_member, low_income, geom)
            SELECT 'X' || code, building_id, unit_room, residents, minors, elderly_alone,
                   party_member, low_income, ST_Translate(geom, {SHIFT}, 0) FROM households"""))
        point = conn.execute(text(f"SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) "
                                  f"AS p FROM grids WHERE code = '{OTHER}001003') x")).one()
    theirs = admin.post("/api/incidents", json={"lon": point[0], "lat": point[1],
                                                "category": "other", "description": "外事"})
    assert theirs.status_code == 201
    clients, tokens = {}, {}
    with eng.begin() as conn:
        for name, role, codes in [("sub_planner", "planner", (OURS,)),
                                  ("sub_admin", "admin", (OURS,)),
                                  ("community_planner", "planner", (OURS + "007",))]:
            accounts.create_user(conn, name, role, "password for tests", codes)
            tokens[name] = accounts.issue_token(conn, name)
        facts = conn.execute(text(f"""
            SELECT count(*) FILTER (WHERE starts_with(g.code, '{OURS}')) AS ours,
                   count(*) AS everyone
            FROM households h JOIN grids g ON g.id = h.grid_id""")).mappings().one()
        ours_grids = set(conn.execute(text(
            f"SELECT code FROM grids WHERE starts_with(code, '{OURS}')")).scalars())
    for name, token in tokens.items():
        clients[name] = client_class(token)(write_app, write_app.response_class)
    clients["admin"] = admin
    yield write_app, clients, dict(facts) | {"grids": ours_grids, "their_incident":
                                             theirs.get_json()["id"], "point": point}


def codes_in(fc):
    return {f["properties"]["code"] for f in fc["features"]}


def test_a_subdistrict_sees_its_communities_and_nothing_else(platform):
    app, clients, facts = platform
    assert facts["everyone"] == 2 * facts["ours"]
    for name in ("sub_planner", "sub_admin"):
        c = clients[name]
        assert c.get("/api/summary").get_json()["households"] == facts["ours"], name
        top = c.get("/api/areas").get_json()
        assert top["totals"]["households"] == facts["ours"]
        district = c.get("/api/areas/511702").get_json()
        assert [ch["code"] for ch in district["children"]] == [OURS]
        assert c.get(f"/api/areas/{OTHER}").status_code == 404
        assert {g["code"] for g in c.get("/api/grids").get_json()["grids"]} == facts["grids"]
        assert c.get(f"/api/grids/{OTHER}001003").status_code == 404
        assert c.get(f"/grids/{OTHER}001003").status_code == 404
        assert codes_in(c.get("/api/layers/grids").get_json()) == facts["grids"]
        households = codes_in(c.get("/api/layers/households").get_json())
        assert len(households) == facts["ours"] and not any(h.startswith("X") for h in households)
        ogc = c.get("/ogc/collections/households/items?limit=1").get_json()
        assert ogc["numberMatched"] == facts["ours"]
        assert c.get("/ogc/collections/grids/items").get_json()["numberMatched"] == 4
        # low-zoom household tiles count only the subdistrict's households
        z = 10
        lon, lat = facts["point"]
        seen = 0
        for x, y in {tile_of(lon - SHIFT, lat, z), tile_of(lon, lat, z)}:
            layer = mapbox_vector_tile.decode(
                c.get(f"/tiles/households/{z}/{x}/{y}.mvt").get_data()).get("households", {})
            seen += sum(f["properties"]["households"] for f in layer.get("features", []))
        assert seen == facts["ours"]
        # incidents: list, one, CSV, dashboard, map tiles
        listed = c.get("/api/incidents?limit=1000").get_json()
        assert listed["features"] and all(f["properties"]["grid_code"].startswith(OURS)
                                          for f in listed["features"])
        assert c.get(f"/api/incidents/{facts['their_incident']}").status_code == 404
        rows = list(csv.DictReader(io.StringIO(
            c.get("/api/incidents.csv").get_data(as_text=True).lstrip("\ufeff"))))
        assert rows and all(r["grid_code"].startswith(OURS) for r in rows)
        z, (x, y) = 17, tile_of(lon, lat, 17)
        layer = mapbox_vector_tile.decode(
            c.get(f"/tiles/incidents/{z}/{x}/{y}.mvt").get_data()).get("incidents", {})
        assert not layer.get("features")
        # coverage figures
        cov = c.get("/api/coverage?minutes=15").get_json()
        assert set(cov["grids"]) == facts["grids"]
        assert cov["total"]["15min"]["households"] == facts["ours"]
    everything = clients["admin"]
    assert everything.get("/api/summary").get_json()["households"] == facts["everyone"]
    assert everything.get(f"/api/incidents/{facts['their_incident']}").status_code == 200


def test_a_community_account_reads_one_community(platform):
    app, clients, facts = platform
    c = clients["community_planner"]
    areas = c.get("/api/areas/511702005").get_json()
    assert [ch["code"] for ch in areas["children"]] == ["511702005007"]
    assert c.get("/api/summary").get_json()["households"] == facts["ours"]
    # the sample has one community: the figures equal the subdistrict's


def test_a_scoped_admin_changes_nothing_outside_its_areas(platform):
    app, clients, facts = platform
    lon, lat = facts["point"]
    sub_admin = clients["sub_admin"]
    r = sub_admin.post("/api/incidents", json={"lon": lon, "lat": lat, "category": "other",
                                               "description": "越界"})
    assert r.status_code == 403 and r.get_json()["error"]
    r = sub_admin.post("/api/incidents", json={"lon": lon - SHIFT, "lat": lat,
                                               "category": "other", "description": "本辖区"})
    assert r.status_code == 201
    # its per-household coverage is its subdistrict's households only
    from .test_privacy import all_pages
    seen = {f["properties"]["code"]
            for f in all_pages(sub_admin, "/api/coverage/households?limit=5000")}
    assert len(seen) == facts["ours"] and not any(s.startswith("X") for s in seen)
    # a grid worker reads its own community, not the other subdistrict's incidents
    from ..conftest import client_as
    worker = client_as(app, "worker3")
    assert worker.get(f"/api/incidents/{facts['their_incident']}").status_code == 404


def area_rows(html):
    import re
    return re.findall(r'data-area="([0-9]+)"', html)


def test_pages_and_apis_pick_an_area(platform):
    """Each page lands on the narrowest area holding what the account reads and drills down
    by ``?area=``; the APIs take ``area`` too; a wider area shows only the account's part."""
    app, clients, facts = platform
    admin, sub = clients["admin"], clients["sub_planner"]
    assert area_rows(admin.get("/").get_data(as_text=True)) == [OURS, OTHER]   # the district
    # the subdistrict holds one community: the officer lands on it, its grids listed
    assert area_rows(sub.get("/").get_data(as_text=True)) == sorted(facts["grids"])
    page = admin.get(f"/?area={OURS}007").get_data(as_text=True)
    assert area_rows(page) == sorted(facts["grids"]) and "凤北街道" in page     # breadcrumb
    assert admin.get("/?area=51170").status_code == 400
    assert sub.get(f"/?area={OTHER}").status_code == 404
    assert area_rows(sub.get("/?area=511702").get_data(as_text=True)) == [OURS]
    ours = admin.get(f"/api/summary?area={OURS}").get_json()
    assert ours["households"] == facts["ours"] and ours["grids"] == 4
    assert admin.get("/api/summary?area=5117").status_code == 400
    assert sub.get(f"/api/summary?area={OTHER}").status_code == 404
    cov = admin.get(f"/api/coverage?minutes=15&area={OTHER}").get_json()
    assert cov["total"]["15min"]["households"] == facts["ours"]      # a copy: as many
    assert all(code.startswith(OTHER) for code in cov["grids"])
    listed = admin.get(f"/api/incidents?area={OTHER}").get_json()["features"]
    assert [f["id"] for f in listed] == [facts["their_incident"]]
    dashboard = admin.get(f"/dashboard?area={OTHER}")
    assert dashboard.status_code == 200
    page = admin.get(f"/coverage?minutes=15&area={OTHER}").get_data(as_text=True)
    assert f'data-grid="{OTHER}001001"' in page and f'data-grid="{OURS}007001"' not in page


def test_search_stays_within_the_areas(platform):
    app, clients, facts = platform
    sub, admin = clients["sub_planner"], clients["admin"]
    assert admin.get("/api/search?q=XHH00001").get_json()["results"][0]["code"] == "XHH00001"
    assert sub.get("/api/search?q=XHH00001").get_json()["results"] == []
    number = str(facts["their_incident"])
    assert admin.get(f"/api/search?q={number}").get_json()["results"][0]["kind"] == "incident"
    assert not [h for h in sub.get(f"/api/search?q={number}").get_json()["results"]
                if h["kind"] == "incident"]


def test_the_audit_log_is_for_platform_admins(platform):
    app, clients, facts = platform
    assert clients["sub_admin"].get("/admin/audit").status_code == 403
    assert clients["admin"].get("/admin/audit").status_code == 200
    shown = clients["admin"].get("/admin/audit?action=user.").get_data(as_text=True)
    # an account scoped to a subdistrict or community is shown by the areas' names
    assert "范围：外街道" not in shown and "范围：凤北街道" in shown, shown[-3000:]
