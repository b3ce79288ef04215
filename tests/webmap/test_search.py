"""The search box: codes, names (any part, Chinese included) and incident numbers, within what
the account reads; in the browser a hit flies the map to it."""
from sqlalchemy import text


def test_search_finds_each_kind(client, shared_db):
    with shared_db.connect() as conn:
        household = conn.execute(text("SELECT code FROM households ORDER BY code LIMIT 1")).scalar()
        road = conn.execute(text("SELECT name FROM roads WHERE name <> '' ORDER BY code "
                                 "LIMIT 1")).scalar()
        compound = conn.execute(text("SELECT name FROM compounds ORDER BY code LIMIT 1")).scalar()
        incident = conn.execute(text("SELECT min(id) FROM incidents")).scalar()
    hits = client.get(f"/api/search?q={household}").get_json()["results"]
    assert hits[0]["kind"] == "household" and hits[0]["code"] == household
    part = road[1:3]                                   # two characters from inside the name
    hits = client.get(f"/api/search?q={part}").get_json()["results"]
    assert any(h["kind"] == "road" and h["label"] == road for h in hits)
    assert len([h for h in hits if h["label"] == road]) == 1     # one hit per road name
    hits = client.get(f"/api/search?q={compound}").get_json()["results"]
    assert hits[0] == hits[0] | {"kind": "compound", "label": compound}     # exact match first
    hits = client.get(f"/api/search?q={incident}").get_json()["results"]
    assert hits[0]["kind"] == "incident" and hits[0]["code"] == str(incident)
    assert client.get("/api/search?q=%25_").get_json()["results"] == []   # no wildcards
    assert client.get("/api/search?q=").status_code == 400
    shifted = client.get(f"/api/search?q={household}&coord_system=gcj02").get_json()["results"]
    plain = client.get(f"/api/search?q={household}").get_json()["results"][0]
    assert 0.001 < abs(shifted[0]["lon"] - plain["lon"]) < 0.01      # ~500 m east in Dazhou
