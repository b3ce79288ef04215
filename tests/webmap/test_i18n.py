"""Chinese for people, by default; English on request; a stable code for programs.

Walks every error path the tests can trigger, per way in (JSON API, tiles, pages, OGC API,
Open311), with ``Accept-Language: zh-CN`` and with none, and finds no message without Chinese;
the same requests in English carry no Chinese. The catalogue must translate every message id
the code holds."""
import io
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import client_as

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")
CODE = re.compile(r"^[a-z][a-z_]*$")
INSIDE3 = {"lon": 107.4955, "lat": 31.2455}          # grid 3 (worker3's)
BODY = INSIDE3 | {"category": "sewer_blocked", "description": "下水道堵塞"}


def test_the_catalogue_translates_every_message_id(tmp_path):
    done = subprocess.run([str(ROOT / "scripts/extract-messages"), "--check"], cwd=ROOT,
                          env=os.environ | {"POT": str(tmp_path / "m.pot"),
                                            "BIN": str(Path(os.sys.executable).parent)},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    ids = (tmp_path / "m.pot").read_text().count('\nmsgid "') - 1
    assert ids > 150                # the extraction found the core's and the shell's messages


def _photo() -> bytes:
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (2000, 2000), "red").save(out, "PNG")
    return out.getvalue()


