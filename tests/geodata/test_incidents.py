"""Placing incidents and carrying them through the closed loop, against PostGIS."""
import io
import threading
from collections import deque

import pytest
from PIL import Image
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from geodata import incidents as inc
from geodata.accounts import Account
from geodata.dashboard import stats
from geodata.gcj02 import wgs84_to_gcj02
from geodata.photos import NotAnImage, TooLarge, clean_image
from geodata.workflow import (TRANSITIONS, IllegalTransition, InvalidInput, OutsideCommunity,
                              StaleVersion)

INSIDE = (107.4955, 31.2455)   # in the third grid, among the buildings of 龙溪苑


def new(lon=INSIDE[0], lat=INSIDE[1], category="other", **kw):
    return inc.NewIncident(lon=lon, lat=lat, category=category,
                           description=kw.pop("description", "测试事件"), **kw)


def who(name="测试网格员"):
    """An admin account acting under ``name`` (grid scope is tested in test_scope.py)."""
    return Account(0, name, "admin")


def one(conn, sql, **params):
    return conn.execute(text(sql), params).one()


def test_placement_records_grid_neighbours_and_deadline(db):
    with db.begin() as conn:
        placed = inc.place(conn, new(category="sewer_blocked"), who())
        expected_grid, = one(conn, """
            SELECT code FROM grids WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326))
            """, x=INSIDE[0], y=INSIDE[1])
        row = one(conn, """
            SELECT i.household_id, i.building_id, i.road_id, i.road_distance_m,
                   extract(epoch FROM i.deadline - i.created_at) / 3600,
                   (SELECT h.id FROM households h ORDER BY h.geom::geography <-> i.geom::geography
                    LIMIT 1),
                   (SELECT r.id FROM roads r ORDER BY ST_Distance(r.geom::geography,
                                                                   i.geom::geography) LIMIT 1),
                   (SELECT min(ST_Distance(h.geom::geography, i.geom::geography))
                    FROM households h)
            FROM incidents i WHERE i.id = :id""", id=placed["id"])
    assert placed["grid_code"] == expected_grid and placed["state"] == "reported"
    household, building, road, road_m, hours, nearest_hh, nearest_road, hh_m = row
    assert hours == pytest.approx(72)  # a blocked sewer has 72 hours
    assert hh_m <= 50 and household == nearest_hh and building is not None
    assert road == nearest_road and road_m >= 0


def test_the_nearest_road_is_nearest_in_metres(db):
    """Anywhere in the grids, the road recorded is the geodesically nearest (a search by
    distance in degrees picks a road to the east too often: a degree east is shorter)."""
    with db.begin() as conn:
        spots = conn.execute(text("""
            SELECT ST_X(p.geom), ST_Y(p.geom) FROM (SELECT (ST_Dump(ST_GeneratePoints(
                ST_Union(geom), 40, 11))).geom FROM grids) p""")).all()
        for x, y in spots:
            placed = inc.place(conn, new(lon=x, lat=y), who())
            got, nearest = one(conn, """
                SELECT i.road_distance_m, (SELECT min(ST_Distance(r.geom::geography,
                                                                 i.geom::geography))
                                           FROM roads r)
                FROM incidents i WHERE i.id = :id""", id=placed["id"])
            assert got == pytest.approx(nearest, abs=0.01), (x, y)


def test_outside_the_community_is_refused_and_nothing_saved(db):
    with db.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM incidents")).scalar()
    with pytest.raises(OutsideCommunity, match="outside"):
        with db.begin() as conn:
            inc.place(conn, new(lon=107.40, lat=31.20), who())
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM incidents")).scalar() == before


