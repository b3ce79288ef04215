"""road grades and provenance: OSM way id, layer, bridge, tunnel, how crossings are noded;
names optional (most OpenStreetMap ways have none)

``noding`` says which crossings of a road are junctions (geodata/network.py):
'planar' — any crossing with another planar road at the same grade (hand-drawn survey lines
that carry no topology); 'vertices' — only shared vertices and ends lying on a way at the same
grade (OpenStreetMap, where ways join only at shared nodes). Existing roads were drawn by hand,
so they stay 'planar'.

Revision ID: 0019
Revises: 0018
"""
from alembic import op
import sqlalchemy as sa

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("roads", "name", nullable=True)
    op.add_column("roads", sa.Column("osm_id", sa.BigInteger()))
    op.create_unique_constraint("roads_osm_id_key", "roads", ["osm_id"])
    op.add_column("roads", sa.Column("layer", sa.SmallInteger(), nullable=False,
                                     server_default="0"))
    op.add_column("roads", sa.Column("bridge", sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.add_column("roads", sa.Column("tunnel", sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.add_column("roads", sa.Column("noding", sa.String(8), nullable=False,
                                     server_default="planar"))
    op.create_check_constraint("roads_layer_range", "roads", "layer BETWEEN -5 AND 5")
    op.create_check_constraint("roads_noding", "roads", "noding IN ('planar', 'vertices')")


def downgrade() -> None:
    op.drop_constraint("roads_noding", "roads")
    op.drop_constraint("roads_layer_range", "roads")
    for column in ("noding", "tunnel", "bridge", "layer"):
        op.drop_column("roads", column)
    op.drop_constraint("roads_osm_id_key", "roads")
    op.drop_column("roads", "osm_id")
    op.execute("UPDATE roads SET name = code WHERE name IS NULL")
    op.alter_column("roads", "name", nullable=False)
