"""wgs84_to_gcj02(geometry): the GCJ-02 display shift for points, in SQL, so that vector tiles
for Gaode's base map are shifted where they are made (the same published formula as
geodata/gcj02.py, which the tests hold it to)

Revision ID: 0007
Revises: 0006
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION wgs84_to_gcj02(g geometry) RETURNS geometry
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT CASE
            WHEN GeometryType(g) <> 'POINT' OR lon < 72.004 OR lon > 137.8347
                 OR lat < 0.8293 OR lat > 55.8271 THEN g
            ELSE ST_SetSRID(ST_MakePoint(
                lon + (dlon * 180.0) / (6378245.0 / sqrt(magic) * cos(rad) * pi()),
                lat + (dlat * 180.0) / ((6378245.0 * (1 - 0.00669342162296594323))
                                        / (magic * sqrt(magic)) * pi())), ST_SRID(g))
        END
        FROM (SELECT ST_X(g) AS lon, ST_Y(g) AS lat) p,
        LATERAL (SELECT p.lon - 105.0 AS x, p.lat - 35.0 AS y,
                        p.lat / 180.0 * pi() AS rad) q,
        LATERAL (SELECT
            -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(abs(x))
              + (20.0 * sin(6.0 * x * pi()) + 20.0 * sin(2.0 * x * pi())) * 2.0 / 3.0
              + (20.0 * sin(y * pi()) + 40.0 * sin(y / 3.0 * pi())) * 2.0 / 3.0
              + (160.0 * sin(y / 12.0 * pi()) + 320 * sin(y * pi() / 30.0)) * 2.0 / 3.0
              AS dlat,
            300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(abs(x))
              + (20.0 * sin(6.0 * x * pi()) + 20.0 * sin(2.0 * x * pi())) * 2.0 / 3.0
              + (20.0 * sin(x * pi()) + 40.0 * sin(x / 3.0 * pi())) * 2.0 / 3.0
              + (150.0 * sin(x / 12.0 * pi()) + 300.0 * sin(x / 30.0 * pi())) * 2.0 / 3.0
              AS dlon,
            1 - 0.00669342162296594323 * sin(rad) ^ 2 AS magic) r
        $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS wgs84_to_gcj02(geometry)")
