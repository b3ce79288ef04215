"""each household and road segment knows its grid (``grid_id``), kept by triggers, and each road
its geodesic length (``length_m``, a generated column)

Every per-grid figure, scope filter and tile aggregate used to find the grid of each household
with a spatial join at read time: 1.4 s at a million households. The assignment only changes when
a household or road moves or the grids are redrawn, so it is made then:

* a row trigger sets ``grid_id`` when a household or road is written or moved (the grid whose
  polygon covers the door, or the road segment's midpoint; on a shared edge the lowest code);
* a statement trigger on ``grids`` reassigns everything after grids are added, redrawn or
  deleted (one set-based join; rare, and seconds even at a million households).

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# the grid of a point: the lowest code among the grids covering it (a point on a shared edge is
# covered by both)
GRID_OF = """
    CREATE FUNCTION grid_of(p geometry) RETURNS integer LANGUAGE sql STABLE PARALLEL SAFE AS $$
        SELECT id FROM grids WHERE geom && p AND ST_Covers(geom, p) ORDER BY code LIMIT 1
    $$"""

ROW_TRIGGER = """
    CREATE FUNCTION set_grid_id() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.grid_id := grid_of(CASE WHEN TG_TABLE_NAME = 'roads'
                                    THEN ST_LineInterpolatePoint(NEW.geom, 0.5)
                                    ELSE NEW.geom END);
        RETURN NEW;
    END $$"""

# set-based: one spatial join for the whole table (DISTINCT ON keeps the lowest code), and only
# rows whose grid changed are written
REASSIGN = """
    CREATE FUNCTION reassign_grids() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE households h SET grid_id = a.grid_id
        FROM (SELECT h.id, hg.grid_id FROM households h LEFT JOIN (
                  SELECT DISTINCT ON (h.id) h.id, g.id AS grid_id
                  FROM households h JOIN grids g ON ST_Covers(g.geom, h.geom)
                  ORDER BY h.id, g.code) hg ON hg.id = h.id) a
        WHERE a.id = h.id AND h.grid_id IS DISTINCT FROM a.grid_id;
        UPDATE roads r SET grid_id = a.grid_id
        FROM (SELECT r.id, rg.grid_id FROM roads r LEFT JOIN (
                  SELECT DISTINCT ON (r.id) r.id, g.id AS grid_id
                  FROM roads r JOIN grids g
                    ON ST_Covers(g.geom, ST_LineInterpolatePoint(r.geom, 0.5))
                  ORDER BY r.id, g.code) rg ON rg.id = r.id) a
        WHERE a.id = r.id AND r.grid_id IS DISTINCT FROM a.grid_id;
        RETURN NULL;
    END $$"""


def upgrade() -> None:
    for table in ("households", "roads"):
        op.add_column(table, sa.Column("grid_id", sa.Integer(),
                                       sa.ForeignKey("grids.id", ondelete="SET NULL")))
        op.create_index(f"ix_{table}_grid_id", table, ["grid_id"])
    op.execute("ALTER TABLE roads ADD COLUMN length_m double precision "
               "GENERATED ALWAYS AS (ST_Length(geom::geography)) STORED")
    op.execute(GRID_OF)
    op.execute(ROW_TRIGGER)
    op.execute(REASSIGN)
    for table in ("households", "roads"):
        op.execute(f"""CREATE TRIGGER {table}_grid_id BEFORE INSERT OR UPDATE OF geom ON {table}
                       FOR EACH ROW EXECUTE FUNCTION set_grid_id()""")
    op.execute("""CREATE TRIGGER grids_reassign AFTER INSERT OR UPDATE OF geom, code OR DELETE
                  ON grids FOR EACH STATEMENT EXECUTE FUNCTION reassign_grids()""")
    # existing data: assign once
    op.execute("UPDATE households SET grid_id = grid_of(geom)")
    op.execute("UPDATE roads SET grid_id = grid_of(ST_LineInterpolatePoint(geom, 0.5))")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS grids_reassign ON grids")
    for table in ("households", "roads"):
        op.execute(f"DROP TRIGGER IF EXISTS {table}_grid_id ON {table}")
        op.drop_index(f"ix_{table}_grid_id", table_name=table)
        op.drop_column(table, "grid_id")
    op.drop_column("roads", "length_m")
    op.execute("DROP FUNCTION IF EXISTS reassign_grids()")
    op.execute("DROP FUNCTION IF EXISTS set_grid_id()")
    op.execute("DROP FUNCTION IF EXISTS grid_of(geometry)")