def error_paths(app):
    """(who, method, path, request keywords, expected status): one per error the service
    answers, as a client would meet it."""
    admin, planner = client_as(app, "admin"), client_as(app, "planner")
    worker1, worker3 = client_as(app, "worker1"), client_as(app, "worker3")
    iid = admin.post("/api/incidents", json=BODY).get_json()["id"]
    return [
        # the JSON API
        (client_as(app, None), "get", "/api/incidents", {}, 401),
        (admin, "get", "/api/nope", {}, 404),
        (admin, "delete", "/api/summary", {}, 405),
        (admin, "post", "/api/incidents", {"data": "{oops", "content_type": "application/json"},
         400),
        (admin, "post", "/api/incidents", {"json": [1, 2]}, 400),
        (admin, "post", "/api/incidents", {"json": {"lat": 31.2}}, 400),
        (admin, "post", "/api/incidents", {"json": BODY | {"lon": "东"}}, 400),
        (admin, "post", "/api/incidents", {"json": BODY | {"who": 1}}, 400),
        (admin, "post", "/api/incidents", {"json": BODY | {"lon": 107.40, "lat": 31.20}}, 422),
        (admin, "post", "/api/incidents", {"json": BODY | {"category": "teleport"}}, 422),
        (admin, "post", "/api/incidents", {"json": BODY | {"household_code": "HH0"}}, 422),
        (admin, "post", "/api/incidents", {"json": BODY | {"duplicate_of": 99999999}}, 422),
        (admin, "post", "/api/incidents", {"json": BODY | {"description": "x" * 5000}}, 400),
        (admin, "post", "/api/incidents",
         {"data": "[" * 40 + "]" * 40, "content_type": "application/json"}, 400),
        (admin, "post", "/api/incidents", {"json": BODY,
                                           "headers": {"Idempotency-Key": "has space"}}, 422),
        (worker1, "post", "/api/incidents", {"json": BODY}, 403),
        (planner, "post", f"/api/incidents/{iid}/transitions",
         {"json": {"to": "registered", "version": 1}}, 403),
        (admin, "get", "/api/incidents/99999999", {}, 404),
        (admin, "post", f"/api/incidents/{iid}/transitions",
         {"json": {"to": "closed", "version": 1}}, 409),
        (admin, "post", f"/api/incidents/{iid}/transitions",
         {"json": {"to": "registered", "version": 7}}, 409),
        (admin, "post", f"/api/incidents/{iid}/transitions",
         {"json": {"to": "evaluated", "version": 1}}, 422),
        (admin, "post", f"/api/incidents/{iid}/transitions",
         {"json": {"to": "lost", "version": 1}}, 400),
        (admin, "post", f"/api/incidents/{iid}/photos",
         {"content_type": "multipart/form-data",
          "data": {"photo": (io.BytesIO(b"hello"), "p.jpg")}}, 415),
        (admin, "post", f"/api/incidents/{iid}/photos",
         {"content_type": "multipart/form-data", "data": {"note": "x"}}, 400),
        (admin, "put", f"/api/incidents/{iid}/mediation", {"json": {"parties": []}}, 422),
        (admin, "post", f"/api/incidents/{iid}/mediation", {"json": {}}, 405),
        (admin, "get", "/api/incidents?state=lost", {}, 400),
        (admin, "get", "/api/incidents?area=12", {}, 400),
        (admin, "get", "/api/layers/nope", {}, 404),
        (admin, "get", "/api/layers/roads?bbox=1,2", {}, 400),
        (admin, "get", "/api/search?q=", {}, 400),
        (admin, "get", "/api/coverage?minutes=abc", {}, 400),
        (admin, "get", "/api/coverage?kinds=moon", {}, 422),
        (admin, "get", "/api/coverage/siting?minutes=5&k=two", {}, 400),
        (planner, "get", "/api/coverage/households?grid=511702005007003", {}, 403),
        (admin, "get", "/api/areas/12", {}, 422),
        (worker3, "get", "/api/areas/511702006", {}, 404),
        (admin, "get", "/api/grids/511702005007099", {}, 404),
        (admin, "post", f"/api/incidents/{iid}/transitions",
         {"json": {"to": "dispatched", "version": 1}}, 422),
        (worker3, "get", "/api/tasks/workload", {}, 403),
        (planner, "get", "/api/tasks", {}, 403),
        (worker3, "get", "/api/tasks?limit=500", {}, 400),
        (worker1, "get", f"/api/incidents/{iid}/assignees", {}, 403),
        # tiles
        (client_as(app, None), "get", "/tiles/roads/14/0/0.mvt", {}, 404),
        (admin, "get", "/tiles/roads/30/0/0.mvt", {}, 400),
        (admin, "get", "/tiles/roads/14/0/0.mvt?gcj02=2", {}, 400),
        (planner, "get", "/tiles/coverage/16/0/0.mvt", {}, 403),
        # pages
        (admin, "get", "/grids/511702005007099", {}, 404),
        (admin, "get", "/incidents/99999999", {}, 404),
        (admin, "get", "/?area=12", {}, 400),
        (admin, "get", "/?basemap=moon", {}, 400),
        (admin, "get", "/nowhere", {}, 404),
        (planner, "get", "/admin/audit", {}, 403),
        (planner, "get", "/tasks", {}, 403),
        (admin, "get", "/coverage?page=x", {}, 400),
        (admin, "get", "/coverage?page=99", {}, 404),
        # OGC API and Open311
        (admin, "get", "/ogc/collections/nope", {}, 404),
        (admin, "get", "/ogc/collections?f=xml", {}, 400),
        (admin, "get", "/ogc/collections/grids/items?limit=x", {}, 400),
        (admin, "get", "/ogc/collections/grids/items?bbox=1,2", {}, 400),
        (admin, "get", "/ogc/collections/grids/items/nope", {}, 404),
        (admin, "post", "/open311/v2/requests.json", {"data": {"service_code": "x"}}, 403),
        (admin, "get", "/open311/v2/requests.json?status=maybe", {}, 400),
        (admin, "get", "/open311/v2/requests/99999999.json", {}, 404),
        (admin, "get", "/open311/v2/services.txt", {}, 404),
        (admin, "get", "/open311/v2/nope.xml", {}, 404),
    ]


def message_of(response) -> tuple[str, str | None]:
    """The message for people and the code for programs, whatever the way in."""
    body = response.get_data(as_text=True)
    if response.mimetype == "text/html":
        found = re.search(r'<p class="error" role="alert">(.*?)</p>', body, re.S)
        assert found, body[:300]
        return found.group(1), None
    if response.mimetype == "text/xml":
        return re.search(r"<description>(.*?)</description>", body, re.S).group(1), None
    data = json.loads(body)
    if isinstance(data, list):                                     # Open311 JSON
        return data[0]["description"], None
    if "description" in data:                                      # OGC API
        return data["description"], data["code"]
    return data["error"], data["code"]


