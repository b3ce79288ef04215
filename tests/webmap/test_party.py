"""The party network to every household: the tree, who sees names, the share of households
without a contact party member, and a member's households."""
import pytest
from sqlalchemy import text

from tests.conftest import client_as

G3 = "511702005007003"


def sql(app, statement, **params):
    from webmap import engine
    with engine(app).begin() as conn:
        result = conn.execute(text(statement), params)
        return result.all() if result.returns_rows else None


def walk(nodes):
    for node in nodes:
        yield node
        yield from walk(node["children"])


def test_the_whole_tree_down_to_every_contact_household(write_app):
    tree = client_as(write_app, "admin").get("/api/party").get_json()
    orgs = list(walk(tree["organisations"]))
    assert len(tree["organisations"]) == 1 and tree["organisations"][0]["level"] == "general_branch"
    assert sorted(o["code"] for o in orgs) == sorted(
        r[0] for r in sql(write_app, "SELECT code FROM party_organizations"))
    members = [m for o in orgs for m in o["members"]]
    assert len(members) == sql(write_app, "SELECT count(*) FROM party_members")[0][0]
    with_contact = sql(write_app, "SELECT count(*) FROM households "
                                  "WHERE contact_member_id IS NOT NULL")[0][0]
    assert tree["organisations"][0]["households"] == with_contact
    assert sum(m["households"] for m in members) == with_contact
    assert all(m["name"] and m["phone"] for m in members)                  # an admin sees all


@pytest.mark.parametrize("user, named", [("planner", set()), ("worker3", {G3}),
                                         ("worker1", {"511702005007001"})])
def test_names_and_phones_only_for_the_members_own_grid_staff(write_app, user, named):
    tree = client_as(write_app, user).get("/api/party").get_json()
    members = [m for o in walk(tree["organisations"]) for m in o["members"]]
    assert members                                   # the tree itself is for every account
    assert {m["grid_code"] for m in members if m["name"]} == named
    assert all((m["name"] is None) == (m["phone"] is None) for m in members)
    page = client_as(write_app, user).get("/party").get_data(as_text=True)
    hidden = [m for m in members if not m["name"]]
    assert all(f'data-member="{m["code"]}">党员 ' in page for m in hidden)   # by role
    assert all(f'data-member="{m["code"]}">{m["name"]}<' in page for m in members if m["name"])


def test_households_without_a_contact_member_per_grid(write_app):
    sql(write_app, """UPDATE households SET contact_member_id = NULL WHERE id IN (
        SELECT h.id FROM households h JOIN grids g ON g.id = h.grid_id WHERE g.code = :g
        ORDER BY h.id LIMIT 3)""", g=G3)
    total = sql(write_app, "SELECT count(*) FROM households h JOIN grids g ON g.id = h.grid_id "
                           "WHERE g.code = :g", g=G3)[0][0]
    shares = client_as(write_app, "planner").get("/api/party").get_json()["coverage"]
    row = next(g for g in shares["grids"] if g["code"] == G3)
    assert (row["households"], row["without_contact"]) == (total, 3)
    assert row["share_without"] == pytest.approx(3 / total)
    assert all(g["without_contact"] == 0 for g in shares["grids"] if g["code"] != G3)
    assert sum(c["without_contact"] for c in shares["compounds"]) == 3
    page = client_as(write_app, "planner").get("/party").get_data(as_text=True)
    assert f'<tr data-grid="{G3}">' in page and f"（{100 * 3 / total:.0f}%）" in page


def test_a_members_households_for_those_who_may_see_them(write_app):
    code, member_id = sql(write_app, """SELECT pm.code, pm.id FROM party_members pm
        JOIN households h ON h.contact_member_id = pm.id JOIN grids g ON g.id = h.grid_id
        WHERE g.code = :g GROUP BY pm.id ORDER BY pm.code LIMIT 1""", g=G3)[0]
    doors = sql(write_app, "SELECT code FROM households WHERE contact_member_id = :m "
                           "ORDER BY code", m=member_id)
    got = client_as(write_app, "worker3").get(f"/api/party/members/{code}").get_json()
    assert [h["code"] for h in got["households"]] == [d[0] for d in doors]
    # a planner is not turned away: the buildings, each with how many, and no door
    per_building = dict(sql(write_app, """SELECT b.code, count(*) FROM households h
        JOIN buildings b ON b.id = h.building_id WHERE h.contact_member_id = :m
        GROUP BY b.code""", m=member_id))
    planner = client_as(write_app, "planner").get(f"/api/party/members/{code}")
    assert planner.status_code == 200 and planner.get_json()["households"] == []
    assert {b["code"]: b["households"] for b in planner.get_json()["buildings"]} == per_building
    assert {b["code"]: b["households"] for b in got["buildings"]} == per_building
    other = client_as(write_app, "worker1").get(f"/api/party/members/{code}").get_json()
    assert other["households"] == [] and other["buildings"]      # another grid's: no doors
    assert client_as(write_app, "admin").get("/api/party/members/PM-nobody").status_code == 404


def test_branch_areas_hold_their_members_buildings(write_app):
    """Each compound branch's area covers every building its members' contact households live
    in, and its figures add up to the tree's (checked against shapely on the same rows)."""
    import json

    import geopandas as gpd
    from shapely.geometry import shape

    from geodata import party
    from webmap import engine
    with engine(write_app).connect() as conn:
        areas = party.branch_areas(conn, None)
        buildings = gpd.read_postgis("""
            WITH RECURSIVE up AS (
                SELECT id, id AS branch FROM party_organizations WHERE level = 'compound_branch'
                UNION ALL SELECT o.id, up.branch FROM party_organizations o
                JOIN up ON o.parent_id = up.id)
            SELECT DISTINCT br.code AS branch, b.code, b.geom FROM up
            JOIN party_organizations br ON br.id = up.branch
            JOIN party_members pm ON pm.group_id = up.id
            JOIN households h ON h.contact_member_id = pm.id
            JOIN buildings b ON b.id = h.building_id""", conn, geom_col="geom")
    assert len(areas) == 4
    for a in areas:
        hull = shape(json.loads(a["geometry"]))
        mine = buildings[buildings.branch == a["code"]]
        assert len(mine) and mine.geometry.within(hull).all(), a["name"]
    with_contact = sql(write_app, "SELECT count(*) FROM households "
                                  "WHERE contact_member_id IS NOT NULL")[0][0]
    assert sum(a["households"] for a in areas) == with_contact
