"""data versions move only when rows change: a statement that touches no row (an unchanged
re-import, whose upsert skips identical rows) leaves the version, and so the tiles' ETags and the
coverage engine's caches, as they were

PostgreSQL fires a statement trigger even for a statement that changed nothing; the new
triggers see the statement's rows (transition tables, one trigger per event since a trigger
with transition tables may have one event only) and bump only when there are some. TRUNCATE
keeps its plain trigger.

Revision ID: 0021
Revises: 0020
"""
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

TRACKED = ("roads", "households", "facilities", "grids", "buildings", "compounds",
           "parking_lots")
EVENTS = {"insert": "NEW", "update": "NEW", "delete": "OLD"}


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION bump_data_version_if_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF EXISTS (SELECT 1 FROM changed) THEN
                INSERT INTO data_versions (layer, version, changed_at)
                VALUES (TG_TABLE_NAME, 2, now())
                ON CONFLICT (layer) DO UPDATE
                    SET version = data_versions.version + 1, changed_at = now();
            END IF;
            RETURN NULL;
        END $$""")
    for table in TRACKED:
        op.execute(f"DROP TRIGGER {table}_bump_version ON {table}")
        for event, side in EVENTS.items():
            op.execute(f"""
                CREATE TRIGGER {table}_bump_version_{event} AFTER {event.upper()} ON {table}
                REFERENCING {side} TABLE AS changed
                FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version_if_changed()""")
        op.execute(f"""
            CREATE TRIGGER {table}_bump_version_truncate AFTER TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()""")


def downgrade() -> None:
    for table in TRACKED:
        for event in (*EVENTS, "truncate"):
            op.execute(f"DROP TRIGGER {table}_bump_version_{event} ON {table}")
        op.execute(f"""
            CREATE TRIGGER {table}_bump_version
            AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()""")
    op.execute("DROP FUNCTION bump_data_version_if_changed()")
