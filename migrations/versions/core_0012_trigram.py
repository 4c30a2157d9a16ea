"""Similar names on PostgreSQL: pg_trgm (created when the server has it and we may) and a GIN
trigram index over the folded full name. Nothing happens on SQLite, or when the extension is
unavailable (the search then shows no similar names, see core/services/similar_search.py).

The DDL is a frozen copy of what similar_search.py builds for create_all (a test compares them).

Revision ID: core_0012
Revises: core_0011
Create Date: 2026-11-24 02:10:00

"""
from alembic import op

revision = "core_0012"
down_revision = "core_0011"
branch_labels = None
depends_on = None

INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_contacts_name_trgm ON contacts USING gin "
    "(contacts_search_fold(first_name || ' ' || last_name) {schema}.gin_trgm_ops) WITH (fastupdate = off)"
)


def _trgm_schema(conn):
    find = "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pg_trgm'"
    found = conn.exec_driver_sql(find).scalar()
    if found or not conn.exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'").scalar():
        return found
    schema = "public" if conn.exec_driver_sql("SELECT to_regnamespace('public')").scalar() else None
    savepoint = conn.begin_nested()
    try:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm" + (f" SCHEMA {schema}" if schema else ""))
    except Exception:  # noqa: BLE001 - no privilege: no trigram index
        savepoint.rollback()
        return None
    savepoint.commit()
    return conn.exec_driver_sql(find).scalar()


def upgrade():
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        schema = _trgm_schema(conn)
        if schema:
            op.execute(INDEX.format(schema=schema))


def downgrade():
    # The extension stays: other schemas or tools may use it.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_contacts_name_trgm")
