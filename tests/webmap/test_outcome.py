"""A 503 tells the truth about what was saved. The app talks to the real database through a
proxy (``pgproxy``) that cuts the connection at a chosen statement: before the INSERT reaches
the server (nothing is saved, and the answer says so) or after the server has committed (the
change is saved but its answer is lost: the answer says it may have been saved, and a retry
with the same Idempotency-Key gives the first answer instead of a second incident)."""
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from webmap import create_app

from ..conftest import TOKENS, client_class
from .pgproxy import PgProxy

POINT = {"lon": 107.4955, "lat": 31.2455, "category": "other"}


@pytest.fixture
def proxied(db_url):
    proxy = PgProxy(db_url)
    app = create_app({"DATABASE_URL": proxy.url, "TESTING": True,
                      "OPEN311_API_KEYS": {"cityapp": "k-outcome"}})
    app.test_client_class = client_class(TOKENS["admin"])
    direct = create_engine(db_url, poolclass=NullPool)
    yield app, proxy, direct
    app.extensions["geodata_engine"].dispose()
    direct.dispose()
    proxy.close()


def stored(direct, description: str) -> list[int]:
    with direct.connect() as conn:
        return list(conn.execute(text("SELECT id FROM incidents WHERE description = :d "
                                      "ORDER BY id"), {"d": description}).scalars())


def test_a_commit_whose_answer_is_lost_may_have_saved_and_a_keyed_retry_saves_once(proxied):
    app, proxy, direct = proxied
    client = app.test_client()
    body = POINT | {"description": "提交后断线"}
    proxy.arm("COMMIT", "after")
    r = client.post("/api/incidents", json=body, headers={"Idempotency-Key": "cut-after-1"})
    assert proxy.cuts == 1
    assert r.status_code == 503 and r.headers["Retry-After"]
    answer = r.get_json()
    assert answer["code"] == "outcome_unknown", answer
    assert "may have been saved" in answer["error"] and "Idempotency-Key" in answer["error"]
    assert "nothing was saved" not in answer["error"]
    saved = stored(direct, body["description"])
    assert len(saved) == 1                      # the server did commit
    again = client.post("/api/incidents", json=body, headers={"Idempotency-Key": "cut-after-1"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == saved[0]
    assert stored(direct, body["description"]) == saved   # no second incident


def test_a_connection_lost_before_the_insert_says_nothing_was_saved(proxied):
    app, proxy, direct = proxied
    client = app.test_client()
    body = POINT | {"description": "插入前断线"}
    proxy.arm("INSERT INTO incidents", "before")
    r = client.post("/api/incidents", json=body, headers={"Idempotency-Key": "cut-before-1"})
    assert proxy.cuts == 1 and r.status_code == 503
    assert r.get_json()["code"] == "database_unavailable"
    assert "nothing was saved" in r.get_json()["error"]
    assert stored(direct, body["description"]) == []      # and truly nothing was
    again = client.post("/api/incidents", json=body, headers={"Idempotency-Key": "cut-before-1"})
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert len(stored(direct, body["description"])) == 1


def test_without_a_key_the_answer_says_to_check_first_in_chinese_by_default(proxied):
    app, proxy, direct = proxied
    client = client_class(TOKENS["admin"], language=None)(app, app.response_class)
    proxy.arm("COMMIT", "after")
    r = client.post("/api/incidents", json=POINT | {"description": "无键断线"})
    assert r.status_code == 503 and r.get_json()["code"] == "outcome_unknown"
    message = r.get_json()["error"]
    assert "可能已保存" in message and "未保存任何内容" not in message, message
    assert len(stored(direct, "无键断线")) == 1


def test_open311_gets_the_same_truth_in_its_own_shape(proxied):
    app, proxy, direct = proxied
    client = client_class(None)(app, app.response_class)
    proxy.arm("COMMIT", "after")
    r = client.post("/open311/v2/requests.json", data={
        "api_key": "k-outcome", "service_code": "other", "lat": "31.2455", "long": "107.4955",
        "description": "开放接口断线"}, headers={"Idempotency-Key": "o311-cut"})
    assert r.status_code == 503
    [err] = r.get_json()
    assert err["code"] == 503 and "may have been saved" in err["description"]
    assert len(stored(direct, "开放接口断线")) == 1
    again = client.post("/open311/v2/requests.json", data={
        "api_key": "k-outcome", "service_code": "other", "lat": "31.2455", "long": "107.4955",
        "description": "开放接口断线"}, headers={"Idempotency-Key": "o311-cut"})
    assert again.status_code == 201 and len(stored(direct, "开放接口断线")) == 1


def test_a_read_that_loses_the_database_only_asks_to_try_again(proxied):
    app, proxy, _ = proxied
    client = app.test_client()
    proxy.arm("FROM incidents i", "before")
    r = client.get("/api/incidents")
    assert proxy.cuts == 1 and r.status_code == 503
    assert r.get_json()["code"] == "database_unavailable"
    assert "saved" not in r.get_json()["error"]
    assert client.get("/api/incidents").status_code == 200   # the pool recovers
