"""data versions for buildings, compounds and parking lots too, so that their vector tiles can
be cached by version like the other layers' (incidents change too often: not tracked)

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

MORE = ("buildings", "compounds", "parking_lots")


def upgrade() -> None:
    for table in MORE:
        op.execute(f"INSERT INTO data_versions (layer) VALUES ('{table}') "
                   "ON CONFLICT (layer) DO NOTHING")
        op.execute(f"""
            CREATE TRIGGER {table}_bump_version
            AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()""")


def downgrade() -> None:
    for table in MORE:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_version ON {table}")
        op.execute(f"DELETE FROM data_versions WHERE layer = '{table}'")
