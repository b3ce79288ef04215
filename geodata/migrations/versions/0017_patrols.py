"""patrols (巡查): a grid worker's walk as a timed track (M = seconds since 1970), kept as the
walking pieces left after cleaning the GPS (jumps, gaps, rides dropped), with its walking time
and distance

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patrols",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("worker", sa.Text(), nullable=False),
        sa.Column("grid_id", sa.Integer(), sa.ForeignKey("grids.id", ondelete="SET NULL")),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("walking_s", sa.Float(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("dropped", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
        sa.Column("track", Geometry("MULTILINESTRINGM", srid=4326, spatial_index=False),
                  nullable=False),
        sa.CheckConstraint("ended_at >= started_at", name="patrols_time_order"),
    )
    op.create_index("ix_patrols_track", "patrols", ["track"], postgresql_using="gist")
    op.create_index("ix_patrols_grid_started", "patrols", ["grid_id", "started_at"])
    op.create_index("ix_patrols_started_at", "patrols", ["started_at"])


def downgrade() -> None:
    op.drop_table("patrols")
