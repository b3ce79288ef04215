"""Who is asking, at the edges: a bogus bearer header beside a session cookie does not switch
off CSRF; tokens expire, can be revoked one by one and show when they were last used;
sessions end when idle; wrong Open311 keys are counted and throttled like logins; refusals
speak Chinese and name the allowed methods."""
import re

from sqlalchemy import text

from webmap import engine

from ..conftest import client_as, client_class
from .test_access import POINT3, login

BODY = POINT3 | {"category": "other", "description": "会话测试"}


def logged_in(app, user="worker3"):
    browser = client_as(app, None)
    assert login(browser, user).status_code == 302
    return browser


def csrf_of(browser) -> str:
    page = browser.get("/").get_data(as_text=True)
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def test_a_bogus_bearer_header_beside_a_session_cookie_still_needs_csrf(write_app):
    browser = logged_in(write_app)
    for header in ("Bearer nonsense", "Bearer ", "Bearer slx_not_a_real_token"):
        r = browser.post("/api/incidents", json=BODY, headers={"Authorization": header})
        assert r.status_code == 400, header
        assert "security token is missing" in r.get_json()["error"]
    ok = browser.post("/api/incidents", json=BODY, headers={
        "Authorization": "Bearer nonsense", "X-CSRFToken": csrf_of(browser)})
    assert ok.status_code == 201
    with engine(write_app).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents WHERE description = :d"),
                            {"d": BODY["description"]}).scalar() == 1


def test_a_valid_token_needs_no_csrf(write_app):
    assert client_as(write_app, "worker3").post("/api/incidents", json=BODY).status_code == 201


def test_tokens_expire_list_their_last_use_and_are_revoked_one_by_one(write_app):
    cli = write_app.test_cli_runner()
    first = cli.invoke(args=["users", "token", "worker1", "--days", "30"]).output.strip()
    second = cli.invoke(args=["users", "token", "worker1"]).output.strip()
    assert first.startswith("slx_") and second.startswith("slx_")
    as_first = client_class(first)(write_app, write_app.response_class)
    as_second = client_class(second)(write_app, write_app.response_class)
    assert as_first.get("/api/summary").status_code == 200
    listing = cli.invoke(args=["users", "tokens", "worker1"]).output
    rows = {line.split()[1].rstrip("…"): line for line in listing.splitlines()}
    assert first[:8] in rows and second[:8] in rows, listing
    assert "last used never" not in rows[first[:8]] and "last used never" in rows[second[:8]]
    token_id = rows[first[:8]].split()[0]
    out = cli.invoke(args=["users", "revoke-token", token_id])
    assert out.exit_code == 0 and "worker1" in out.output
    assert as_first.get("/api/summary").status_code == 401     # that one, at once
    assert as_second.get("/api/summary").status_code == 200    # not the other
    assert cli.invoke(args=["users", "revoke-token", token_id]).exit_code != 0
    with engine(write_app).begin() as conn:                     # the second's time runs out
        conn.execute(text("UPDATE api_tokens SET expires_at = now() - interval '1 second' "
                          "WHERE hint = :h"), {"h": second[:8]})
        actions = list(conn.execute(text("SELECT action FROM audit_log WHERE target = "
                                         "'worker1' ORDER BY id")).scalars())
    assert as_second.get("/api/summary").status_code == 401
    assert "EXPIRED" in cli.invoke(args=["users", "tokens", "worker1"]).output
    assert actions[-3:] == ["token.issue", "token.issue", "token.revoke"]


def test_a_token_lives_the_configured_days(write_app):
    write_app.config["TOKEN_DAYS"] = 7
    token = write_app.test_cli_runner().invoke(args=["users", "token", "head3"]).output.strip()
    with engine(write_app).connect() as conn:
        days = conn.execute(text("SELECT extract(epoch FROM expires_at - created_at) / 86400 "
                                 "FROM api_tokens WHERE hint = :h"), {"h": token[:8]}).scalar()
    assert round(days) == 7


def test_an_idle_session_ends(write_app):
    browser = logged_in(write_app)
    assert browser.get("/api/summary").status_code == 200
    with engine(write_app).begin() as conn:    # the worker put the phone away 13 hours ago
        conn.execute(text("UPDATE user_sessions SET last_seen_at = now() - interval '13 hours'"))
    assert browser.get("/api/summary").status_code == 401
    assert browser.get("/tasks").status_code == 302            # back to the login page
    with engine(write_app).connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM user_sessions")).scalar() == 0


def test_a_session_in_use_stays(write_app):
    browser = logged_in(write_app)
    with engine(write_app).begin() as conn:
        conn.execute(text("UPDATE user_sessions SET last_seen_at = now() - interval '11 hours'"))
    assert browser.get("/api/summary").status_code == 200      # and the clock starts again
    with engine(write_app).connect() as conn:
        assert conn.execute(text("SELECT max(now() - last_seen_at) < interval '1 minute' "
                                 "FROM user_sessions")).scalar()


def test_wrong_open311_keys_are_counted_and_throttled_like_logins(write_app):
    write_app.config["OPEN311_API_KEYS"] = {"cityapp": "the-right-key"}
    guesser = client_as(write_app, None)
    guesser.environ_base["REMOTE_ADDR"] = "127.0.0.77"
    form = {"service_code": "other", "lat": "31.2455", "long": "107.4955"}
    codes = [guesser.post("/open311/v2/requests.json", data=form | {"api_key": f"guess{i}"}
                          ).status_code for i in range(21)]
    assert codes[:20] == [403] * 20 and codes[20] == 429
    right = guesser.post("/open311/v2/requests.json", data=form | {"api_key": "the-right-key"})
    assert right.status_code == 429 and right.headers["Retry-After"]
    [error] = right.get_json()                               # in Open311's own shape
    assert error["code"] == 429
    elsewhere = client_as(write_app, None)                   # another address is not held up
    assert elsewhere.post("/open311/v2/requests.json",
                          data=form | {"api_key": "the-right-key"}).status_code == 201
    page = write_app.test_client().get("/admin/audit?action=open311").get_data(as_text=True)
    assert "Open311" in page and "127.0.0.77" in page


def test_a_refusal_does_not_say_where_a_case_lies(write_app):
    admin = write_app.test_client()
    iid = admin.post("/api/incidents", json=BODY).get_json()["id"]      # in the third grid
    r = client_as(write_app, "worker1").post(f"/api/incidents/{iid}/transitions",
                                             json={"to": "registered", "version": 1})
    assert r.status_code == 403
    assert "511702005007003" not in r.get_json()["error"]
    assert "511702005007001" in r.get_json()["error"]                  # its own grid, yes


def test_too_large_is_said_in_chinese(write_app):
    r = client_class(None, language=None)(write_app, write_app.response_class).post(
        "/api/incidents", data=b"x" * (2 * 1024 * 1024), content_type="application/json")
    assert r.status_code == 413
    assert "字节" in r.get_json()["error"], r.get_json()


def test_writes_to_read_only_routes_are_405_with_allow(write_app):
    for who in (client_as(write_app, "admin"), logged_in(write_app), client_as(write_app, None)):
        for method in ("PUT", "DELETE", "PATCH"):
            for path in ("/api/summary", "/api/layers/roads", "/api/incidents/1",
                         "/open311/v2/services.json", "/ogc/collections"):
                r = who.open(path, method=method)
                assert r.status_code == 405, (method, path, r.status_code)
                assert "GET" in r.headers["Allow"], (method, path)
