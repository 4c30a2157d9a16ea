"""Full-text search on contacts: SQLite FTS5 tables (contacts_fts over a view, organizations_fts)
kept by triggers; PostgreSQL GIN expression indexes over IMMUTABLE functions ('simple' config,
unaccent when it can be installed). Existing rows are indexed here (the backfill).

The DDL is a frozen copy of what core/services/search.py builds for create_all (a test compares
the two); if that changes, write a new revision instead of editing this one.

Revision ID: core_0002
Revises: core_0001
Create Date: 2026-11-23 23:05:00

"""
from alembic import op

revision = "core_0002"
down_revision = "core_0001"
branch_labels = None
depends_on = None

SQLITE = ["CREATE VIEW IF NOT EXISTS contacts_search_source AS SELECT c.id AS id, c.first_name || ' ' || c.last_name "
 "AS name, coalesce(c.email, '') AS email, substr(ltrim(c.phone, '+'), 1, CASE WHEN length(ltrim(c.phone, "
 "'+')) - 1 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(c.phone, '+'), 2, CASE WHEN "
 "length(ltrim(c.phone, '+')) - 2 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(c.phone, '+'), 3, CASE "
 "WHEN length(ltrim(c.phone, '+')) - 3 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(c.phone, '+'), 4, "
 "CASE WHEN length(ltrim(c.phone, '+')) - 4 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(c.phone, '+'), "
 "5, CASE WHEN length(ltrim(c.phone, '+')) - 5 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(c.phone, "
 "'+'), 6, CASE WHEN length(ltrim(c.phone, '+')) - 6 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(c.phone, '+'), 7, CASE WHEN length(ltrim(c.phone, '+')) - 7 >= 2 THEN 15 ELSE 0 END) || ' ' "
 "|| substr(ltrim(c.phone, '+'), 8, CASE WHEN length(ltrim(c.phone, '+')) - 8 >= 2 THEN 15 ELSE 0 END) || ' "
 "' || substr(ltrim(c.phone, '+'), 9, CASE WHEN length(ltrim(c.phone, '+')) - 9 >= 2 THEN 15 ELSE 0 END) || "
 "' ' || substr(ltrim(c.phone, '+'), 10, CASE WHEN length(ltrim(c.phone, '+')) - 10 >= 2 THEN 15 ELSE 0 END) "
 "|| ' ' || substr(ltrim(c.phone, '+'), 11, CASE WHEN length(ltrim(c.phone, '+')) - 11 >= 2 THEN 15 ELSE 0 "
 "END) || ' ' || substr(ltrim(c.phone, '+'), 12, CASE WHEN length(ltrim(c.phone, '+')) - 12 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(c.phone, '+'), 13, CASE WHEN length(ltrim(c.phone, '+')) - 13 >= 2 THEN "
 '15 ELSE 0 END) AS phone FROM contacts c',
 'CREATE VIRTUAL TABLE IF NOT EXISTS contacts_fts USING fts5(name, email, phone, '
 "content='contacts_search_source', content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 "
 "3')",
 "CREATE VIRTUAL TABLE IF NOT EXISTS organizations_fts USING fts5(name, content='organizations', "
 "content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
 'CREATE TRIGGER IF NOT EXISTS contacts_search_ai AFTER INSERT ON contacts BEGIN INSERT INTO '
 "contacts_fts(rowid, name, email, phone) VALUES (NEW.id, NEW.first_name || ' ' || NEW.last_name, "
 "coalesce(NEW.email, ''), substr(ltrim(NEW.phone, '+'), 1, CASE WHEN length(ltrim(NEW.phone, '+')) - 1 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 2, CASE WHEN length(ltrim(NEW.phone, '+')) - 2 "
 ">= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 3, CASE WHEN length(ltrim(NEW.phone, "
 "'+')) - 3 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 4, CASE WHEN "
 "length(ltrim(NEW.phone, '+')) - 4 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 5, CASE "
 "WHEN length(ltrim(NEW.phone, '+')) - 5 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 6, "
 "CASE WHEN length(ltrim(NEW.phone, '+')) - 6 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, "
 "'+'), 7, CASE WHEN length(ltrim(NEW.phone, '+')) - 7 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 8, CASE WHEN length(ltrim(NEW.phone, '+')) - 8 >= 2 THEN 15 ELSE 0 END) || ' "
 "' || substr(ltrim(NEW.phone, '+'), 9, CASE WHEN length(ltrim(NEW.phone, '+')) - 9 >= 2 THEN 15 ELSE 0 END) "
 "|| ' ' || substr(ltrim(NEW.phone, '+'), 10, CASE WHEN length(ltrim(NEW.phone, '+')) - 10 >= 2 THEN 15 ELSE "
 "0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 11, CASE WHEN length(ltrim(NEW.phone, '+')) - 11 >= 2 THEN "
 "15 ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 12, CASE WHEN length(ltrim(NEW.phone, '+')) - 12 >= "
 "2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 13, CASE WHEN length(ltrim(NEW.phone, '+')) "
 '- 13 >= 2 THEN 15 ELSE 0 END)); END',
 'CREATE TRIGGER IF NOT EXISTS contacts_search_ad AFTER DELETE ON contacts BEGIN INSERT INTO '
 "contacts_fts(contacts_fts, rowid, name, email, phone) VALUES ('delete', OLD.id, OLD.first_name || ' ' || "
 "OLD.last_name, coalesce(OLD.email, ''), substr(ltrim(OLD.phone, '+'), 1, CASE WHEN length(ltrim(OLD.phone, "
 "'+')) - 1 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 2, CASE WHEN "
 "length(ltrim(OLD.phone, '+')) - 2 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 3, CASE "
 "WHEN length(ltrim(OLD.phone, '+')) - 3 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 4, "
 "CASE WHEN length(ltrim(OLD.phone, '+')) - 4 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, "
 "'+'), 5, CASE WHEN length(ltrim(OLD.phone, '+')) - 5 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(OLD.phone, '+'), 6, CASE WHEN length(ltrim(OLD.phone, '+')) - 6 >= 2 THEN 15 ELSE 0 END) || ' "
 "' || substr(ltrim(OLD.phone, '+'), 7, CASE WHEN length(ltrim(OLD.phone, '+')) - 7 >= 2 THEN 15 ELSE 0 END) "
 "|| ' ' || substr(ltrim(OLD.phone, '+'), 8, CASE WHEN length(ltrim(OLD.phone, '+')) - 8 >= 2 THEN 15 ELSE 0 "
 "END) || ' ' || substr(ltrim(OLD.phone, '+'), 9, CASE WHEN length(ltrim(OLD.phone, '+')) - 9 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 10, CASE WHEN length(ltrim(OLD.phone, '+')) - 10 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 11, CASE WHEN length(ltrim(OLD.phone, '+')) - "
 "11 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 12, CASE WHEN length(ltrim(OLD.phone, "
 "'+')) - 12 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 13, CASE WHEN "
 "length(ltrim(OLD.phone, '+')) - 13 >= 2 THEN 15 ELSE 0 END)); END",
 'CREATE TRIGGER IF NOT EXISTS contacts_search_au AFTER UPDATE OF id, first_name, last_name, email, phone ON '
 'contacts WHEN OLD.first_name IS NOT NEW.first_name OR OLD.last_name IS NOT NEW.last_name OR OLD.email IS '
 'NOT NEW.email OR OLD.phone IS NOT NEW.phone OR OLD.id IS NOT NEW.id BEGIN INSERT INTO '
 "contacts_fts(contacts_fts, rowid, name, email, phone) VALUES ('delete', OLD.id, OLD.first_name || ' ' || "
 "OLD.last_name, coalesce(OLD.email, ''), substr(ltrim(OLD.phone, '+'), 1, CASE WHEN length(ltrim(OLD.phone, "
 "'+')) - 1 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 2, CASE WHEN "
 "length(ltrim(OLD.phone, '+')) - 2 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 3, CASE "
 "WHEN length(ltrim(OLD.phone, '+')) - 3 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 4, "
 "CASE WHEN length(ltrim(OLD.phone, '+')) - 4 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, "
 "'+'), 5, CASE WHEN length(ltrim(OLD.phone, '+')) - 5 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(OLD.phone, '+'), 6, CASE WHEN length(ltrim(OLD.phone, '+')) - 6 >= 2 THEN 15 ELSE 0 END) || ' "
 "' || substr(ltrim(OLD.phone, '+'), 7, CASE WHEN length(ltrim(OLD.phone, '+')) - 7 >= 2 THEN 15 ELSE 0 END) "
 "|| ' ' || substr(ltrim(OLD.phone, '+'), 8, CASE WHEN length(ltrim(OLD.phone, '+')) - 8 >= 2 THEN 15 ELSE 0 "
 "END) || ' ' || substr(ltrim(OLD.phone, '+'), 9, CASE WHEN length(ltrim(OLD.phone, '+')) - 9 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 10, CASE WHEN length(ltrim(OLD.phone, '+')) - 10 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 11, CASE WHEN length(ltrim(OLD.phone, '+')) - "
 "11 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 12, CASE WHEN length(ltrim(OLD.phone, "
 "'+')) - 12 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(OLD.phone, '+'), 13, CASE WHEN "
 "length(ltrim(OLD.phone, '+')) - 13 >= 2 THEN 15 ELSE 0 END)); INSERT INTO contacts_fts(rowid, name, email, "
 "phone) VALUES (NEW.id, NEW.first_name || ' ' || NEW.last_name, coalesce(NEW.email, ''), "
 "substr(ltrim(NEW.phone, '+'), 1, CASE WHEN length(ltrim(NEW.phone, '+')) - 1 >= 2 THEN 15 ELSE 0 END) || ' "
 "' || substr(ltrim(NEW.phone, '+'), 2, CASE WHEN length(ltrim(NEW.phone, '+')) - 2 >= 2 THEN 15 ELSE 0 END) "
 "|| ' ' || substr(ltrim(NEW.phone, '+'), 3, CASE WHEN length(ltrim(NEW.phone, '+')) - 3 >= 2 THEN 15 ELSE 0 "
 "END) || ' ' || substr(ltrim(NEW.phone, '+'), 4, CASE WHEN length(ltrim(NEW.phone, '+')) - 4 >= 2 THEN 15 "
 "ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 5, CASE WHEN length(ltrim(NEW.phone, '+')) - 5 >= 2 "
 "THEN 15 ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 6, CASE WHEN length(ltrim(NEW.phone, '+')) - 6 "
 ">= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 7, CASE WHEN length(ltrim(NEW.phone, "
 "'+')) - 7 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 8, CASE WHEN "
 "length(ltrim(NEW.phone, '+')) - 8 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), 9, CASE "
 "WHEN length(ltrim(NEW.phone, '+')) - 9 >= 2 THEN 15 ELSE 0 END) || ' ' || substr(ltrim(NEW.phone, '+'), "
 "10, CASE WHEN length(ltrim(NEW.phone, '+')) - 10 >= 2 THEN 15 ELSE 0 END) || ' ' || "
 "substr(ltrim(NEW.phone, '+'), 11, CASE WHEN length(ltrim(NEW.phone, '+')) - 11 >= 2 THEN 15 ELSE 0 END) || "
 "' ' || substr(ltrim(NEW.phone, '+'), 12, CASE WHEN length(ltrim(NEW.phone, '+')) - 12 >= 2 THEN 15 ELSE 0 "
 "END) || ' ' || substr(ltrim(NEW.phone, '+'), 13, CASE WHEN length(ltrim(NEW.phone, '+')) - 13 >= 2 THEN 15 "
 'ELSE 0 END)); END',
 'CREATE TRIGGER IF NOT EXISTS organizations_search_ai AFTER INSERT ON organizations BEGIN INSERT INTO '
 'organizations_fts(rowid, name) VALUES (NEW.id, NEW.name); END',
 'CREATE TRIGGER IF NOT EXISTS organizations_search_ad AFTER DELETE ON organizations BEGIN INSERT INTO '
 "organizations_fts(organizations_fts, rowid, name) VALUES ('delete', OLD.id, OLD.name); END",
 'CREATE TRIGGER IF NOT EXISTS organizations_search_au AFTER UPDATE OF id, name ON organizations WHEN '
 'OLD.name IS NOT NEW.name OR OLD.id IS NOT NEW.id BEGIN INSERT INTO organizations_fts(organizations_fts, '
 "rowid, name) VALUES ('delete', OLD.id, OLD.name); INSERT INTO organizations_fts(rowid, name) VALUES "
 '(NEW.id, NEW.name); END']

