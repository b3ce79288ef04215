"""What the database derives: each household's and road's grid (triggers), road lengths, and the
derived tables rebuilt when their data changes (``geodata.derived``)."""
import numpy as np
from pyproj import Geod
from sqlalchemy import text

from geodata import derived, queries
from geodata.db import make_engine
from geodata.queries import HOUSEHOLD_GRID

ROAD_MIDPOINT_GRID = """
    SELECT DISTINCT ON (r.id) r.id, g.id AS grid_id
    FROM roads r JOIN grids g ON ST_Covers(g.geom, ST_LineInterpolatePoint(r.geom, 0.5))
    ORDER BY r.id, g.code"""


def assert_grid_ids_follow_the_rule(conn):
    """The stored grid of every household and road equals the spatial rule computed afresh."""
    stored = dict(conn.execute(text("SELECT id, grid_id FROM households")).all())
    rule = dict(conn.execute(text(f"SELECT household_id, grid_id FROM ({HOUSEHOLD_GRID}) x")).all())
    assert stored == {h: rule.get(h) for h in stored}
    stored = dict(conn.execute(text("SELECT id, grid_id FROM roads")).all())
    rule = dict(conn.execute(text(f"SELECT id, grid_id FROM ({ROAD_MIDPOINT_GRID}) x")).all())
    assert stored == {r: rule.get(r) for r in stored}


def test_the_sample_has_every_household_in_its_grid(shared_db):
    with shared_db.connect() as conn:
        assert_grid_ids_follow_the_rule(conn)
        assert conn.execute(text("SELECT count(*) FROM households WHERE grid_id IS NULL")
                            ).scalar() == 0


def test_grid_ids_follow_moves_and_redrawn_grids(db):
    with db.begin() as conn:
        # a household moved across into grid 001, a new one outside every grid, a road moved
        conn.execute(text("""UPDATE households SET geom = (SELECT ST_PointOnSurface(geom)
                             FROM grids WHERE code = '511702005007001')
                             WHERE code = (SELECT min(h.code) FROM households h JOIN grids g
                                           ON g.id = h.grid_id
                                           WHERE g.code = '511702005007003')"""))
        conn.execute(text("""INSERT INTO households (code, building_id, unit_room, residents,
                                                      minors, elderly_alone, party_member,
                                                      low_income, geom)
                             SELECT 'FAR-1', min(id), '1', 1, 0, false, false, false,
                                    ST_SetSRID(ST_MakePoint(100, 20), 4326) FROM buildings"""))
        conn.execute(text("UPDATE roads SET geom = ST_Translate(geom, 0.001, 0) "
                          "WHERE code = (SELECT min(code) FROM roads)"))
        assert_grid_ids_follow_the_rule(conn)
    with db.begin() as conn:
        # grid 001 grows over the whole community (the lowest code wins every overlap) and
        # 002 shrinks to a sliver: everyone is reassigned
        conn.execute(text("""UPDATE grids SET geom = (SELECT ST_Envelope(ST_Collect(geom))
                                                     FROM grids)
                             WHERE code = '511702005007001'"""))
        conn.execute(text("""UPDATE grids SET geom = ST_Buffer(ST_Centroid(geom), 0.0001)
                             WHERE code = '511702005007002'"""))
        assert_grid_ids_follow_the_rule(conn)
        assert conn.execute(text("SELECT count(DISTINCT grid_id) FROM households "
                                 "WHERE code <> 'FAR-1'")).scalar() == 1
    with db.begin() as conn:
        # a new grid with the lowest code takes what it covers; deleted, it gives it back
        conn.execute(text("""INSERT INTO grids (code, name, geom) SELECT '511702005007000',
                             '新网格', ST_Buffer(ST_Centroid(geom), 0.002)
                             FROM grids WHERE code = '511702005007003'"""))
        assert_grid_ids_follow_the_rule(conn)
        assert conn.execute(text("SELECT count(*) FROM households h JOIN grids g ON "
                                 "g.id = h.grid_id WHERE g.code = '511702005007000'")).scalar()
        conn.execute(text("DELETE FROM grids WHERE code = '511702005007000'"))
        assert_grid_ids_follow_the_rule(conn)


def test_road_lengths_are_geodesic(shared_db):
    """Against pyproj's geodesic on the WGS 84 ellipsoid, segment by segment."""
    geod = Geod(ellps="WGS84")
    with shared_db.connect() as conn:
        rows = conn.execute(text("SELECT length_m, ST_AsText(geom) FROM roads")).all()
    import shapely
    for stored, wkt in rows:
        xy = shapely.get_coordinates(shapely.from_wkt(wkt))
        expected = geod.line_length(xy[:, 0], xy[:, 1])
        assert abs(stored - expected) < 1e-6 * max(expected, 1.0)


def test_derived_figures_follow_committed_changes(db):
    """The per-grid figures are rebuilt once after a change, and then read, not recomputed."""
    with db.connect() as conn:
        before = queries.summary(conn)
        assert not derived.ensure(conn, derived.GRID_STATS)        # fresh: nothing to do
    with db.begin() as conn:
        conn.execute(text("""INSERT INTO households (code, building_id, unit_room, residents,
                                                      minors, elderly_alone, party_member,
                                                      low_income, geom)
                             SELECT 'NEW-1', min(id), '1', 3, 0, false, false, false, (SELECT ST_PointOnSurface(geom)
                                    FROM grids WHERE code = '511702005007003')
                             FROM buildings"""))
    with db.connect() as conn:
        after = queries.summary(conn)
        figures = queries.grid_figures(conn, "511702005007003", None)
        direct = conn.execute(text(
            "SELECT count(*), sum(residents) FROM households h JOIN grids g ON g.id = h.grid_id "
            "WHERE g.code = '511702005007003'")).one()
    assert after["households"] == before["households"] + 1
    assert after["residents"] == before["residents"] + 3
    assert (figures["households"], figures["residents"]) == tuple(direct)


def test_one_process_rebuilds_while_others_wait(db_url):
    """Two engines (two workers) find the table stale at once: one rebuilds it."""
    from concurrent.futures import ThreadPoolExecutor
    engines = [make_engine(db_url) for _ in range(4)]
    with engines[0].begin() as conn:
        conn.execute(text("UPDATE households SET residents = residents + 1 "
                          "WHERE code = (SELECT min(code) FROM households)"))

    def ensure(engine):
        with engine.connect() as conn:
            return derived.ensure(conn, derived.HOUSEHOLD_CELLS)
    with ThreadPoolExecutor(4) as pool:
        rebuilt = list(pool.map(ensure, engines))
    assert sorted(rebuilt) == [False, False, False, True]
    with engines[0].connect() as conn:
        levels = conn.execute(text("SELECT z, sum(n) FROM household_cells GROUP BY z")).all()
        total = conn.execute(text("SELECT count(*) FROM households")).scalar()
    assert len(levels) == derived.CELLS_UP_TO_ZOOM + 1
    assert all(n == total for _, n in levels)      # every level counts every household
    for e in engines:
        e.dispose()


def test_cell_margin():
    # a cell of zoom 14 is 2·WORLD / 2^18 ≈ 152.9 m
    assert derived.cell_margin(14, 152) == 1 and derived.cell_margin(14, 153) == 2
    assert np.isclose(2 * derived.WORLD / 2 ** 18, 152.87, atol=0.01)
