"""coverage results shared by every process (geodata.coverage_store): runs per parameter set and
data version, and each household's state in them; UNLOGGED, being derived

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "coverage_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("version", sa.Text(), nullable=False),
        sa.Column("labels", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("budgets_m", postgresql.ARRAY(sa.Float()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
        sa.UniqueConstraint("key", "version", name="coverage_runs_key_version"),
        prefixes=["UNLOGGED"],
    )
    op.create_table(
        "coverage_states",
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("coverage_runs.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("household_id", sa.Integer(), primary_key=True),
        sa.Column("state", sa.SmallInteger(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        prefixes=["UNLOGGED"],
    )


def downgrade() -> None:
    op.drop_table("coverage_states")
    op.drop_table("coverage_runs")
