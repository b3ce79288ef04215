"""Dispatch to someone, a time limit per step, and what waits on me (/tasks, /api/tasks)."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from tests.conftest import client_as

GRID3 = "511702005007003"
BODY = {"lon": 107.4955, "lat": 31.2455, "category": "sewer_blocked",
        "description": "下水道堵塞"}


def sql(app, statement, **params):
    from webmap import engine
    with engine(app).begin() as conn:
        result = conn.execute(text(statement), params)
        return result.all() if result.returns_rows else None


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def registered(client) -> dict:
    """A case reported (by the admin) and registered by ``client``: whoever reports a case
    does not register it (separation of duties)."""
    iid = client.application.test_client().post("/api/incidents", json=BODY).get_json()["id"]
    return client.post(f"/api/incidents/{iid}/transitions",
                       json={"to": "registered", "version": 1}).get_json()


def test_each_step_gets_its_own_time_limit(write_app):
    head = client_as(write_app, "head3")
    iid = client_as(write_app, "worker3").post("/api/incidents", json=BODY).get_json()["id"]
    limits = dict(sql(write_app, "SELECT state, hours FROM step_limits"))
    category_hours = sql(write_app, "SELECT time_limit_hours FROM incident_categories "
                                    "WHERE service_code = 'sewer_blocked'")[0][0]
    # (state, hours) as the norm table and the category give them, by hand
    expected = [("reported", 2), ("registered", 2), ("dispatched", 4),
                ("in_progress", category_hours), ("handled", 24), ("closed", None)]
    version = 1
    for state, hours in expected:
        if state != "reported":
            extra = {"assignee": "worker3"} if state == "dispatched" else {}
            # the head reported back: someone else verifies and closes
            who = write_app.test_client() if state == "closed" else head
            r = who.post(f"/api/incidents/{iid}/transitions",
                         json={"to": state, "version": version} | extra)
            assert r.status_code == 200, r.get_json()
            version += 1
        item = head.get(f"/api/incidents/{iid}").get_json()
        assert item["state"] == state
        assert limits.get(state) in (None, hours)
        if hours is None:
            assert item["step_deadline"] is None
        else:
            span = at(item["step_deadline"]) - at(item["step_started_at"])
            assert span == timedelta(hours=hours), state
            assert abs(at(item["step_started_at"]) - datetime.now().astimezone()) \
                < timedelta(minutes=1)


def test_dispatch_names_an_account_or_a_unit(write_app):
    head = client_as(write_app, "head3")
    one = registered(head)
    r = head.post(f"/api/incidents/{one['id']}/transitions",
                  json={"to": "dispatched", "version": 2, "assignee": "worker3", "note": "请处理"})
    assert r.status_code == 200
    item = r.get_json()
    assert item["assignee"] == "worker3" and item["unit"] is None
    assert item["events"][-1]["assignee"] == "worker3"
    two = registered(head)
    r = head.post(f"/api/incidents/{two['id']}/transitions",
                  json={"to": "dispatched", "version": 2, "unit": "water-company"})
    item = r.get_json()
    assert item["unit"] == "达州市供排水公司凤北站" and item["unit_phone"] and not item["assignee"]
    # whom the page offers: the grid's staff and the units serving it, the same rule
    choices = head.get(f"/api/incidents/{two['id']}/assignees").get_json()
    assert {a["name"] for a in choices["accounts"]} == {"head3", "worker3"}
    assert "water-company" in {u["code"] for u in choices["units"]}
    # misrouted: back to the register names nobody
    back = head.post(f"/api/incidents/{two['id']}/transitions",
                     json={"to": "registered", "version": 3}).get_json()
    assert back["unit"] is None and back["assignee"] is None


@pytest.mark.parametrize("extra, words", [
    ({}, "assignee_required"),
    ({"assignee": "worker3", "unit": "water-company"}, "assignee_required"),
    ({"assignee": "worker1"}, "not_assignable"),          # another grid's worker
    ({"assignee": "planner"}, "not_assignable"),          # not grid staff
    ({"assignee": "nobody"}, "not_assignable"),
    ({"unit": "elsewhere"}, "not_assignable"),             # serves another community
    ({"unit": "no-such-unit"}, "not_assignable"),
])
def test_a_dispatch_to_no_one_or_the_wrong_one_is_refused(write_app, extra, words):
    sql(write_app, "INSERT INTO units (code, name, kind, area) VALUES "
                   "('elsewhere', '别处物业', 'property', '511702005008') ON CONFLICT DO NOTHING")
    head = client_as(write_app, "head3")
    one = registered(head)
    r = head.post(f"/api/incidents/{one['id']}/transitions",
                  json={"to": "dispatched", "version": 2} | extra)
    assert r.status_code == 422 and r.get_json()["code"] == words
    assert head.get(f"/api/incidents/{one['id']}").get_json()["state"] == "registered"


def test_tasks_list_what_waits_on_me_overdue_first_with_paging(write_app):
    head, worker = client_as(write_app, "head3"), client_as(write_app, "worker3")
    mine = []
    for _ in range(3):
        one = registered(head)
        head.post(f"/api/incidents/{one['id']}/transitions",
                  json={"to": "dispatched", "version": 2, "assignee": "worker3"})
        mine.append(one["id"])
    # the last one's step ran out an hour ago
    sql(write_app, "UPDATE incidents SET step_deadline = now() - interval '1 hour' "
                   "WHERE id = :id", id=mine[-1])
    page = worker.get("/api/tasks?mine=true&limit=2").get_json()
    assert page["total"] == 3 and page["overdue"] == 1
    assert page["items"][0]["id"] == mine[-1] and page["items"][0]["step_overdue"]
    assert [t["id"] for t in page["items"]][1:] == mine[:1]
    rest = worker.get(page["next"]).get_json()
    assert [t["id"] for t in rest["items"]] == mine[1:2] and rest["next"] is None
    # my grid: every open incident of grid 3, the same order rule, equal to SQL's count
    grid = worker.get("/api/tasks?limit=100").get_json()
    open3 = sql(write_app, """SELECT count(*) FROM incidents i JOIN grids g ON g.id = i.grid_id
        WHERE g.code = :g AND i.state IN ('reported', 'registered', 'dispatched',
        'in_progress', 'handled', 'reopened')""", g=GRID3)[0][0]
    assert grid["total"] == open3 and {t["grid_code"] for t in grid["items"]} == {GRID3}
    deadlines = [t["step_deadline"] for t in grid["items"]]
    assert deadlines == sorted(deadlines, key=lambda d: (d is None, d and at(d)))
    # another grid's worker has none of them; planners have no tasks
    assert client_as(write_app, "worker1").get("/api/tasks?mine=true").get_json()["total"] == 0
    assert client_as(write_app, "planner").get("/api/tasks").status_code == 403


def test_the_tasks_page_shows_the_dispatch_and_its_deadline(write_app):
    head, worker = client_as(write_app, "head3"), client_as(write_app, "worker3")
    one = registered(head)
    done = head.post(f"/api/incidents/{one['id']}/transitions",
                     json={"to": "dispatched", "version": 2, "assignee": "worker3"}).get_json()
    page = worker.get("/tasks?mine=1", headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True)
    assert f'data-id="{one["id"]}"' in page and "待接单" in page
    assert f'<time datetime="{done["step_deadline"]}">' in page
    assert 'id="workload"' not in page                 # workers: no workload table
    heads = head.get("/tasks").get_data(as_text=True)
    assert 'id="workload"' in heads and "第三网格" in heads
    # the incident page offers the dispatch to the grid's staff and units
    other = registered(head)
    detail = head.get(f"/incidents/{other['id']}").get_data(as_text=True)
    assert 'value="account:worker3"' in detail and 'value="unit:water-company"' in detail
    assert 'value="account:worker1"' not in detail


def test_workload_per_grid_and_assignee(write_app):
    head = client_as(write_app, "head3")
    one = registered(head)
    head.post(f"/api/incidents/{one['id']}/transitions",
              json={"to": "dispatched", "version": 2, "assignee": "worker3"})
    load = head.get("/api/tasks/workload").get_json()
    assert [g["code"] for g in load["grids"]] == [GRID3]
    grid = load["grids"][0]
    counts = sql(write_app, """SELECT count(*), count(*) FILTER (WHERE i.step_deadline < now()),
        count(*) FILTER (WHERE assignee_id IS NULL AND assignee_unit_id IS NULL)
        FROM incidents i JOIN grids g ON g.id = i.grid_id WHERE g.code = :g AND i.state IN
        ('reported', 'registered', 'dispatched', 'in_progress', 'handled', 'reopened')""",
                 g=GRID3)[0]
    assert (grid["open"], grid["overdue"], grid["not_dispatched"]) == tuple(counts)
    assert {"assignee": "worker3", "kind": "account", "open": 1, "overdue": 0} \
        in load["assignees"]
    assert client_as(write_app, "worker3").get("/api/tasks/workload").status_code == 403
    everything = client_as(write_app, "admin").get("/api/tasks/workload").get_json()
    assert len(everything["grids"]) == 4


def test_only_those_who_may_act_are_offered_the_steps(write_app):
    head = client_as(write_app, "head3")
    one = registered(head)
    own = client_as(write_app, "worker3").get(f"/incidents/{one['id']}").get_data(as_text=True)
    other = client_as(write_app, "worker1").get(f"/incidents/{one['id']}").get_data(as_text=True)
    assert 'id="transition-form"' in own and 'value="account:worker3"' in own
    assert 'id="transition-form"' not in other and "account:" not in other
