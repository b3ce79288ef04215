"""search: pg_trgm (a trusted extension: the database owner may create it) and trigram indexes
on the codes and names people search for, so that a substring query (ILIKE '%…%', Chinese
included) uses an index from three characters on

Revision ID: 0014
Revises: 0013
"""
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

INDEXED = (("households", "code"), ("buildings", "code"), ("buildings", "name"),
           ("compounds", "name"), ("roads", "name"))


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, column in INDEXED:
        op.execute(f"CREATE INDEX ix_{table}_{column}_trgm ON {table} "
                   f"USING gin ({column} gin_trgm_ops)")


def downgrade() -> None:
    for table, column in INDEXED:
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_{column}_trgm")
