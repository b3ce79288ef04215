"""derived tables, rebuilt when their data changes (geodata.derived): per-grid figures and the
household counts per cell that low-zoom tiles draw

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "derived_versions",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("versions", postgresql.JSONB(), nullable=False),
        sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
    )
    # grid_id 0 stands for "outside every grid": no foreign key
    op.create_table(
        "grid_stats",
        sa.Column("grid_id", sa.Integer(), primary_key=True),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("residents", sa.Integer(), nullable=False),
        sa.Column("elderly_alone", sa.Integer(), nullable=False),
        sa.Column("with_minors", sa.Integer(), nullable=False),
        sa.Column("low_income", sa.Integer(), nullable=False),
        sa.Column("road_m_by_class", postgresql.JSONB(), nullable=False),
    )
    op.create_table(
        "household_cells",
        sa.Column("z", sa.SmallInteger(), primary_key=True),
        sa.Column("x", sa.Integer(), primary_key=True),
        sa.Column("y", sa.Integer(), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("sx", sa.Float(), nullable=False),
        sa.Column("sy", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    for table in ("household_cells", "grid_stats", "derived_versions"):
        op.drop_table(table)
