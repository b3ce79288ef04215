"""The schema refuses bad data: geometry type, SRID, validity, codes, references."""
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError, IntegrityError, InternalError, ProgrammingError

from geodata.migrate import downgrade, upgrade

BAD = (IntegrityError, DataError, InternalError, ProgrammingError)


def attempt(engine, sql, **params):
    with engine.begin() as conn:
        conn.execute(text(sql), params)


@pytest.mark.parametrize("sql", [
    # a self-intersecting (bow-tie) polygon
    "INSERT INTO parking_lots (code, name, capacity, geom) VALUES ('PKX', 'x', 5, "
    "ST_GeomFromText('POLYGON((107.49 31.24, 107.50 31.25, 107.50 31.24, 107.49 31.25, "
    "107.49 31.24))', 4326))",
    # a point where a polygon belongs
    "INSERT INTO parking_lots (code, name, capacity, geom) VALUES ('PKX', 'x', 5, "
    "ST_GeomFromText('POINT(107.49 31.24)', 4326))",
    # a foreign SRID
    "INSERT INTO facilities (code, name, kind, geom) VALUES ('FX', 'x', 'camera', "
    "ST_GeomFromText('POINT(452000 3458000)', 4545))",
    # an unknown facility kind
    "INSERT INTO facilities (code, name, kind, geom) VALUES ('FX', 'x', 'spaceport', "
    "ST_GeomFromText('POINT(107.49 31.24)', 4326))",
    # an unknown road class
    "INSERT INTO roads (code, name, class, geom) VALUES ('RX', 'x', 'motorway', "
    "ST_GeomFromText('LINESTRING(107.49 31.24, 107.50 31.24)', 4326))",
    # a duplicate code
    "INSERT INTO facilities (code, name, kind, geom) SELECT code, name, kind, geom "
    "FROM facilities LIMIT 1",
    # a grid code that is not 15 digits
    "INSERT INTO grids (code, name, geom) SELECT '5117020050070', 'x', geom FROM grids LIMIT 1",
    # a household in a building that does not exist
    "INSERT INTO households (code, building_id, unit_room, residents, minors, elderly_alone, "
    "party_member, low_income, geom) VALUES ('HX', -1, '1', 1, 0, false, false, false, "
    "ST_GeomFromText('POINT(107.49 31.24)', 4326))",
    # a household of nobody
    "INSERT INTO households (code, building_id, unit_room, residents, minors, elderly_alone, "
    "party_member, low_income, geom) SELECT 'HX', id, '1', 0, 0, false, false, false, "
    "ST_Centroid(geom) FROM buildings LIMIT 1",
    # a second root in the party organisation
    "INSERT INTO party_organizations (code, name, level) VALUES ('POX', 'x', 'building_group')",
])
def test_constraint_refuses(db, sql):
    with db.connect() as conn:
        before = conn.execute(text("SELECT (SELECT count(*) FROM parking_lots) + "
                                   "(SELECT count(*) FROM facilities) + "
                                   "(SELECT count(*) FROM households)")).scalar_one()
    with pytest.raises(BAD):
        attempt(db, sql)
    with db.connect() as conn:
        after = conn.execute(text("SELECT (SELECT count(*) FROM parking_lots) + "
                                  "(SELECT count(*) FROM facilities) + "
                                  "(SELECT count(*) FROM households)")).scalar_one()
    assert after == before


def test_one_gist_index_per_geometry_column(shared_db):
    with shared_db.connect() as conn:
        counts = conn.execute(text("""
            SELECT t.relname, count(*) FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_am am ON am.oid = i.relam
            WHERE am.amname = 'gist' AND t.relnamespace = 'public'::regnamespace
            GROUP BY t.relname""")).all()
    expected = {"community", "grids", "compounds", "buildings", "households", "roads",
                "parking_lots", "facilities", "incidents", "patrols"}
    assert dict(counts) == {name: 1 for name in expected}


def test_migrations_go_down_and_up_again(db_url):
    downgrade(db_url, "base")
    upgrade(db_url)


def test_models_and_migrations_describe_the_same_schema(shared_db):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from geoalchemy2 import alembic_helpers

    from geodata.models import Base
    with shared_db.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": alembic_helpers.include_object})
        assert compare_metadata(context, Base.metadata) == []
