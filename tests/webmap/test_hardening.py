"""Limits, sessions, grid scope of writes, audit of every write path, and bad input: each a
hole that was open, tried from the outside."""
import io
import json
from pathlib import Path
import re
import subprocess
import sys

import pytest
from sqlalchemy import text

from webmap import ConfigError, create_app, engine, parse_api_keys

from ..conftest import client_as
from .test_access import login

G3, G1 = "511702005007003", "511702005007001"
POINT3 = {"lon": 107.4955, "lat": 31.2455}


def count(app, sql, **params):
    with engine(app).connect() as conn:
        return conn.execute(text(sql), params).scalar()


def place(client, **fields):
    return client.post("/api/incidents", json=POINT3 | {"category": "other",
                                                        "description": "x"} | fields)


# ---- grid scope of writes, inside the core ----

def test_a_worker_cannot_touch_another_grids_incident_through_duplicate_of(write_app):
    admin = write_app.test_client()
    g3 = place(admin).get_json()["id"]
    worker1 = client_as(write_app, "worker1")
    events = count(write_app, "SELECT count(*) FROM incident_events WHERE incident_id = :i", i=g3)
    grid1_point = {"lon": 107.4915, "lat": 31.2525}
    with engine(write_app).connect() as conn:
        assert conn.execute(text("SELECT code FROM grids WHERE ST_Covers(geom, "
                                 "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"),
                            grid1_point).scalar() == G1
    r = place(worker1, duplicate_of=g3, **grid1_point)
    assert r.status_code == 403 and "duplicate_of" in r.get_json()["error"]
    assert count(write_app, "SELECT count(*) FROM incident_events WHERE incident_id = :i",
                 i=g3) == events
    # marking one's own incident a duplicate of another grid's: refused too
    own = place(worker1, **grid1_point).get_json()["id"]
    r = worker1.post(f"/api/incidents/{own}/transitions",
                     json={"to": "duplicate", "version": 1, "duplicate_of": g3})
    assert r.status_code == 403


def test_a_household_or_building_of_another_grid_is_refused(write_app):
    with engine(write_app).connect() as conn:
        hh1, b1 = conn.execute(text("""
            SELECT h.code, b.code FROM households h JOIN buildings b ON b.id = h.building_id
            JOIN grids g ON ST_Covers(g.geom, h.geom) WHERE g.code = :g LIMIT 1"""),
            {"g": G1}).one()
    worker3 = client_as(write_app, "worker3")
    before = count(write_app, "SELECT count(*) FROM incidents")
    for field, code in (("household_code", hh1), ("building_code", b1)):
        r = place(worker3, **{field: code})
        assert r.status_code == 422 and field in r.get_json()["error"], r.get_json()
    assert count(write_app, "SELECT count(*) FROM incidents") == before


# ---- every write path writes one audit row, in the core ----

def test_every_write_path_writes_one_audit_entry(write_app, tmp_path):
    from ..webmap.test_incidents_api import photo_bytes
    write_app.config["OPEN311_API_KEYS"] = {"cityapp": "k"}
    worker3 = client_as(write_app, "worker3")

    def audited(action, do):
        before = count(write_app, "SELECT count(*) FROM audit_log WHERE action = :a", a=action)
        result = do()
        after = count(write_app, "SELECT count(*) FROM audit_log WHERE action = :a", a=action)
        assert after == before + 1, action
        return result

    iid = audited("incident.create", lambda: place(worker3, category="dispute").get_json()["id"])
    audited("incident.create", lambda: client_as(write_app, None).post(
        "/open311/v2/requests.json", data={"api_key": "k", "service_code": "other",
                                           "lat": "31.2455", "long": "107.4955"}))
    audited("incident.transition", lambda: client_as(write_app, "head3").post(
        f"/api/incidents/{iid}/transitions", json={"to": "registered", "version": 1}))
    audited("incident.photo", lambda: worker3.post(
        f"/api/incidents/{iid}/photos", content_type="multipart/form-data",
        data={"photo": (io.BytesIO(photo_bytes()), "p.jpg")}))
    audited("incident.mediation", lambda: worker3.put(
        f"/api/incidents/{iid}/mediation", json={"outcome": "和解"}))
    browser = client_as(write_app, None)
    audited("login.ok", lambda: login(browser, "head3"))
    audited("logout", lambda: logout(browser))
    runner = write_app.test_cli_runner()
    audited("user.create", lambda: runner.invoke(
        args=["users", "create", "auditee", "--role", "planner", "--password-stdin"],
        input="a long password\n"))
    audited("token.issue", lambda: runner.invoke(args=["users", "token", "auditee"]))
    audited("user.deactivate", lambda: runner.invoke(args=["users", "deactivate", "auditee"]))
    # a refused write leaves no audit entry and no row
    before = count(write_app, "SELECT count(*) FROM audit_log")
    assert client_as(write_app, "worker1").post(
        f"/api/incidents/{iid}/transitions",
        json={"to": "dispatched", "version": 2, "unit": "water-company"}).status_code == 403
    assert count(write_app, "SELECT count(*) FROM audit_log") == before


