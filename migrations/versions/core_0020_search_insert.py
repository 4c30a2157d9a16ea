"""Search: the phone numbers leave ``contacts_fts`` for ``contacts_phone_fts`` (FTS5 with the
trigram tokenizer: a quoted run of 3+ digits is a substring match): the phone's suffixes with the
prefix indexes were two thirds of the index's cost per inserted contact (core/services/search.py;
its ``batch_indexed`` indexes a batch of new contacts by one statement). A phone change touches
only the phone index (its own update trigger). SQLite only: both indexes are rebuilt from the
table (95 s at 1M contacts on the shared machine); PostgreSQL is unchanged.

The DDL is a frozen copy of what core/services/search.py builds for create_all; if that changes,
write a new revision instead of editing this one. The downgrade puts back core_0016's.

Revision ID: core_0020_search_insert
Revises: core_0019
Create Date: 2026-11-24 09:10:00

"""
import importlib.util
from pathlib import Path

from alembic import op

revision = "core_0020_search_insert"
down_revision = "core_0019"
branch_labels = None
depends_on = None

DROP = [
    "DROP TRIGGER IF EXISTS contacts_search_ai",
    "DROP TRIGGER IF EXISTS contacts_search_ad",
    "DROP TRIGGER IF EXISTS contacts_search_au",
    "DROP TRIGGER IF EXISTS contacts_phone_search_au",
    "DROP TABLE IF EXISTS contacts_fts",
    "DROP TABLE IF EXISTS contacts_phone_fts",
    "DROP VIEW IF EXISTS contacts_search_source",
]

SQLITE = [
 ("CREATE VIEW IF NOT EXISTS contacts_search_source AS SELECT c.id AS id, c.first_name || ' ' || c.last_name AS "
 "name, coalesce(c.email, '') AS email, CASE WHEN c.sort_name GLOB '[a-z0-9]*' AND c.sort_name NOT GLOB "
 "'*[^a-z0-9 ]*' AND c.sort_name NOT GLOB '*  *' THEN 'ǀ' || replace(c.sort_name, ' ', 'ǀ') ELSE '' END AS lead "
 'FROM contacts c'),
 ('CREATE VIRTUAL TABLE IF NOT EXISTS contacts_fts USING fts5(name, email, lead, '
 "content='contacts_search_source', content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3 4 "
 "5 6')"),
 ("CREATE VIRTUAL TABLE IF NOT EXISTS contacts_phone_fts USING fts5(phone, content='contacts', "
 "content_rowid='id', tokenize='trigram', columnsize=0)"),
 ('CREATE TRIGGER IF NOT EXISTS contacts_search_ai AFTER INSERT ON contacts BEGIN INSERT INTO contacts_fts(rowid,'
 " name, email, lead) VALUES (NEW.id, NEW.first_name || ' ' || NEW.last_name, coalesce(NEW.email, ''), CASE WHEN"
 " NEW.sort_name GLOB '[a-z0-9]*' AND NEW.sort_name NOT GLOB '*[^a-z0-9 ]*' AND NEW.sort_name NOT GLOB '*  *' "
 "THEN 'ǀ' || replace(NEW.sort_name, ' ', 'ǀ') ELSE '' END); INSERT INTO contacts_phone_fts(rowid, phone) VALUES"
 ' (NEW.id, NEW.phone); END'),
 ('CREATE TRIGGER IF NOT EXISTS contacts_search_ad AFTER DELETE ON contacts BEGIN INSERT INTO '
 "contacts_fts(contacts_fts, rowid, name, email, lead) VALUES ('delete', OLD.id, OLD.first_name || ' ' || "
 "OLD.last_name, coalesce(OLD.email, ''), CASE WHEN OLD.sort_name GLOB '[a-z0-9]*' AND OLD.sort_name NOT GLOB "
 "'*[^a-z0-9 ]*' AND OLD.sort_name NOT GLOB '*  *' THEN 'ǀ' || replace(OLD.sort_name, ' ', 'ǀ') ELSE '' END); "
 "INSERT INTO contacts_phone_fts(contacts_phone_fts, rowid, phone) VALUES ('delete', OLD.id, OLD.phone); END"),
 ('CREATE TRIGGER IF NOT EXISTS contacts_search_au AFTER UPDATE OF id, first_name, last_name, email, sort_name ON'
 ' contacts WHEN OLD.first_name IS NOT NEW.first_name OR OLD.last_name IS NOT NEW.last_name OR OLD.email IS NOT '
 'NEW.email OR OLD.sort_name IS NOT NEW.sort_name OR OLD.id IS NOT NEW.id BEGIN INSERT INTO '
 "contacts_fts(contacts_fts, rowid, name, email, lead) VALUES ('delete', OLD.id, OLD.first_name || ' ' || "
 "OLD.last_name, coalesce(OLD.email, ''), CASE WHEN OLD.sort_name GLOB '[a-z0-9]*' AND OLD.sort_name NOT GLOB "
 "'*[^a-z0-9 ]*' AND OLD.sort_name NOT GLOB '*  *' THEN 'ǀ' || replace(OLD.sort_name, ' ', 'ǀ') ELSE '' END); "
 "INSERT INTO contacts_fts(rowid, name, email, lead) VALUES (NEW.id, NEW.first_name || ' ' || NEW.last_name, "
 "coalesce(NEW.email, ''), CASE WHEN NEW.sort_name GLOB '[a-z0-9]*' AND NEW.sort_name NOT GLOB '*[^a-z0-9 ]*' "
 "AND NEW.sort_name NOT GLOB '*  *' THEN 'ǀ' || replace(NEW.sort_name, ' ', 'ǀ') ELSE '' END); END"),
 ('CREATE TRIGGER IF NOT EXISTS contacts_phone_search_au AFTER UPDATE OF id, phone ON contacts WHEN OLD.phone IS '
 'NOT NEW.phone OR OLD.id IS NOT NEW.id BEGIN INSERT INTO contacts_phone_fts(contacts_phone_fts, rowid, phone) '
 "VALUES ('delete', OLD.id, OLD.phone); INSERT INTO contacts_phone_fts(rowid, phone) VALUES (NEW.id, NEW.phone);"
 ' END')]



def _core_0016_ddl() -> list[str]:
    """core_0016's frozen DDL (the index this revision replaces), read from that revision's file."""
    spec = importlib.util.spec_from_file_location("core_0016_search", Path(__file__).with_name("core_0016_search.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.SQLITE


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        for sql in DROP + SQLITE:
            op.execute(sql)
        for table in ("contacts_fts", "contacts_phone_fts"):
            op.execute(f"INSERT INTO {table}({table}) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for sql in DROP + _core_0016_ddl():
            op.execute(sql)
        op.execute("INSERT INTO contacts_fts(contacts_fts) VALUES ('rebuild')")
