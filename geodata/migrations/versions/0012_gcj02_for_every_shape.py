"""wgs84_to_gcj02_shape(geometry): the GCJ-02 display shift for lines and polygons too, so that
roads, buildings and areas can come as shifted vector tiles for Gaode's base map

Lines are shifted vertex by vertex (the same formula as points). Polygons are moved by the shift
of a point on their surface: the shift changes by at most ~4 m per km in China, so a building or
compound is off by well under a metre and a 1 km grid by ~2 m at its far edge — below a pixel at
the zooms where that matters; their rings stay valid.

Revision ID: 0012
Revises: 0011
"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION wgs84_to_gcj02_shape(g geometry) RETURNS geometry
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT CASE GeometryType(g)
            WHEN 'POINT' THEN wgs84_to_gcj02(g)
            WHEN 'LINESTRING' THEN (
                SELECT ST_SetSRID(ST_MakeLine(wgs84_to_gcj02(d.geom) ORDER BY d.path), ST_SRID(g))
                FROM ST_DumpPoints(g) d)
            ELSE (
                SELECT ST_Translate(g, ST_X(s) - ST_X(c), ST_Y(s) - ST_Y(c))
                FROM (SELECT ST_PointOnSurface(g) AS c) p,
                     LATERAL (SELECT wgs84_to_gcj02(p.c) AS s) q)
        END
        $$""")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS wgs84_to_gcj02_shape(geometry)")
