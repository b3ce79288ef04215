"""server-side sessions; reporters' names out of the incidents' public fields

Revision ID: 0005
Revises: 0004

A session cookie now carries only the id of a row in ``user_sessions`` (stored as its SHA-256),
so that logging out or deactivating an account ends the session on every worker at once.

Open311 reports used to put the reporter's name into ``reported_by`` (and so into the first
event's ``actor``), where every account could read it. The name belongs in ``contact``, which the
privacy policy shows only to admins and the incident's own grid staff.
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'user_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_sha256'))
    op.create_index(op.f('ix_user_sessions_user_id'), 'user_sessions', ['user_id'],
                    unique=False)
    # login failures are counted from the audit log, per account and per address; the new
    # index serves the action filters too, so the old one only slowed every write
    op.create_index('ix_audit_log_action_at', 'audit_log', ['action', 'at'], unique=False)
    op.drop_index('ix_audit_log_action', table_name='audit_log')
    # the history is append-only for everyone else; this one-off correction is itself noted
    op.execute("ALTER TABLE incident_events DISABLE TRIGGER incident_events_immutable")
    op.execute("""
        UPDATE incidents SET
            contact = concat_ws('; ', 'name=' || split_part(reported_by, '：', 2), contact),
            reported_by = split_part(reported_by, '：', 1)
        WHERE source = 'open311' AND position('：' IN reported_by) > 0""")
    op.execute("""
        UPDATE incident_events e SET actor = split_part(e.actor, '：', 1)
        FROM incidents i
        WHERE i.id = e.incident_id AND i.source = 'open311' AND position('：' IN e.actor) > 0""")
    op.execute("ALTER TABLE incident_events ENABLE TRIGGER incident_events_immutable")


def downgrade() -> None:
    op.create_index('ix_audit_log_action', 'audit_log', ['action'], unique=False)
    op.drop_index('ix_audit_log_action_at', table_name='audit_log')
    op.drop_index(op.f('ix_user_sessions_user_id'), table_name='user_sessions')
    op.drop_table('user_sessions')
