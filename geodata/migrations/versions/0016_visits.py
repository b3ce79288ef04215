"""home visits (走访): who visited which household when, and the rules that make a household due
a visit (elderly living alone every 30 days, low-income households every quarter, …)

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

# defaults, as grid work practice sets them; a community changes the rows
RULES = [("elderly_alone", 30, "独居老人户每月走访"), ("low_income", 90, "低收入户每季度走访"),
         ("with_minors", 180, "有未成年人户每半年走访")]


def upgrade() -> None:
    op.create_table(
        "visits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("household_id", sa.Integer(), sa.ForeignKey("households.id",
                                                               ondelete="CASCADE"),
                  nullable=False),
        sa.Column("visited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("notes", sa.Text()),
        sa.Column("follow_up", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("visitor", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
        sa.CheckConstraint("kind IN ('home', 'phone', 'other')", name="visits_kind"),
    )
    op.create_index("ix_visits_household_visited", "visits", ["household_id", "visited_at"])
    op.create_index("ix_visits_visited_at", "visits", ["visited_at"])
    op.create_table(
        "visit_rules",
        sa.Column("flag", sa.String(24), primary_key=True),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.CheckConstraint("flag IN ('elderly_alone', 'low_income', 'with_minors')",
                           name="visit_rules_flag"),
        sa.CheckConstraint("days > 0", name="visit_rules_days_positive"),
    )
    op.bulk_insert(sa.table("visit_rules", sa.column("flag"), sa.column("days"),
                            sa.column("label")),
                   [{"flag": f, "days": d, "label": label} for f, d, label in RULES])


def downgrade() -> None:
    op.drop_table("visit_rules")
    op.drop_table("visits")
