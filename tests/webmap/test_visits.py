"""Home visits: recorded in one's own grids, due by rule (hand-computed cases), shown on the
task page, a follow-up made an incident in one step."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from tests.conftest import client_as

G3 = "511702005007003"
CST = timezone(timedelta(hours=8))


def sql(app, statement, **params):
    from webmap import engine
    with engine(app).begin() as conn:
        result = conn.execute(text(statement), params)
        return result.all() if result.returns_rows else None


def ago(days: float) -> str:
    return (datetime.now(CST) - timedelta(days=days)).isoformat()


@pytest.fixture
def flagged(write_app):
    """Four households of grid 3 with exactly the flags these cases need, no other flags
    anywhere in the grid, and no visits."""
    sql(write_app, "DELETE FROM visits")              # the sample's illustrative rounds
    codes = [r[0] for r in sql(write_app, """SELECT h.code FROM households h
        JOIN grids g ON g.id = h.grid_id WHERE g.code = :g ORDER BY h.code LIMIT 4""", g=G3)]
    sql(write_app, "UPDATE households SET elderly_alone = false, low_income = false, "
                   "minors = 0")
    sql(write_app, "UPDATE households SET elderly_alone = true WHERE code = ANY(:c)",
        c=codes[:2])
    sql(write_app, "UPDATE households SET low_income = true WHERE code = ANY(:c)",
        c=codes[2:])
    return codes


def visit(client, code, when, **extra):
    return client.post("/api/visits", json={"household_code": code, "visited_at": when,
                                            "kind": "home", "notes": "问候"} | extra)


def test_due_by_rule_hand_computed(write_app, flagged):
    elderly_a, elderly_b, poor_a, poor_b = flagged
    head = client_as(write_app, "head3")
    assert visit(head, elderly_a, ago(31)).status_code == 201     # 30-day rule: due again
    assert visit(head, elderly_b, ago(29)).status_code == 201     # within 30 days: not due
    assert visit(head, poor_a, ago(100)).status_code == 201       # 90-day rule: due
    # poor_b: never visited: due, and listed first; then the longest overdue: poor_a by
    # 100 − 90 = 10 days before elderly_a by 31 − 30 = 1 day
    due = head.get("/api/visits/due").get_json()
    assert [h["household_code"] for h in due["items"]] == [poor_b, poor_a, elderly_a]
    first = due["items"][0]
    assert first["last_visited_at"] is None and first["rules"] == ["low_income"]
    assert due["items"][2]["days_since"] == 31 and due["items"][2]["rules"] == ["elderly_alone"]
    assert {r["flag"]: r["days"] for r in due["rules"]} == {
        "elderly_alone": 30, "low_income": 90, "with_minors": 180}
    # a visit recorded now takes a household off the list at once
    assert visit(head, poor_b, ago(0)).status_code == 201
    after = head.get("/api/visits/due").get_json()
    assert [h["household_code"] for h in after["items"]] == [poor_a, elderly_a]
    page = client_as(write_app, "worker3").get("/tasks", headers={"Accept-Language": "zh-CN"})
    html = page.get_data(as_text=True)
    assert f'data-household="{elderly_a}"' in html and "上次走访 31 天前" in html
    assert f'data-household="{poor_b}"' not in html


def test_visits_stay_in_ones_own_grids(write_app, flagged):
    code = flagged[0]
    worker1 = client_as(write_app, "worker1")
    refused = visit(worker1, code, ago(1))
    assert refused.status_code == 403 and refused.get_json()["code"] == "outside_your_grids"
    assert sql(write_app, "SELECT count(*) FROM visits")[0][0] == 0
    assert client_as(write_app, "planner").get("/api/visits").status_code == 403
    assert worker1.get("/api/visits/due").get_json()["total"] == 0      # no flags in grid 1
    bad = visit(client_as(write_app, "worker3"), code, ago(-2))
    assert bad.status_code == 422 and bad.get_json()["code"] == "future_visit"
    naive = visit(client_as(write_app, "worker3"), code, "2026-11-20T09:00:00")
    assert naive.status_code == 400
    unknown = visit(client_as(write_app, "worker3"), "HH-nope", ago(1))
    assert unknown.status_code == 422 and unknown.get_json()["code"] == "unknown_household"


def test_a_follow_up_becomes_an_incident_at_the_door(write_app, flagged):
    code = flagged[0]
    worker = client_as(write_app, "worker3")
    r = visit(worker, code, ago(0.1), incident_category="housing_leak",
              incident_description="走访发现卫生间漏水")
    assert r.status_code == 201
    made = r.get_json()
    assert made["follow_up"] and made["incident_id"]
    item = worker.get(f"/api/incidents/{made['incident_id']}").get_json()
    assert item["household_code"] == code and item["source"] == "visit"
    door = sql(write_app, "SELECT ST_X(geom), ST_Y(geom) FROM households WHERE code = :c",
               c=code)[0]
    assert abs(item["lon"] - door[0]) < 1e-9 and abs(item["lat"] - door[1]) < 1e-9
    listed = worker.get(f"/api/visits?household={code}").get_json()
    assert listed["total"] == 1 and listed["items"][0]["incident_id"] == made["incident_id"]
    # one step: an incident refused (unknown category) leaves no visit behind
    bad = visit(worker, code, ago(0.1), incident_category="teleport", incident_description="x")
    assert bad.status_code == 422
    assert worker.get(f"/api/visits?household={code}").get_json()["total"] == 1
