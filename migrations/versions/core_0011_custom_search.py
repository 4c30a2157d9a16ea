"""The custom-value search index: SQLite FTS5 table over a view of the text values, kept by
triggers; PostgreSQL partial GIN expression index. Existing values are indexed here (the backfill).

The DDL is a frozen copy of what core/services/custom_search.py builds for create_all (a test
compares the two); if that changes, write a new revision instead of editing this one.

Revision ID: core_0011
Revises: core_0010
Create Date: 2026-11-24 02:00:00

"""
from alembic import op

revision = "core_0011"
down_revision = "core_0010"
branch_labels = None
depends_on = None

SQLITE = [
    "CREATE VIEW IF NOT EXISTS custom_values_search_source AS SELECT v.id AS id, coalesce(v.value_text, v.value_long) "
    "AS value FROM custom_field_values v WHERE (v.value_text IS NOT NULL OR v.value_long IS NOT NULL)",
    "CREATE VIRTUAL TABLE IF NOT EXISTS custom_values_fts USING fts5(value, content='custom_values_search_source', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
    "CREATE TRIGGER IF NOT EXISTS custom_values_search_ai AFTER INSERT ON custom_field_values BEGIN INSERT INTO "
    "custom_values_fts(rowid, value) SELECT NEW.id, coalesce(NEW.value_text, NEW.value_long) WHERE (NEW.value_text IS "
    "NOT NULL OR NEW.value_long IS NOT NULL); END",
    "CREATE TRIGGER IF NOT EXISTS custom_values_search_ad AFTER DELETE ON custom_field_values BEGIN INSERT INTO "
    "custom_values_fts(custom_values_fts, rowid, value) SELECT 'delete', OLD.id, coalesce(OLD.value_text, "
    "OLD.value_long) WHERE (OLD.value_text IS NOT NULL OR OLD.value_long IS NOT NULL); END",
    "CREATE TRIGGER IF NOT EXISTS custom_values_search_au AFTER UPDATE OF id, value_text, value_long ON "
    "custom_field_values WHEN OLD.value_text IS NOT NEW.value_text OR OLD.value_long IS NOT NEW.value_long OR OLD.id "
    "IS NOT NEW.id BEGIN INSERT INTO custom_values_fts(custom_values_fts, rowid, value) SELECT 'delete', OLD.id, "
    "coalesce(OLD.value_text, OLD.value_long) WHERE (OLD.value_text IS NOT NULL OR OLD.value_long IS NOT NULL); "
    "INSERT INTO custom_values_fts(rowid, value) SELECT NEW.id, coalesce(NEW.value_text, NEW.value_long) WHERE "
    "(NEW.value_text IS NOT NULL OR NEW.value_long IS NOT NULL); END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS custom_values_search_ai",
    "DROP TRIGGER IF EXISTS custom_values_search_ad",
    "DROP TRIGGER IF EXISTS custom_values_search_au",
    "DROP TABLE IF EXISTS custom_values_fts",
    "DROP VIEW IF EXISTS custom_values_search_source",
]
# Building the index computes it for the existing rows (the backfill on PostgreSQL).
POSTGRESQL = [
    "CREATE INDEX IF NOT EXISTS ix_custom_values_search ON custom_field_values USING gin "
    "(contacts_search_org_vector(coalesce(value_text, value_long))) WHERE (value_text IS NOT NULL OR value_long IS "
    "NOT NULL)",
]
POSTGRESQL_DROP = ["DROP INDEX IF EXISTS ix_custom_values_search"]


def upgrade():
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for sql in SQLITE:
            op.execute(sql)
        op.execute("INSERT INTO custom_values_fts(custom_values_fts) VALUES ('rebuild')")  # backfill
    elif conn.dialect.name == "postgresql":
        for sql in POSTGRESQL:
            op.execute(sql)


def downgrade():
    for sql in {"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}.get(op.get_bind().dialect.name, []):
        op.execute(sql)