@pytest.mark.parametrize("language", ["zh-CN", None])
def test_every_error_speaks_chinese_by_default(write_app, language):
    latin_only = []
    for who, method, path, kwargs, status in error_paths(write_app):
        kwargs = dict(kwargs)
        headers = dict(kwargs.pop("headers", {}))
        headers["Accept-Language"] = language or ""
        r = getattr(who, method)(path, headers=headers, **kwargs)
        assert r.status_code == status, (path, r.status_code, r.get_data(as_text=True)[:300])
        message, code = message_of(r)
        if not CJK.search(message):
            latin_only.append((method, path, message))
        if path.startswith(("/api/", "/tiles/")):
            assert code and CODE.match(code), (path, code)
    assert latin_only == []


def test_english_on_request_with_the_same_codes(write_app):
    for who, method, path, kwargs, status in error_paths(write_app):
        kwargs = dict(kwargs)
        headers = dict(kwargs.pop("headers", {}))
        zh = getattr(who, method)(path, headers=headers | {"Accept-Language": "zh-CN"},
                                  **_again(kwargs))
        en = getattr(who, method)(path, headers=headers | {"Accept-Language": "en-GB,en"},
                                  **_again(kwargs))
        (_, zh_code), (en_text, en_code) = message_of(zh), message_of(en)
        assert zh.status_code == en.status_code and zh_code == en_code, path
        if path.startswith(("/api/", "/tiles/", "/ogc/", "/open311/")):
            assert not CJK.search(en_text), (path, en_text)


def _again(kwargs: dict) -> dict:
    """The same request keywords with fresh file objects (a request reads them once)."""
    data = kwargs.get("data")
    if isinstance(data, dict):
        kwargs = kwargs | {"data": {k: (io.BytesIO(v[0].getvalue()), v[1])
                                    if isinstance(v, tuple) else v for k, v in data.items()}}
    return kwargs


def test_codes_are_stable_names_of_what_went_wrong(write_app):
    worker1, admin = client_as(write_app, "worker1"), client_as(write_app, "admin")
    assert worker1.post("/api/incidents", json=BODY).get_json()["code"] == "outside_your_grids"
    far = admin.post("/api/incidents", json=BODY | {"lon": 107.40, "lat": 31.20}).get_json()
    assert far["code"] == "outside_community"
    iid = admin.post("/api/incidents", json=BODY).get_json()["id"]
    stale = admin.post(f"/api/incidents/{iid}/transitions",
                       json={"to": "registered", "version": 9}).get_json()
    assert stale["code"] == "stale_version" and stale["version"] == 1
    illegal = admin.post(f"/api/incidents/{iid}/transitions", json={"to": "closed", "version": 1},
                         headers={"Accept-Language": "zh-CN"}).get_json()
    # the states by their Chinese names, the legal next steps listed
    assert illegal["code"] == "illegal_transition"
    assert "“已上报”转为“已核查结案”" in illegal["error"] and "已立案、不予立案、重复上报" in illegal["error"]


def test_pages_name_roles_budgets_and_actions_in_chinese(write_app):
    zh = {"Accept-Language": "zh-CN"}
    worker = client_as(write_app, "worker3")
    page = worker.get("/incidents", headers=zh).get_data(as_text=True)
    assert '<span translate="no">worker3</span>（网格员）' in page and "grid_worker" not in page
    coverage = client_as(write_app, "admin").get("/coverage", headers=zh).get_data(as_text=True)
    shown = re.sub(r"<[^>]+>", "", re.sub(r"<script.*?</script>", "", coverage, flags=re.S))
    assert "<td>5 分钟</td>" in coverage and "5min" not in shown
    assert "imperial: false" in coverage          # the scale bar in metres only
