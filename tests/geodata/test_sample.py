"""The illustrative dataset reproduces the seed article's facts, checked in PostGIS."""
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from sqlalchemy import text

from geodata.importer import read_file
from geodata.layers import get_layer
from geodata.sample import DATA_DIR, FILES
from geodata.sample.generate import write

CONTEXT = Path(__file__).resolve().parents[2] / "geodata" / "context"
CJK = re.compile(r"[\u4e00-\u9fff]")


def scalar(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def rows(engine, sql, **params):
    with engine.connect() as conn:
        return conn.execute(text(sql), params).all()


def test_exactly_four_grids_with_15_digit_codes(shared_db):
    codes = [r[0] for r in rows(shared_db, "SELECT code FROM grids ORDER BY code")]
    assert len(codes) == 4
    assert all(re.fullmatch(r"511702005\d{6}", c) for c in codes)


def test_grids_tile_the_community_without_gap_or_overlap(shared_db):
    gap_or_excess = scalar(shared_db, """
        SELECT ST_Area(ST_Transform(ST_SymDifference(
                 (SELECT ST_Union(geom) FROM grids), (SELECT geom FROM community)), 4545))""")
    assert gap_or_excess < 1.0  # m²
    overlap = scalar(shared_db, """
        SELECT coalesce(sum(ST_Area(ST_Transform(ST_Intersection(a.geom, b.geom), 4545))), 0)
        FROM grids a JOIN grids b ON a.code < b.code AND ST_Intersects(a.geom, b.geom)""")
    assert overlap < 1.0
    touching = scalar(shared_db, """
        SELECT count(*) FROM grids a JOIN grids b ON a.code < b.code
        WHERE ST_Relate(a.geom, b.geom, 'F***1****')""")
    assert touching >= 4  # neighbours share edges, not just corners


def test_grids_are_numbered_west_to_east_north_to_south(shared_db):
    centres = rows(shared_db, "SELECT code, ST_X(ST_Centroid(geom)), ST_Y(ST_Centroid(geom)) "
                              "FROM grids ORDER BY code")
    (_, x1, y1), (_, x2, y2), (_, x3, y3), (_, x4, y4) = centres
    assert x1 < x2 and x3 < x4 and min(y1, y2) > max(y3, y4)


def test_each_grid_has_300_to_500_households(shared_db):
    counts = rows(shared_db, """
        SELECT g.code, count(h.id) FROM grids g
        LEFT JOIN households h ON ST_Covers(g.geom, h.geom) GROUP BY g.code""")
    assert len(counts) == 4
    for code, n in counts:
        assert 300 <= n <= 500, (code, n)
    assert scalar(shared_db, "SELECT count(*) FROM households") == sum(n for _, n in counts)


def test_compounds_parking_and_road_lengths(shared_db):
    kinds = dict(rows(shared_db, "SELECT kind, count(*) FROM compounds GROUP BY kind"))
    assert kinds["resettlement_compound"] == 2
    assert kinds["settlement_point"] >= 1
    assert scalar(shared_db, "SELECT count(*) FROM parking_lots") == 2
    km = dict(rows(shared_db, """
        SELECT class, sum(ST_Length(ST_Transform(geom, 4545))) / 1000 FROM roads GROUP BY class"""))
    assert km["group_road"] == pytest.approx(3.5, rel=0.02)
    assert km["oiled_road"] == pytest.approx(1.5, rel=0.02)


def test_roads_form_one_connected_network(shared_db):
    clusters = scalar(shared_db, """
        SELECT count(DISTINCT cid) FROM (SELECT ST_ClusterDBSCAN(geom, 0, 1) OVER () AS cid
                                         FROM roads) t""")
    assert clusters == 1
    # Connected through shared end points, not merely by crossing: the walking graph whose
    # nodes are segment ends must be one component.
    ends = rows(shared_db, """
        SELECT ST_AsText(ST_StartPoint(geom)), ST_AsText(ST_EndPoint(geom)) FROM roads""")
    nodes = {p: i for i, p in enumerate(sorted({p for pair in ends for p in pair}))}
    u = np.array([nodes[a] for a, _ in ends])
    v = np.array([nodes[b] for _, b in ends])
    graph = coo_matrix((np.ones(len(u)), (u, v)), shape=(len(nodes), len(nodes)))
    n_components, _ = connected_components(graph, directed=False)
    assert n_components == 1


def test_every_household_is_within_150_m_of_a_road(shared_db):
    far = scalar(shared_db, """
        SELECT count(*) FROM households h WHERE NOT EXISTS (
            SELECT 1 FROM roads r WHERE ST_DWithin(h.geom::geography, r.geom::geography, 150))""")
    assert far == 0


def test_facilities_of_the_article(shared_db):
    kinds = dict(rows(shared_db, "SELECT kind, count(*) FROM facilities GROUP BY kind"))
    for kind in ("party_service_center", "shared_tool_house", "shared_book_bar",
                 "pump_station", "police_room", "camera"):
        assert kinds.get(kind, 0) >= 1, kind
    assert kinds["party_service_center"] == 1
    assert kinds["activity_venue"] >= 4  # chess, waist drums, square dance, morning exercise
    # the service centre hosts a shared tool house and a shared book bar ...
    beside = rows(shared_db, """
        SELECT DISTINCT s.kind FROM facilities c, facilities s
        WHERE c.kind = 'party_service_center'
          AND s.kind IN ('shared_tool_house', 'shared_book_bar')
          AND ST_DWithin(c.geom::geography, s.geom::geography, 50)""")
    assert len(beside) == 2
    # ... and more sharing spaces sit in the compounds and settlement points
    assert kinds["shared_tool_house"] + kinds["shared_book_bar"] >= 6


def test_chinese_names_for_roads_and_compounds(shared_db):
    names = [r[0] for r in rows(shared_db, "SELECT name FROM roads UNION ALL "
                                           "SELECT name FROM compounds")]
    assert names and all(CJK.search(n) for n in names)


def test_every_household_reaches_the_general_branch_through_its_contact(shared_db):
    chains = rows(shared_db, """
        SELECT h.code, grp.level, br.level, root.level
        FROM households h
        JOIN party_members m ON m.id = h.contact_member_id
        JOIN party_organizations grp ON grp.id = m.group_id
        JOIN party_organizations br ON br.id = grp.parent_id
        JOIN party_organizations root ON root.id = br.parent_id""")
    assert len(chains) == scalar(shared_db, "SELECT count(*) FROM households")
    assert {c[1:] for c in chains} == {("building_group", "compound_branch", "general_branch")}


def test_community_lies_inside_tongchuan_district(shared_db):
    district = read_file(CONTEXT / "tongchuan-511702-gcj02.geojson", get_layer("community"),
                         from_gcj02=True).geometry.iloc[0]
    inside = scalar(shared_db, "SELECT ST_Within(geom, ST_GeomFromText(:wkt, 4326)) "
                               "FROM community", wkt=district.wkt)
    assert inside


def test_generator_is_deterministic_and_matches_the_committed_files(tmp_path):
    write(tmp_path)
    for name in FILES.values():
        assert (tmp_path / name).read_bytes() == (DATA_DIR / name).read_bytes(), name


def test_the_sample_carries_illustrative_rounds(shared_db):
    with shared_db.connect() as conn:
        visits, visited, flagged = conn.execute(text("""
            SELECT (SELECT count(*) FROM visits), (SELECT count(DISTINCT household_id)
            FROM visits), (SELECT count(*) FROM households
            WHERE elderly_alone OR low_income OR minors > 0)""")).one()
        walks = conn.execute(text("""SELECT g.code, count(p.id), min(p.distance_m),
            bool_and(ST_NumGeometries(p.track) >= 1) FROM grids g
            LEFT JOIN patrols p ON p.grid_id = g.id GROUP BY g.code""")).all()
    # visits to most flagged households, some never visited (they lead the due lists)
    assert 0.5 * flagged < visited < flagged and visits >= visited
    # every grid walked two or three times a week for three weeks
    assert len(walks) == 4 and all(6 <= n <= 9 and d > 50 and ok for _, n, d, ok in walks)


def test_the_illustrative_cases_name_their_door_building_and_nearest_road(shared_db):
    """Like a placed report, each case of the sample's history names the nearest road in metres
    and the nearest door of its grid within 50 m (cases on a road or a car park may have none),
    both checked by brute force over every road and household, geodesic."""
    with shared_db.connect() as conn:
        rows = conn.execute(text("""
            SELECT i.road_id, i.road_distance_m, i.household_id, i.building_id,
                   (SELECT r.id FROM roads r
                    ORDER BY ST_Distance(r.geom::geography, i.geom::geography), r.id
                    LIMIT 1) AS nearest_road,
                   (SELECT min(ST_Distance(r.geom::geography, i.geom::geography))
                    FROM roads r) AS nearest_road_m,
                   (SELECT h.id FROM households h
                    WHERE h.grid_id = i.grid_id
                      AND ST_Distance(h.geom::geography, i.geom::geography) <= 50
                    ORDER BY ST_Distance(h.geom::geography, i.geom::geography), h.id
                    LIMIT 1) AS nearest_door
            FROM incidents i WHERE i.source = 'web'""")).mappings().all()
    assert len(rows) > 500
    assert all(r["road_id"] == r["nearest_road"] for r in rows)
    assert all(abs(r["road_distance_m"] - r["nearest_road_m"]) < 1e-6 for r in rows)
    assert all(r["household_id"] == r["nearest_door"] for r in rows)
    assert sum(r["household_id"] is not None for r in rows) > 0.9 * len(rows)
    assert all(r["building_id"] is not None for r in rows if r["household_id"] is not None)