SQLITE_DROP = ['DROP TRIGGER IF EXISTS contacts_search_ai',
 'DROP TRIGGER IF EXISTS contacts_search_ad',
 'DROP TRIGGER IF EXISTS contacts_search_au',
 'DROP TRIGGER IF EXISTS organizations_search_ai',
 'DROP TRIGGER IF EXISTS organizations_search_ad',
 'DROP TRIGGER IF EXISTS organizations_search_au',
 'DROP TABLE IF EXISTS contacts_fts',
 'DROP TABLE IF EXISTS organizations_fts',
 'DROP VIEW IF EXISTS contacts_search_source']

# PostgreSQL; FOLD (below) is replaced by the unaccent call in the extension's schema, or by
# plain lower() when the extension cannot be installed.
POSTGRESQL = ['CREATE OR REPLACE FUNCTION contacts_search_fold(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE '
 "STRICT AS $$ SELECT UNACCENT_SCHEMA.unaccent('UNACCENT_SCHEMA.unaccent'::regdictionary, lower($1)) $$",
 'CREATE OR REPLACE FUNCTION contacts_search_vector(text, text, text) RETURNS tsvector LANGUAGE sql '
 "IMMUTABLE PARALLEL SAFE AS $$ SELECT to_tsvector('simple'::regconfig, "
 "coalesce(regexp_replace(contacts_search_fold($1 || ' ' || $2 || ' ' || coalesce($3, '')), "
 "'[[:space:][:punct:]]+', ' ', 'g'), '')) $$",
 'CREATE OR REPLACE FUNCTION contacts_search_phone_vector(text) RETURNS tsvector LANGUAGE sql IMMUTABLE '
 "PARALLEL SAFE AS $$ SELECT to_tsvector('simple'::regconfig, array_to_string(ARRAY(SELECT substr(ltrim($1, "
 "'+'), k) FROM generate_series(1, length(ltrim($1, '+')) - 2) AS k), ' ')) $$",
 'CREATE OR REPLACE FUNCTION contacts_search_org_vector(text) RETURNS tsvector LANGUAGE sql IMMUTABLE '
 "PARALLEL SAFE AS $$ SELECT to_tsvector('simple'::regconfig, "
 "coalesce(regexp_replace(contacts_search_fold($1), '[[:space:][:punct:]]+', ' ', 'g'), '')) $$",
 'ALTER TABLE contacts ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS '
 '(contacts_search_vector(first_name, last_name, email)) STORED',
 'ALTER TABLE contacts ADD COLUMN IF NOT EXISTS search_phone tsvector GENERATED ALWAYS AS '
 '(contacts_search_phone_vector(phone)) STORED',
 'CREATE INDEX IF NOT EXISTS ix_contacts_search ON contacts USING gin (search_vector)',
 'CREATE INDEX IF NOT EXISTS ix_contacts_search_phone ON contacts USING gin (search_phone)',
 'CREATE INDEX IF NOT EXISTS ix_organizations_search ON organizations USING gin '
 '(contacts_search_org_vector(name))']

