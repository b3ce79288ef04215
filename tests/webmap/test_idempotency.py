"""Idempotency-Key on writes: a retried request (same key) gets the first answer and writes
nothing more — also when the first one's answer was lost after its commit, and when both arrive
at once; a key reused for another request is refused."""
import io
import threading

from PIL import Image
from sqlalchemy import text

from webmap import engine

from ..conftest import client_as

POINT = {"lon": 107.4955, "lat": 31.2455, "category": "other", "description": "重试测试"}


def count(app, sql="SELECT count(*) FROM incidents"):
    with engine(app).connect() as conn:
        return conn.execute(text(sql)).scalar()


def test_the_same_key_twice_places_one_incident(write_app):
    client = write_app.test_client()
    before = count(write_app)
    first = client.post("/api/incidents", json=POINT, headers={"Idempotency-Key": "k-1"})
    again = client.post("/api/incidents", json=POINT, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert count(write_app) == before + 1
    other = client.post("/api/incidents", json=POINT, headers={"Idempotency-Key": "k-2"})
    assert other.get_json()["id"] != first.get_json()["id"]            # a new key: a new one
    reused = client.post("/api/incidents", json=POINT | {"description": "另一件事"},
                         headers={"Idempotency-Key": "k-1"})
    assert reused.status_code == 422 and "different request" in reused.get_json()["error"]
    assert client.post("/api/incidents", json=POINT,
                       headers={"Idempotency-Key": "has space"}).status_code == 422
    assert count(write_app) == before + 2


def test_keys_belong_to_their_account(write_app):
    from ..conftest import client_as, client_as
    head = client_as(write_app, "head3")
    mine = head.post("/api/incidents", json=POINT, headers={"Idempotency-Key": "shared"})
    theirs = write_app.test_client().post("/api/incidents", json=POINT,
                                          headers={"Idempotency-Key": "shared"})
    assert mine.status_code == theirs.status_code == 201
    assert mine.get_json()["id"] != theirs.get_json()["id"]


def test_a_write_that_fails_leaves_neither_incident_nor_key(write_app, monkeypatch):
    """The key is stored in the write's own transaction: a request that fails inside it (here
    the connection drops before the answer is built) leaves nothing, and its retry with the same
    key places the incident once. (A request that committed and whose answer was lost is the
    first test's second request: it gets the committed incident.)"""
    from webmap.views import incidents_api
    client = write_app.test_client()
    before = count(write_app)
    real = incidents_api.url_for
    calls = {"n": 0}

    def lost(*args, **kwargs):      # fails once, after place() and before the answer
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionResetError("the connection dropped")
        return real(*args, **kwargs)
    monkeypatch.setattr(incidents_api, "url_for", lost)
    write_app.config["PROPAGATE_EXCEPTIONS"] = True
    try:
        client.post("/api/incidents", json=POINT, headers={"Idempotency-Key": "lost-1"})
    except ConnectionResetError:
        pass
    # nothing was committed for the failed attempt (the key and the incident share the fate)
    assert count(write_app) == before
    retry = client.post("/api/incidents", json=POINT, headers={"Idempotency-Key": "lost-1"})
    assert retry.status_code == 201 and count(write_app) == before + 1
    again = client.post("/api/incidents", json=POINT, headers={"Idempotency-Key": "lost-1"})
    assert again.get_json()["id"] == retry.get_json()["id"] and count(write_app) == before + 1


def test_two_at_once_with_one_key_write_once(write_app):
    before = count(write_app)
    answers = []

    def post():
        answers.append(write_app.test_client().post(
            "/api/incidents", json=POINT, headers={"Idempotency-Key": "race"}))
    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {a.status_code for a in answers} == {201}
    assert len({a.get_json()["id"] for a in answers}) == 1
    assert count(write_app) == before + 1


def test_a_retried_photo_upload_attaches_once(write_app):
    client = write_app.test_client()
    iid = client.post("/api/incidents", json=POINT).get_json()["id"]
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 50, 50)).save(buf, "JPEG")
    for _ in range(2):
        r = client.post(f"/api/incidents/{iid}/photos", headers={"Idempotency-Key": "p-1"},
                        data={"photo": (io.BytesIO(buf.getvalue()), "a.jpg")},
                        content_type="multipart/form-data")
        assert r.status_code == 201
    assert count(write_app, f"SELECT count(*) FROM incident_photos WHERE incident_id = {iid}") == 1
    head = client_as(write_app, "head3")      # not the reporter: it registers
    moved = [head.post(f"/api/incidents/{iid}/transitions", json={"to": "registered",
                                                                 "version": 1},
                       headers={"Idempotency-Key": "t-1"}) for _ in range(2)]
    assert [m.status_code for m in moved] == [200, 200]
    assert moved[1].get_json()["version"] == moved[0].get_json()["version"]


def test_photo_files_are_renamed_into_place_and_orphans_swept(write_app, tmp_path):
    """A photo appears under its name only complete; files no row names (an upload killed
    between its file and its commit) and unfinished ones are swept once old enough."""
    import os
    import time
    write_app.config["MEDIA_DIR"] = str(tmp_path)
    client = write_app.test_client()
    iid = client.post("/api/incidents", json=POINT).get_json()["id"]
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (20, 150, 50)).save(buf, "PNG")
    saved = client.post(f"/api/incidents/{iid}/photos",
                        data={"photo": (io.BytesIO(buf.getvalue()), "b.png")},
                        content_type="multipart/form-data").get_json()["filename"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [saved]      # no temporary left
    orphan, partial = tmp_path / "deadbeef.jpg", tmp_path / "cafe.jpg.part"
    orphan.write_bytes(b"x" * 10)
    partial.write_bytes(b"half")
    old = time.time() - 7200
    for p in (orphan, partial):
        os.utime(p, (old, old))
    fresh = tmp_path / "fresh.jpg"        # an upload still on its way: too young to sweep
    fresh.write_bytes(b"y")
    runner = write_app.test_cli_runner()
    dry = runner.invoke(args=["geodata", "sweep-media", "--dry-run"])
    assert "would remove 2 file(s)" in dry.output and orphan.exists()
    done = runner.invoke(args=["geodata", "sweep-media"])
    assert done.exit_code == 0 and "removed 2 file(s)" in done.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([saved, "fresh.jpg"])
    assert client.get(f"/media/{saved}").status_code == 200
