"""data versions: a counter per layer, bumped by any change, so that caches know when to
recompute (the walking network, household and facility snaps)

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

TRACKED = ("roads", "households", "facilities", "grids")


def upgrade() -> None:
    op.create_table(
        "data_versions",
        sa.Column("layer", sa.Text(), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False, server_default="1"),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("now()")),
    )
    op.execute("""
        CREATE FUNCTION bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO data_versions (layer, version, changed_at) VALUES (TG_TABLE_NAME, 2, now())
            ON CONFLICT (layer) DO UPDATE
                SET version = data_versions.version + 1, changed_at = now();
            RETURN NULL;
        END $$""")
    for table in TRACKED:
        op.execute(f"INSERT INTO data_versions (layer) VALUES ('{table}')")
        op.execute(f"""
            CREATE TRIGGER {table}_bump_version
            AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()""")


def downgrade() -> None:
    for table in TRACKED:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_version ON {table}")
    op.execute("DROP FUNCTION IF EXISTS bump_data_version()")
    op.drop_table("data_versions")
