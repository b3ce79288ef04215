"""the administrative hierarchy above the community: district (6 digits) and subdistrict
(9 digits), by the same codes that begin every community (12) and grid (15) code

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_areas",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(9), nullable=False, unique=True),
        sa.Column("level", sa.String(12), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.CheckConstraint("(level = 'district' AND code ~ '^[0-9]{6}$') OR "
                           "(level = 'subdistrict' AND code ~ '^[0-9]{9}$')",
                           name="admin_areas_code_matches_level"),
    )


def downgrade() -> None:
    op.drop_table("admin_areas")