# ---- sessions ----

def logout(client):
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    return client.post("/logout", data={"csrf_token": token})


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_a_session_cookie_dies_with_logout_and_with_deactivation(write_app):
    browser = client_as(write_app, None)
    r = login(browser, "worker3")
    assert r.status_code == 302
    set_cookie = r.headers["Set-Cookie"]
    assert "SameSite=Lax" in set_cookie and "HttpOnly" in set_cookie
    stolen = session_cookie(browser)
    assert logout(browser).status_code == 302
    thief = client_as(write_app, None)
    thief.set_cookie("session", stolen)
    assert thief.get("/api/summary").status_code == 401
    # deactivation ends every session of the account
    browser = client_as(write_app, None)
    login(browser, "head3")
    assert browser.get("/api/summary").status_code == 200
    write_app.test_cli_runner().invoke(args=["users", "deactivate", "head3"])
    assert browser.get("/api/summary").status_code == 401


def test_login_limits_count_per_account_and_address_behind_a_proxy(write_app):
    write_app.config["PROXY_COUNT"] = 1
    from werkzeug.middleware.proxy_fix import ProxyFix
    write_app.wsgi_app = ProxyFix(write_app.wsgi_app, x_for=1)

    def from_(addr):
        c = client_as(write_app, None)
        c.environ_base["HTTP_X_FORWARDED_FOR"] = addr
        return c

    attacker = from_("203.0.113.7")
    codes = [login(attacker, "worker3", "guess guess guess").status_code for _ in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429
    # the right password from the attacker's address is refused while the limit holds ...
    assert login(attacker, "worker3").status_code == 429
    # ... but the account's owner elsewhere, and other users at the attacker's address, log in
    assert login(from_("198.51.100.2"), "worker3").status_code == 302
    assert login(from_("203.0.113.7"), "worker1").status_code == 302
    rows = count(write_app, "SELECT count(DISTINCT target) FROM audit_log "
                            "WHERE action LIKE 'login.%'")
    assert rows >= 2    # the proxy's client addresses, not 127.0.0.1 for everyone


# ---- body limits, measured before reading ----

class CountingStream(io.RawIOBase):
    """A body of ``size`` bytes that counts how many of them the server read."""

    def __init__(self, size):
        self.size, self.pos, self.read_bytes = size, 0, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, offset, whence=0):
        self.pos = self.size if whence == 2 else offset
        return self.pos

    def readinto(self, buffer):
        n = min(len(buffer), self.size - self.pos)
        buffer[:n] = b"x" * n
        self.pos += n
        self.read_bytes += n
        return n


@pytest.mark.parametrize("user, path, size, ctype", [
    (None, "/api/incidents/1/photos", 200 * 2**20, "multipart/form-data; boundary=xyz"),
    ("admin", "/api/incidents/1/photos", 9 * 2**20, "multipart/form-data; boundary=xyz"),
    ("admin", "/api/incidents", 150 * 2**20, "application/json"),
    ("admin", "/api/incidents", 2 * 2**20, "application/json"),
    (None, "/open311/v2/requests.json", 50 * 2**20, "application/x-www-form-urlencoded"),
])
def test_oversized_bodies_are_refused_unread(write_app, user, path, size, ctype):
    stream = CountingStream(size)
    r = client_as(write_app, user).post(path, input_stream=stream, content_length=size,
                                        content_type=ctype)
    assert r.status_code == 413
    assert stream.read_bytes < 64 * 1024


def test_a_body_just_under_the_json_limit_is_read(write_app):
    body = json.dumps(POINT3 | {"category": "other", "description": "x" * 4000}) + (
        " " * (900 * 1024))
    assert write_app.test_client().post("/api/incidents", data=body,
                                        content_type="application/json").status_code == 201


# ---- no 500 from input ----

@pytest.mark.parametrize("path", ["/public/incidents?category=nosuch",
                                  "/incidents?since=2030-01-01", "/incidents?category=nosuch",
                                  "/dashboard?since=2030-01-01",
                                  "/api/public/incidents?category=nosuch"])
def test_filters_that_match_nothing_render_empty(client, path):
    r = client.get(path)
    assert r.status_code == 200


