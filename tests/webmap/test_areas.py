"""Figures per level of the administrative hierarchy: district → subdistrict → community →
grid, each the sum of the level below and equal to counting the database directly."""
import pytest
from sqlalchemy import text

COMMUNITY, SUBDISTRICT, DISTRICT = "511702005007", "511702005", "511702"


def direct(conn, prefix):
    return conn.execute(text("""
        SELECT count(*) AS households, coalesce(sum(h.residents), 0) AS residents,
               count(*) FILTER (WHERE h.elderly_alone) AS elderly_alone
        FROM households h JOIN grids g ON g.id = h.grid_id
        WHERE starts_with(g.code, :p)"""), {"p": prefix}).mappings().one()


def test_each_level_sums_the_one_below_and_the_database(client, shared_db):
    top = client.get("/api/areas").get_json()
    assert [c["code"] for c in top["children"]] == [DISTRICT]
    assert top["children"][0]["name"] == "通川区"
    district = client.get(f"/api/areas/{DISTRICT}").get_json()
    assert district["name"] == "通川区" and district["level"] == "district"
    assert [(c["code"], c["name"]) for c in district["children"]] == [(SUBDISTRICT, "凤北街道")]
    sub = client.get(f"/api/areas/{SUBDISTRICT}").get_json()
    assert [(c["code"], c["name"]) for c in sub["children"]] == [(COMMUNITY, "石龙溪社区")]
    community = client.get(f"/api/areas/{COMMUNITY}").get_json()
    assert len(community["children"]) == 4 and community["children"][0]["level"] == "grid"
    with shared_db.connect() as conn:
        for area in (district, sub, community):
            expected = direct(conn, area["code"])
            for key in ("households", "residents", "elderly_alone"):
                assert area["totals"][key] == expected[key]
                assert sum(c[key] for c in area["children"]) == expected[key]
        for grid in community["children"]:
            assert grid["households"] == direct(conn, grid["code"])["households"]
            alone = client.get(f"/api/areas/{grid['code']}").get_json()
            assert alone["level"] == "grid" and alone["children"] == []
            assert alone["totals"]["households"] == grid["households"]
            figures = client.get(f"/api/grids/{grid['code']}").get_json()
            assert grid["road_km"] == pytest.approx(sum(figures["road_km_by_class"].values()),
                                                    abs=0.002)
        open_now = conn.execute(text(
            "SELECT count(*) FROM incidents WHERE state IN ('reported', 'registered', "
            "'dispatched', 'in_progress', 'handled', 'reopened')")).scalar()
    assert community["totals"]["open_incidents"] == open_now
    summary = client.get("/api/summary").get_json()
    assert top["totals"]["households"] == summary["households"]


@pytest.mark.parametrize("code, status", [("5117", 422), ("51170200500x", 422),
                                          ("511703", 404), ("511702005007009", 404)])
def test_bad_area_codes(client, code, status):
    r = client.get(f"/api/areas/{code}")
    assert r.status_code == status and r.get_json()["error"]
