"""cameras' views: direction (degrees from north, clockwise), field of view and range on the
facilities of kind camera (any may be unknown: see geodata/cameras.py for the defaults)

Revision ID: 0018
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("facilities", sa.Column("direction_deg", sa.Float()))
    op.add_column("facilities", sa.Column("fov_deg", sa.Float()))
    op.add_column("facilities", sa.Column("range_m", sa.Float()))
    op.create_check_constraint(
        "facilities_camera_view", "facilities",
        "(direction_deg IS NULL OR direction_deg >= 0 AND direction_deg < 360) AND "
        "(fov_deg IS NULL OR fov_deg > 0 AND fov_deg <= 360) AND "
        "(range_m IS NULL OR range_m > 0 AND range_m <= 500)")


def downgrade() -> None:
    op.drop_constraint("facilities_camera_view", "facilities")
    for column in ("range_m", "fov_deg", "direction_deg"):
        op.drop_column("facilities", column)