def test_a_page_filter_the_schema_refuses_is_a_400_naming_it(client):
    r = client.get("/incidents?state=lost")
    assert r.status_code == 400 and "state" in r.get_data(as_text=True)
    assert client.get("/incidents?state=&category=&since=").status_code == 200   # form blanks


@pytest.mark.parametrize("table", ["compounds", "parking_lots", "facilities", "buildings"])
def test_empty_layers_render_an_empty_map(write_app, table):
    with engine(write_app).begin() as conn:
        if table in ("buildings", "compounds"):
            conn.execute(text("UPDATE incidents SET household_id = NULL, building_id = NULL"))
            conn.execute(text("DELETE FROM households"))
            conn.execute(text("DELETE FROM buildings"))
        conn.execute(text(f"DELETE FROM {table}"))
    for path in ("/", f"/grids/{G3}"):
        assert write_app.test_client().get(path).status_code == 200


def test_a_map_with_nothing_at_all_renders(write_app):
    with engine(write_app).begin() as conn:
        conn.execute(text("TRUNCATE incidents, households, buildings, compounds, roads, "
                          "parking_lots, facilities, grid_staff, grids CASCADE"))
    client = write_app.test_client()
    for path in ("/", "/incidents", "/public/incidents", "/dashboard"):
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("body, field", [
    ({"building_code": True}, "building_code"),
    ({"household_code": 123}, "household_code"),
    ({"duplicate_of": 1e400}, "duplicate_of"),
    ({"lon": 1e400}, "lon"),
    ({"coord_system": {"a": 1}}, "coord_system"),
    ({"category": ["other"]}, "category"),
])
def test_bad_values_are_400s_naming_the_field(write_app, body, field):
    r = place(write_app.test_client(), **body)
    assert r.status_code == 400 and field in r.get_json()["error"], r.get_json()


@pytest.mark.parametrize("raw, field", [
    ('{"to": "evaluated", "version": 1, "rating": 1e400}', "rating"),
    ('{"to": "registered", "version": 1e400}', "version"),
    ('{"to": "registered", "version": 1, "note": {}}', "note"),
    ('{"to": {}, "version": 1}', "to"),
    ('{"to": "registered", "version": 1, "photos": [true]}', "photos"),
])
def test_bad_transition_values_are_400s(write_app, raw, field):
    admin = write_app.test_client()
    iid = place(admin).get_json()["id"]
    r = admin.post(f"/api/incidents/{iid}/transitions", data=raw,
                   content_type="application/json")
    assert r.status_code == 400 and field in r.get_json()["error"], r.get_json()


def test_a_lone_surrogate_is_a_400(write_app):
    raw = json.dumps(POINT3 | {"category": "other", "description": "坏\ud800字"})
    assert "\\ud800" in raw
    r = write_app.test_client().post("/api/incidents", data=raw, content_type="application/json")
    assert r.status_code == 400 and "Unicode" in r.get_json()["error"]


def test_deep_json_is_a_400(write_app):
    deep = '{"a": ' * 100_000 + "1" + "}" * 100_000
    r = write_app.test_client().post("/api/incidents", data=deep,
                                     content_type="application/json")
    assert r.status_code == 400 and "deep" in r.get_json()["error"]


# ---- configuration ----

@pytest.mark.parametrize("raw", ["cityapp", "cityapp:k1,justakey", ":k", "a:k,a:k2", "a:"])
def test_malformed_open311_keys_stop_the_app(raw):
    with pytest.raises(ConfigError, match="OPEN311_API_KEYS"):
        parse_api_keys(raw)


def test_malformed_open311_keys_are_one_line_at_startup(shared_db_url):
    env = {"OPEN311_API_KEYS": "cityapp", "DATABASE_URL": shared_db_url, "PATH": "/usr/bin"}
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "users", "status"],
                         env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "OPEN311_API_KEYS" in out.stderr and "Traceback" not in out.stderr


def test_good_open311_keys_parse():
    assert parse_api_keys(" a:k1 , b:k:2 ,") == {"a": "k1", "b": "k:2"}
    assert create_app({"TESTING": True}).config["MAX_CONTENT_LENGTH"] == 1024 * 1024


def test_no_database_configured_is_one_line(tmp_path):
    """Outside a checkout that ran `make run`, with no DATABASE_URL: one line, no traceback."""
    env = {"PATH": "/usr/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
           "GEODATA_LOCAL_URL_FILE": str(tmp_path / "none")}
    out = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "users", "status"],
                         env=env, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 1
    assert "No database configured" in out.stderr and "Traceback" not in out.stderr
