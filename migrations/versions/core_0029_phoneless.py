"""Search (SQLite): a contact without a phone gets no row in ``contacts_phone_fts``. Its empty phone
holds no term, but FTS5 still counted the row and rewrote the index's totals in every transaction
that inserted one: a page of the write-ahead log at each API create without a phone (9.2 -> 8.2
pages a commit, the contact alone on a small database). The three contact triggers that touch the
phone index change together: insert, delete and phone update skip an empty phone (a row indexed
before, empty, held no term: skipping its delete leaves nothing behind). No rebuild; PostgreSQL:
nothing. The downgrade puts core_0020's triggers back.

The DDL is a frozen copy of what core/services/search.py ``sqlite_triggers`` builds; if that
changes, write a new revision instead of editing this one.

Revision ID: core_0029_phoneless
Revises: core_0028_list_sql
Create Date: 2026-11-25 01:30:00

"""
import importlib.util
from pathlib import Path

from alembic import op

revision = "core_0029_phoneless"
down_revision = "core_0028_list_sql"
branch_labels = None
depends_on = None

TRIGGERS = ("contacts_search_ai", "contacts_search_ad", "contacts_phone_search_au")

SQLITE = [
 ('CREATE TRIGGER IF NOT EXISTS contacts_search_ai AFTER INSERT ON contacts BEGIN INSERT INTO contacts_fts(rowid,'
 " name, email, lead) VALUES (NEW.id, NEW.first_name || ' ' || NEW.last_name, coalesce(NEW.email, ''), CASE WHEN"
 " NEW.sort_name GLOB '[a-z0-9]*' AND NEW.sort_name NOT GLOB '*[^a-z0-9 ]*' AND NEW.sort_name NOT GLOB '*  *' "
 "THEN 'ǀ' || replace(NEW.sort_name, ' ', 'ǀ') ELSE '' END); INSERT INTO contacts_phone_fts(rowid, phone) SELECT"
 " NEW.id, NEW.phone WHERE NEW.phone <> ''; END"),
 ('CREATE TRIGGER IF NOT EXISTS contacts_search_ad AFTER DELETE ON contacts BEGIN INSERT INTO '
 "contacts_fts(contacts_fts, rowid, name, email, lead) VALUES ('delete', OLD.id, OLD.first_name || ' ' || "
 "OLD.last_name, coalesce(OLD.email, ''), CASE WHEN OLD.sort_name GLOB '[a-z0-9]*' AND OLD.sort_name NOT GLOB "
 "'*[^a-z0-9 ]*' AND OLD.sort_name NOT GLOB '*  *' THEN 'ǀ' || replace(OLD.sort_name, ' ', 'ǀ') ELSE '' END); "
 "INSERT INTO contacts_phone_fts(contacts_phone_fts, rowid, phone) SELECT 'delete', OLD.id, OLD.phone WHERE "
 "OLD.phone <> ''; END"),
 ('CREATE TRIGGER IF NOT EXISTS contacts_phone_search_au AFTER UPDATE OF id, phone ON contacts WHEN OLD.phone IS '
 'NOT NEW.phone OR OLD.id IS NOT NEW.id BEGIN INSERT INTO contacts_phone_fts(contacts_phone_fts, rowid, phone) '
 "SELECT 'delete', OLD.id, OLD.phone WHERE OLD.phone <> ''; INSERT INTO contacts_phone_fts(rowid, phone) SELECT "
 "NEW.id, NEW.phone WHERE NEW.phone <> ''; END"),
]


def _core_0020_triggers() -> list[str]:
    """core_0020's frozen statements of the same three triggers, read from that revision's file."""
    spec = importlib.util.spec_from_file_location("core_0020_search_insert",
                                                  Path(__file__).with_name("core_0020_search_insert.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [sql for sql in module.SQLITE if any(f"EXISTS {name} " in sql for name in TRIGGERS)]


def _replace(statements: list[str]) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite" or not bind.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = 'contacts_search_ai'").first():
        return  # no search index kept (suspended for a bulk load: its rebuild makes the triggers)
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for sql in statements:
        op.execute(sql)


def upgrade():
    _replace(SQLITE)


def downgrade():
    _replace(_core_0020_triggers())
