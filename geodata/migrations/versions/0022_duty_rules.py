"""separation of duties in the closed loop: a step that the person who took an earlier step
of the same case may not take (configurable per step)

Defaults as 数字城管 practice has them: whoever reported a case does not register it (立案),
and whoever reported back on the handling (处理反馈) does not verify and close it (核查结案).

Revision ID: 0022
Revises: 0021
"""
from alembic import op
import sqlalchemy as sa

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

STATES = ("reported", "registered", "dispatched", "in_progress", "handled", "closed",
          "evaluated", "rejected", "duplicate", "reopened")


def upgrade() -> None:
    op.create_table(
        "duty_rules",
        sa.Column("step", sa.Text(), primary_key=True),        # the state moved into
        sa.Column("not_by", sa.Text(), nullable=False),       # whoever last moved it into this
        sa.CheckConstraint(f"step IN {STATES} AND not_by IN {STATES} AND step <> not_by",
                           name="duty_rules_states"),
    )
    op.bulk_insert(sa.table("duty_rules", sa.column("step"), sa.column("not_by")),
                   [{"step": "registered", "not_by": "reported"},
                    {"step": "closed", "not_by": "handled"}])


def downgrade() -> None:
    op.drop_table("duty_rules")