FOLD = "UNACCENT_SCHEMA.unaccent('UNACCENT_SCHEMA.unaccent'::regdictionary, lower($1))"

POSTGRESQL_DROP = ['DROP INDEX IF EXISTS ix_contacts_search',
 'DROP INDEX IF EXISTS ix_contacts_search_phone',
 'DROP INDEX IF EXISTS ix_organizations_search',
 'ALTER TABLE contacts DROP COLUMN IF EXISTS search_vector',
 'ALTER TABLE contacts DROP COLUMN IF EXISTS search_phone',
 'DROP FUNCTION IF EXISTS contacts_search_org_vector(text)',
 'DROP FUNCTION IF EXISTS contacts_search_phone_vector(text)',
 'DROP FUNCTION IF EXISTS contacts_search_vector(text, text, text)',
 'DROP FUNCTION IF EXISTS contacts_search_fold(text)']


def _unaccent_schema(conn):
    def found():
        return conn.exec_driver_sql(
            "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'unaccent'"
        ).scalar()

    if found():
        return found()
    if not conn.exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'").scalar():
        return None
    public = conn.exec_driver_sql("SELECT to_regnamespace('public')").scalar()
    savepoint = conn.begin_nested()
    try:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent" + (" SCHEMA public" if public else ""))
    except Exception:  # noqa: BLE001 - no privilege: no accent folding
        savepoint.rollback()
        return None
    savepoint.commit()
    return found()


def upgrade():
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        for sql in SQLITE:
            op.execute(sql)
        # Backfill: index the rows that exist already.
        op.execute("INSERT INTO contacts_fts(contacts_fts) VALUES ('rebuild')")
        op.execute("INSERT INTO organizations_fts(organizations_fts) VALUES ('rebuild')")
    elif conn.dialect.name == "postgresql":
        schema = _unaccent_schema(conn)
        fold = f"{schema}.unaccent('{schema}.unaccent'::regdictionary, lower($1))" if schema else "lower($1)"
        for sql in POSTGRESQL:
            # Adding the generated columns and building the indexes computes them for existing rows.
            op.execute(sql.replace(FOLD, fold))


def downgrade():
    conn = op.get_bind()
    drops = {"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}.get(conn.dialect.name, [])
    for sql in drops:
        op.execute(sql)
