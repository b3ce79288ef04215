"""API tokens expire and can be told apart (a short, non-secret hint of each); browser sessions
record when they were last used, so that an idle one ends

Tokens issued before this revision expire 180 days after they were issued, the default for new
ones (``accounts.TOKEN_DAYS``).

Revision ID: 0020
Revises: 0019
"""
from alembic import op
import sqlalchemy as sa

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("expires_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE api_tokens SET expires_at = created_at + interval '180 days'")
    op.alter_column("api_tokens", "expires_at", nullable=False)
    op.add_column("api_tokens", sa.Column("hint", sa.String(12)))
    op.add_column("user_sessions", sa.Column("last_seen_at", sa.DateTime(timezone=True),
                                             nullable=False, server_default=sa.func.now()))


def downgrade() -> None:
    op.drop_column("user_sessions", "last_seen_at")
    op.drop_column("api_tokens", "hint")
    op.drop_column("api_tokens", "expires_at")