def test_a_point_on_a_shared_boundary_goes_to_the_lowest_grid_code(db):
    with db.begin() as conn:
        x, y, covered, contained = one(conn, """
            WITH edge AS (SELECT ST_LineMerge(ST_Intersection(a.geom, b.geom)) AS line
                          FROM grids a, grids b
                          WHERE a.code LIKE '%001' AND b.code LIKE '%003'),
                 p AS (SELECT ST_PointN(line, 1) AS geom FROM edge)
            SELECT ST_X(p.geom), ST_Y(p.geom),
                   (SELECT count(*) FROM grids g WHERE ST_Covers(g.geom, p.geom)),
                   (SELECT count(*) FROM grids g WHERE ST_Contains(g.geom, p.geom))
            FROM p""")
        assert covered >= 2 and contained == 0  # truly on the boundary
        placed = [inc.place(conn, new(lon=x, lat=y), who())["grid_code"] for _ in range(3)]
    assert placed == ["511702005007001"] * 3


def test_gcj02_input_is_shifted_back_before_storing(db):
    gx, gy = (float(v) for v in wgs84_to_gcj02(*INSIDE))
    with db.begin() as conn:
        placed = inc.place(conn, new(lon=gx, lat=gy, coord_system="gcj02"), who())
        d, = one(conn, """SELECT ST_Distance(geom::geography,
                              ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography)
                          FROM incidents WHERE id = :id""", x=INSIDE[0], y=INSIDE[1],
                 id=placed["id"])
    assert d < 0.01


@pytest.mark.parametrize("field, value, words", [
    ("description", "  ", "description"), ("description", "x" * 4001, "longer"),
    ("lon", "east", "numbers"), ("lat", 95, "lat"), ("category", "bogus", "unknown category"),
    ("coord_system", "bd09", "coord_system"),
    ("household_code", "HH99999", "no household"), ("building_code", "NOPE", "no building"),
])
def test_bad_fields_are_refused(db, field, value, words):
    kwargs = {field: value}
    with pytest.raises(InvalidInput, match=words):
        with db.begin() as conn:
            inc.place(conn, new(**kwargs), who())


def path_to(state):
    """The shortest list of transitions from 'reported' to ``state``."""
    seen, queue = {"reported": []}, deque(["reported"])
    while queue:
        s = queue.popleft()
        for t in TRANSITIONS[s]:
            if t not in seen:
                seen[t] = seen[s] + [t]
                queue.append(t)
    return seen[state]


UNIT = "longxi-property"          # a sample unit serving the whole community


def drive(conn, incident_id, steps, original):
    """Take ``steps``, each by another person (no one takes two steps of one case, so that
    separation of duties never stands in the way)."""
    version = 1
    for k, to in enumerate(steps):
        out = inc.transition(conn, incident_id, to, who(f"第{k}人"), version=version,
                             rating=5 if to == "evaluated" else None,
                             duplicate_of=original if to == "duplicate" else None,
                             unit=UNIT if to == "dispatched" else None)
        version = out["version"]
    return version


@pytest.mark.parametrize("start, to", [(s, t) for s, ts in TRANSITIONS.items() for t in ts])
def test_every_legal_transition(db, start, to):
    with db.begin() as conn:
        original = inc.place(conn, new(category="public_order"), who())["id"]
        iid = inc.place(conn, new(), who())["id"]
        version = drive(conn, iid, path_to(start), original)
        out = inc.transition(conn, iid, to, who("网格长"), version=version, note="好",
                             rating=4 if to == "evaluated" else None,
                             duplicate_of=original if to == "duplicate" else None,
                             unit=UNIT if to == "dispatched" else None)
        item = inc.get(conn, iid, who())
    assert out["state"] == to and out["version"] == version + 1
    assert item["events"][-1]["from_state"] == start and item["events"][-1]["to_state"] == to
    assert len(item["events"]) == len(path_to(start)) + 2
    if to in ("closed", "rejected", "duplicate"):
        assert item["closed_at"] is not None
    if to == "reopened":
        assert item["closed_at"] is None and item["duplicate_of"] is None


@pytest.mark.parametrize("start, to", [
    ("reported", "closed"), ("reported", "in_progress"), ("registered", "handled"),
    ("in_progress", "closed"), ("closed", "in_progress"), ("evaluated", "closed"),
    ("rejected", "registered"), ("handled", "evaluated"),
])
def test_illegal_transitions_are_refused_and_change_nothing(db, start, to):
    with db.begin() as conn:
        iid = inc.place(conn, new(), who())["id"]
        version = drive(conn, iid, path_to(start), None)
        before = inc.get(conn, iid, who())
        with pytest.raises(IllegalTransition) as err:
            inc.transition(conn, iid, to, who("x"), version=version, rating=3,
                           duplicate_of=iid - 1)
        after = inc.get(conn, iid, who())
    assert err.value.allowed == TRANSITIONS[start]
    assert all(a in str(err.value) for a in TRANSITIONS[start])
    assert after == before


def test_stale_version_is_a_conflict(db):
    with db.begin() as conn:
        iid = inc.place(conn, new(), who())["id"]
        inc.transition(conn, iid, "registered", who("a"), version=1)
        with pytest.raises(StaleVersion, match="version 1 given, now 2"):
            inc.transition(conn, iid, "rejected", who("b"), version=1)


def test_two_workers_at_once_cannot_overwrite_each_other(db_url):
    engine = create_engine(db_url, poolclass=NullPool)
    with engine.begin() as conn:
        iid = inc.place(conn, new(), who())["id"]
    barrier, results = threading.Barrier(2), {}

    def worker(name, to):
        with engine.connect() as conn:
            barrier.wait()
            try:
                with conn.begin():
                    inc.transition(conn, iid, to, who(name), version=1, note=name)
                results[name] = "ok"
            except StaleVersion:
                results[name] = "conflict"

    threads = [threading.Thread(target=worker, args=("甲", "registered")),
               threading.Thread(target=worker, args=("乙", "rejected"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine.connect() as conn:
        item = inc.get(conn, iid, who())
    engine.dispose()
    assert sorted(results.values()) == ["conflict", "ok"]
    winner = next(n for n, r in results.items() if r == "ok")
    assert item["version"] == 2 and len(item["events"]) == 2
    assert item["events"][-1]["actor"] == winner


def test_duplicates_are_offered_within_250_m_of_the_same_category(db):
    with db.begin() as conn:
        a = inc.place(conn, new(category="street_light"), who())["id"]
        far = inc.place(conn, new(lat=INSIDE[1] + 0.0040, category="street_light"), who())["id"]
        other = inc.place(conn, new(category="road_damage"), who())["id"]
        b = inc.place(conn, new(lat=INSIDE[1] + 0.0009, category="street_light"), who())  # ~100 m
        offered = {d["id"]: d["distance_m"] for d in b["possible_duplicates"]}
        closed = inc.place(conn, new(category="street_light"), who())["id"]
        inc.transition(conn, closed, "rejected", who("a"), version=1)
        again = inc.place(conn, new(category="street_light"), who())
    assert a in offered and 80 < offered[a] < 120
    assert far not in offered and other not in offered   # ~340 m from b; another category
    assert closed not in {d["id"] for d in again["possible_duplicates"]}  # closed ones not


def test_linking_a_report_as_a_duplicate_keeps_it(db):
    with db.begin() as conn:
        a = inc.place(conn, new(category="sanitation"), who())["id"]
        b = inc.place(conn, new(category="sanitation", duplicate_of=a), who())
        original = inc.get(conn, a, who())
    assert b["state"] == "duplicate"
    assert any(f"#{b['id']}" in (e["note"] or "") for e in original["events"])


def test_events_cannot_be_changed_or_deleted(db):
    with db.begin() as conn:
        inc.place(conn, new(), who())
    for sql in ("UPDATE incident_events SET note = 'forged'", "DELETE FROM incident_events"):
        with pytest.raises(DBAPIError, match="cannot be changed"):
            with db.begin() as conn:
                conn.execute(text(sql))


def test_the_2021_history_holds_the_articles_figures(shared_db):
    with shared_db.connect() as conn:
        rows = conn.execute(text("""
            SELECT CASE WHEN c.service_code LIKE 'housing%' THEN 'housing'
                        ELSE c.service_code END AS kind,
                   count(*), count(DISTINCT i.grid_id),
                   count(DISTINCT date_trunc('month', i.created_at AT TIME ZONE 'Asia/Shanghai'))
            FROM incidents i JOIN incident_categories c ON c.id = i.category_id
            WHERE i.state IN ('closed', 'evaluated')
              AND i.created_at >= '2021-01-01+08' AND i.created_at < '2022-01-01+08'
            GROUP BY 1""")).all()
        mediated = conn.execute(text("SELECT count(*) FROM mediations")).scalar()
    figures = {kind: (n, grids, months) for kind, n, grids, months in rows}
    assert figures["dispute"][0] >= 120 and figures["dispute"][1] == 4
    assert figures["housing"][0] >= 500 and figures["housing"][1] >= 2
    assert figures["dispute"][2] == 12 and figures["housing"][2] == 12
    assert mediated >= figures["dispute"][0]


def test_mediation_only_for_disputes(db):
    with db.begin() as conn:
        d = inc.place(conn, new(category="dispute"), who())["id"]
        inc.save_mediation(conn, d, {"parties": ["甲", "乙"], "lawyer": "派驻律师",
                                     "sessions": [{"at": "2026-11-01", "note": "首次调解"}],
                                     "agreement": True}, who())
        record = inc.get(conn, d, who())["mediation"]
        with pytest.raises(InvalidInput, match="only disputes"):
            inc.save_mediation(conn, inc.place(conn, new(), who())["id"], {"outcome": "x"}, who())
    assert record["parties"] == ["甲", "乙"] and record["agreement"] is True
    assert record["sessions"][0]["note"] == "首次调解"


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), "red")
    exif = Image.Exif()
    exif[0x0110] = "TestPhone"                       # camera model
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 0.0), 3: "E", 4: (107.0, 29.0, 0.0)}  # GPS IFD
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_photos_lose_their_metadata_and_bad_files_are_refused():
    raw = jpeg_with_gps()
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)
    clean, fmt, w, h = clean_image(raw)
    cleaned = Image.open(io.BytesIO(clean))
    assert (fmt, w, h) == ("JPEG", 64, 48)
    assert not cleaned.getexif() and "exif" not in cleaned.info
    with pytest.raises(TooLarge):
        clean_image(raw, max_bytes=100)
    with pytest.raises(NotAnImage):
        clean_image(b"%PDF-1.4 not a picture")
    gif = io.BytesIO()
    Image.new("RGB", (4, 4)).save(gif, "GIF")
    with pytest.raises(NotAnImage, match="GIF"):
        clean_image(gif.getvalue())


def test_dashboard_figures_match_the_table(shared_db):
    with shared_db.connect() as conn:
        figures = stats(conn, inc.Filters())
        total, overdue = conn.execute(text("""
            SELECT count(*), count(*) FILTER (WHERE state IN ('reported', 'registered',
                   'dispatched', 'in_progress', 'handled', 'reopened') AND deadline < now())
            FROM incidents""")).one()
        grid3 = stats(conn, inc.Filters(grid="511702005007003"))
    assert figures["total"] == total and figures["overdue"] == overdue
    assert sum(figures["by_state"].values()) == total
    assert sum(c["total"] for c in figures["by_category"]) == total
    assert sum(m["reported"] for m in figures["monthly"]) == total
    assert figures["median_hours_to_close"] > 0
    assert grid3["total"] == next(g["total"] for g in figures["by_grid"]
                                  if g["code"] == "511702005007003")
